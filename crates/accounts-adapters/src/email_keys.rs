//! Rewriting the stored email keys (`users.email_normalized`) into the canonical form
//! of their addresses ([`EmailAddress::canonical_form`]) after v1 keyed them by lower
//! case alone. SQL cannot compute the form, so migration 11 leaves a row in
//! `email_key_rewrites` and each backend's store, right after migrating, takes that row
//! away and rewrites the keys in the same transaction ([`crate::AccountsBackend`]):
//! once, whichever instance starts first, while the others wait for it.
//!
//! Two accounts whose addresses v1 held apart can share a canonical form (`straße@…`
//! and `strasse@…`). The account registered first gets the key; the other keeps its
//! former one, which no login reaches any more (its address now names the first), and
//! is reported by id so an operator can change its address. Nothing else can clash:
//! v1's keys are the lower case of the address, whose canonical form is the address's
//! own (a kernel test holds every code point to that), so no key that is not
//! canonical yet is another address's canonical key. The guarded update of each
//! backend does not rely on it all the same.

use std::collections::HashSet;

use taskdeck_kernel::{EmailAddress, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// A user's row as far as its key goes.
#[derive(Debug, Clone)]
pub(crate) struct StoredKey {
    pub id: Uuid,
    pub email: String,
    pub key: String,
    pub created_at: OffsetDateTime,
}

/// What a rewrite did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailKeyRewrite {
    /// Accounts whose key is now their address's canonical form.
    pub rewritten: Vec<UserId>,
    /// Accounts left under their former key: the canonical form of their address is
    /// the key of an account registered before them, which login now finds.
    pub kept: Vec<UserId>,
}

impl EmailKeyRewrite {
    /// Logs what was done; only ids, never an address.
    pub(crate) fn log(&self) {
        if !self.rewritten.is_empty() {
            tracing::info!(rewritten = self.rewritten.len(), "email keys rewritten into their canonical form");
        }
        for user in &self.kept {
            tracing::warn!(
                %user,
                "account keeps its former email key: the canonical form of its address names an account \
                 registered before it, so it cannot sign in with a password until its address is changed"
            );
        }
    }
}

/// The rewrites `rows` need, in the order to try them: within one canonical form, the
/// account registered first (then the smaller id) gets it, unless an account holds it
/// already; the others are kept under their former key.
pub(crate) fn plan(mut rows: Vec<StoredKey>) -> Rewriting {
    rows.sort_by_key(|row| (row.created_at, row.id));
    let canonical: Vec<String> = rows.iter().map(|row| EmailAddress::canonical_form(&row.email)).collect();
    let mut taken: HashSet<&str> =
        rows.iter().zip(&canonical).filter(|(row, key)| row.key == **key).map(|(_, key)| key.as_str()).collect();
    let mut rewrites = Vec::new();
    let mut report = EmailKeyRewrite::default();
    for (row, key) in rows.iter().zip(&canonical) {
        if row.key == *key {
            continue;
        }
        if taken.insert(key.as_str()) {
            rewrites.push((row.id, key.clone()));
        } else {
            report.kept.push(UserId::from_uuid(row.id));
        }
    }
    Rewriting { round_len: rewrites.len(), round: rewrites.into_iter(), blocked: Vec::new(), report }
}

/// The rewrites still to try. Each backend writes a key only while no row holds it
/// and [`Rewriting::record`]s whether it did; a key held by a row rewritten later in
/// the round is tried again in the next, and rounds go on while they make progress.
#[derive(Debug)]
pub(crate) struct Rewriting {
    round: std::vec::IntoIter<(Uuid, String)>,
    round_len: usize,
    blocked: Vec<(Uuid, String)>,
    report: EmailKeyRewrite,
}

impl Rewriting {
    /// The next user and key to write, `None` when done.
    pub(crate) fn next_rewrite(&mut self) -> Option<(Uuid, String)> {
        if let Some(next) = self.round.next() {
            return Some(next);
        }
        if self.blocked.is_empty() || self.blocked.len() == self.round_len {
            return None;
        }
        let blocked = std::mem::take(&mut self.blocked);
        self.round_len = blocked.len();
        self.round = blocked.into_iter();
        self.round.next()
    }

