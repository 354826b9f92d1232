//! Stored rows to domain values, shared by both backends: each reads its own row type
//! into these plain structs (the columns are the same); turning them into domain
//! values, and reporting a corrupt one, is done once, here.

use taskdeck_accounts::domain::{PasswordHash, User};
use taskdeck_kernel::{EmailAddress, StoreError, UserId};
use uuid::Uuid;

fn corrupt(what: &str) -> StoreError {
    StoreError::backend(std::io::Error::other(format!("stored user has an invalid {what}")))
}

/// A whole `users` row, for the repository.
#[derive(Debug)]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub version: i64,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        Ok(User::restore(
            UserId::from_uuid(self.id),
            EmailAddress::parse(&self.email).map_err(|_| corrupt("email"))?,
            PasswordHash::from_phc(self.password_hash),
            self.version,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_with_an_address_that_is_no_longer_valid_is_reported_as_corrupt() {
        let row = UserRow { id: Uuid::new_v4(), email: "not an address".into(), password_hash: "x".into(), version: 1 };
        assert!(matches!(row.into_user(), Err(StoreError::Backend(_))));
    }
}
