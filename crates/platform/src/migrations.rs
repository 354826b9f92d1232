//! Migrations as data. Each context keeps its own SQL next to its adapters and lists it
//! per backend; the platform lists the tables it owns. Versions are one sequence across
//! all lists, so a database made before the tables moved keeps its history: a new
//! migration takes the next free version, whoever owns it.

use thiserror::Error;

/// One schema change, embedded in the binary. A released migration is never edited
/// (PostgreSQL checks each applied migration's checksum): add a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MigrationPlanError {
    #[error("migrations {first:?} and {second:?} both claim version {version}")]
    DuplicateVersion { version: i64, first: &'static str, second: &'static str },
}

/// Every migration a build knows, oldest first, each version once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationPlan(Vec<Migration>);

impl MigrationPlan {
    /// The platform's migrations and those of every context, in version order.
    ///
    /// # Errors
    /// `DuplicateVersion` when two lists claim the same version.
    pub fn new(platform: &[Migration], contexts: &[&[Migration]]) -> Result<Self, MigrationPlanError> {
        let mut all: Vec<Migration> = platform.iter().chain(contexts.iter().copied().flatten()).copied().collect();
        all.sort_by_key(|migration| migration.version);
        if let Some(pair) = all.windows(2).find(|pair| pair[0].version == pair[1].version) {
            return Err(MigrationPlanError::DuplicateVersion {
                version: pair[0].version,
                first: pair[0].description,
                second: pair[1].description,
            });
        }
        Ok(Self(all))
    }

    #[must_use]
    pub fn migrations(&self) -> &[Migration] {
        &self.0
    }

    /// Whether `version` is one of the plan's.
    #[must_use]
    pub fn knows(&self, version: i64) -> bool {
        self.0.binary_search_by_key(&version, |migration| migration.version).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLATFORM: &[Migration] = &[
        Migration { version: 3, description: "outbox inbox", sql: "" },
        Migration { version: 4, description: "settings", sql: "" },
    ];
    const ACCOUNTS: &[Migration] = &[Migration { version: 1, description: "accounts", sql: "" }];
    const PROJECTS: &[Migration] = &[Migration { version: 2, description: "projects", sql: "" }];

    #[test]
    fn the_lists_of_every_owner_merge_into_one_sequence_in_version_order() {
        let plan = MigrationPlan::new(PLATFORM, &[PROJECTS, ACCOUNTS]).unwrap();
        let versions: Vec<i64> = plan.migrations().iter().map(|migration| migration.version).collect();
        assert_eq!(versions, [1, 2, 3, 4]);
        assert!(plan.knows(3));
        assert!(!plan.knows(5));
    }

    #[test]
    fn two_owners_claiming_one_version_are_refused_by_name() {
        let clash = &[Migration { version: 2, description: "labels", sql: "" }][..];
        assert_eq!(
            MigrationPlan::new(PLATFORM, &[ACCOUNTS, PROJECTS, clash]),
            Err(MigrationPlanError::DuplicateVersion { version: 2, first: "projects", second: "labels" })
        );
    }
}