    pub(crate) fn record(&mut self, id: Uuid, key: String, written: bool) {
        if written {
            self.report.rewritten.push(UserId::from_uuid(id));
        } else {
            self.blocked.push((id, key));
        }
    }

    /// What was done; the keys that could never be written are kept.
    pub(crate) fn finish(mut self) -> EmailKeyRewrite {
        let left = self.round.chain(self.blocked);
        self.report.kept.extend(left.map(|(id, _)| UserId::from_uuid(id)));
        self.report
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::Duration;

    use super::*;

    const V1: OffsetDateTime = time::macros::datetime!(2026-11-01 09:00 UTC);

    /// Rows registered a minute apart, in order, keyed as v1 keyed them.
    fn v1_rows(emails: &[&str]) -> Vec<StoredKey> {
        emails
            .iter()
            .zip(0..)
            .map(|(email, minute)| StoredKey {
                id: Uuid::from_u128(minute + 1),
                email: (*email).to_owned(),
                key: email.trim().to_lowercase(),
                created_at: V1 + Duration::minutes(i64::try_from(minute).unwrap()),
            })
            .collect()
    }

    /// Runs a plan against a table of keys with the guard the backends' update has.
    fn run(rows: Vec<StoredKey>) -> (BTreeMap<Uuid, String>, EmailKeyRewrite) {
        let mut table: BTreeMap<Uuid, String> = rows.iter().map(|row| (row.id, row.key.clone())).collect();
        let mut rewriting = plan(rows);
        while let Some((id, key)) = rewriting.next_rewrite() {
            let free = !table.values().any(|held| *held == key);
            if free {
                table.insert(id, key.clone());
            }
            rewriting.record(id, key, free);
        }
        (table, rewriting.finish())
    }

    fn user(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn keys_that_are_canonical_already_are_left_alone() {
        let (table, report) = run(v1_rows(&["bob@example.com", "Jos\u{e9}@Example.com"]));
        assert_eq!(report, EmailKeyRewrite::default());
        assert_eq!(table[&Uuid::from_u128(2)], "jos\u{e9}@example.com");
    }

    #[test]
    fn decomposed_fullwidth_and_unfolded_keys_are_rewritten() {
        let (table, report) =
            run(v1_rows(&["jose\u{301}@example.com", "ｄａｖｅ@example.com", "stra\u{df}e@example.de"]));
        assert_eq!(report.rewritten, [user(1), user(2), user(3)]);
        assert!(report.kept.is_empty());
        let keys: Vec<&str> = table.values().map(String::as_str).collect();
        assert_eq!(keys, ["jos\u{e9}@example.com", "dave@example.com", "strasse@example.de"]);
    }

    #[test]
    fn of_two_accounts_sharing_a_canonical_form_the_first_registered_gets_it() {
        let (table, report) = run(v1_rows(&["ｓｔｒａｓｓｅ@example.de", "stra\u{df}e@example.de"]));
        assert_eq!(report.rewritten, [user(1)]);
        assert_eq!(report.kept, [user(2)]);
        assert_eq!(table[&Uuid::from_u128(1)], "strasse@example.de");
        assert_eq!(table[&Uuid::from_u128(2)], "stra\u{df}e@example.de", "kept as it was");
    }

    #[test]
    fn an_account_that_holds_the_canonical_key_keeps_it_even_if_registered_later() {
        // Login with either address found the later account's row before the rewrite.
        let (table, report) = run(v1_rows(&["stra\u{df}e@example.de", "STRASSE@example.de"]));
        assert!(report.rewritten.is_empty());
        assert_eq!(report.kept, [user(1)]);
        assert_eq!(table[&Uuid::from_u128(2)], "strasse@example.de");
    }

    #[test]
    fn a_key_held_by_a_row_that_moves_is_written_in_a_later_round() {
        // Not v1's doing: the second row's key is another address's canonical form.
        let mut rows = v1_rows(&["ALICE@example.com", "bob@example.com"]);
        rows[0].key = "ALICE@example.com".into();
        rows[1].key = "alice@example.com".into();
        let (table, report) = run(rows);
        assert_eq!(report.rewritten, [user(2), user(1)]);
        assert!(report.kept.is_empty());
        assert_eq!(table[&Uuid::from_u128(1)], "alice@example.com");
        assert_eq!(table[&Uuid::from_u128(2)], "bob@example.com");
    }

    #[test]
    fn keys_that_could_only_swap_are_kept() {
        let mut rows = v1_rows(&["a@example.com", "b@example.com"]);
        rows[0].key = "b@example.com".into();
        rows[1].key = "a@example.com".into();
        let (table, report) = run(rows);
        assert!(report.rewritten.is_empty());
        assert_eq!(report.kept, [user(1), user(2)]);
        assert_eq!(table[&Uuid::from_u128(1)], "b@example.com");
    }
}

/// The rewrite of v1 accounts on a real database, for each backend's tests.
#[cfg(test)]
pub(crate) mod scenario {
    use taskdeck_accounts::application::{AccountsStore, AccountsTransaction, UserStoreError};
    use taskdeck_accounts::domain::{PasswordHash, User};
    use taskdeck_platform::outbox::OutboxWriter;
    use time::Duration;

    use super::*;
    use crate::AccountsBackend;

    /// v1 accounts in the order they registered, each stored under v1's key (lower
    /// case): decomposed, fullwidth, two sharing a canonical form, one canonical.
    pub(crate) const V1_ACCOUNTS: [(u128, &str); 5] = [
        (1, "jose\u{301}@example.com"),
        (2, "ｄａｖｅ@example.com"),
        (3, "ＳＴＲＡＳＳＥ@example.de"),
        (4, "stra\u{df}e@example.de"),
        (5, "Bob@Example.com"),
    ];

    /// (id, address, v1's key, registration instant) of each of [`V1_ACCOUNTS`].
    pub(crate) fn v1_rows() -> Vec<(Uuid, &'static str, String, OffsetDateTime)> {
        let start = time::macros::datetime!(2026-11-01 09:00 UTC);
        V1_ACCOUNTS
            .iter()
            .map(|&(n, email)| {
                let minutes = i64::try_from(n).unwrap_or_default();
                (Uuid::from_u128(n), email, email.to_lowercase(), start + Duration::minutes(minutes))
            })
            .collect()
    }

    fn user(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    /// What the first rewrite on a database holding [`v1_rows`] must have done.
    pub(crate) async fn check<B: AccountsBackend>(backend: &B, report: EmailKeyRewrite) {
        assert_eq!(report.rewritten, [user(1), user(2), user(3)]);
        assert_eq!(report.kept, [user(4)], "straße comes after STRASSE");
        assert_eq!(backend.rewrite_email_keys().await.expect("again"), EmailKeyRewrite::default(), "done once");

        let store = backend.accounts_store(&OutboxWriter::new());
        for (typed, owner) in [
            ("jos\u{e9}@example.com", 1),
            ("JOSE\u{301}@EXAMPLE.COM", 1),
            ("dave@example.com", 2),
            ("Dave@example.com", 2),
            ("strasse@example.de", 3),
            ("stra\u{df}e@example.de", 3),
            ("bob@example.com", 5),
        ] {
            let email = EmailAddress::parse(typed).expect("valid");
            let found = store.credentials(&email).await.expect("lookup").map(|found| found.user_id);
            assert_eq!(found, Some(user(owner)), "{typed:?}");
        }
        for taken in ["JOS\u{c9}@example.com", "DAVE@example.com", "Strasse@example.de"] {
            let email = EmailAddress::parse(taken).expect("valid");
            let mut newcomer = User::register(UserId::generate(), email, PasswordHash::from_phc("x".into()), NOW);
            let mut transaction = store.begin().await.expect("begin");
            let outcome = transaction.add(&mut newcomer).await;
            assert!(matches!(outcome, Err(UserStoreError::EmailTaken)), "{taken:?}: {outcome:?}");
        }
        let mut transaction = store.begin().await.expect("begin");
        let kept = transaction.user(user(4)).await.expect("load").expect("still there");
        assert_eq!(kept.email().as_str(), "stra\u{df}e@example.de", "its address is untouched");
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-12-04 09:00 UTC);
}
