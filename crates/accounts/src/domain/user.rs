//! The `User` aggregate: an account someone signs in with.

use taskdeck_kernel::{EmailAddress, UserAccountCreated, UserAccountDeleted, UserId};
use time::OffsetDateTime;

use super::{AccountEvent, PasswordHash, UserEmailChanged};

/// A registered account.
#[derive(Debug, Clone)]
pub struct User {
    id: UserId,
    email: EmailAddress,
    password_hash: PasswordHash,
    version: i64,
    events: Vec<AccountEvent>,
}

/// What `User::change_email` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailChange {
    /// The address is exactly the current one: nothing to store.
    Unchanged,
    /// The same address with other capitals: stored as typed, no uniqueness check needed.
    Respelled,
    /// Another address: the caller must make sure nobody else owns it.
    Changed,
}

impl User {
    /// Registers a new account and records `UserAccountCreated`.
    #[must_use]
    pub fn register(id: UserId, email: EmailAddress, password_hash: PasswordHash, now: OffsetDateTime) -> Self {
        let created = UserAccountCreated { user_id: id, email: email.as_str().to_owned(), occurred_at: now };
        Self { id, email, password_hash, version: 0, events: vec![AccountEvent::Created(created)] }
    }

    /// Rebuilds a stored account; records nothing.
    #[must_use]
    pub fn restore(id: UserId, email: EmailAddress, password_hash: PasswordHash, version: i64) -> Self {
        Self { id, email, password_hash, version, events: Vec::new() }
    }

    /// Changes the sign-in address. Equal addresses (in canonical form) are the same account,
    /// so only a really different address records `UserEmailChanged`.
    pub fn change_email(&mut self, email: EmailAddress, now: OffsetDateTime) -> EmailChange {
        if email.as_str() == self.email.as_str() {
            return EmailChange::Unchanged;
        }
        let change = if email == self.email { EmailChange::Respelled } else { EmailChange::Changed };
        self.events.push(AccountEvent::EmailChanged(UserEmailChanged {
            user_id: self.id,
            email: email.as_str().to_owned(),
            occurred_at: now,
        }));
        self.email = email;
        change
    }

    /// Replaces the password (the caller has checked the current one and hashed the
    /// new one, which met the policy).
    pub fn change_password(&mut self, hash: PasswordHash) {
        self.password_hash = hash;
    }

    /// Erases the account and records `UserAccountDeleted`, so that the other contexts
    /// erase what they keep of it. The repository removes the account.
    pub fn erase(&mut self, now: OffsetDateTime) {
        self.events.push(AccountEvent::Deleted(UserAccountDeleted { user_id: self.id, occurred_at: now }));
    }

    #[must_use]
    pub fn id(&self) -> UserId {
        self.id
    }

    #[must_use]
    pub fn email(&self) -> &EmailAddress {
        &self.email
    }

    #[must_use]
    pub fn password_hash(&self) -> &PasswordHash {
        &self.password_hash
    }

    /// The version this aggregate was loaded at; a save succeeds only if storage still
    /// holds this version.
    #[must_use]
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Called by the repository once the new state is stored.
    pub fn mark_saved(&mut self) {
        self.version += 1;
    }

    /// Events recorded since the aggregate was loaded, in order; drains them.
    pub fn take_events(&mut self) -> Vec<AccountEvent> {
        std::mem::take(&mut self.events)
    }

    #[must_use]
    pub fn pending_events(&self) -> &[AccountEvent] {
        &self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:15:00 UTC);

    fn email(raw: &str) -> EmailAddress {
        EmailAddress::parse(raw).unwrap()
    }

    fn registered() -> User {
        let mut user =
            User::register(UserId::generate(), email("bob@example.com"), PasswordHash::from_phc("h".into()), NOW);
        user.take_events();
        user
    }

    #[test]
    fn registering_records_user_account_created() {
        let id = UserId::generate();
        let mut user = User::register(id, email("bob@example.com"), PasswordHash::from_phc("h".into()), NOW);
        assert_eq!(
            user.take_events(),
            vec![AccountEvent::Created(UserAccountCreated {
                user_id: id,
                email: "bob@example.com".into(),
                occurred_at: NOW,
            })]
        );
        assert!(user.take_events().is_empty(), "events are drained once taken");
    }

    #[test]
    fn a_restored_user_records_nothing() {
        let user = User::restore(UserId::generate(), email("bob@example.com"), PasswordHash::from_phc("h".into()), 3);
        assert!(user.pending_events().is_empty());
        assert_eq!(user.version(), 3);
    }

    #[test]
    fn changing_to_the_same_email_is_a_no_op() {
        let mut user = registered();
        assert_eq!(user.change_email(email("bob@example.com"), NOW), EmailChange::Unchanged);
        assert!(user.pending_events().is_empty());
    }

    #[test]
    fn changing_only_the_capitals_keeps_the_account_and_the_new_spelling() {
        let mut user = registered();
        assert_eq!(user.change_email(email("Bob@Example.com"), NOW), EmailChange::Respelled);
        assert_eq!(user.email().as_str(), "Bob@Example.com");
    }

    #[test]
    fn changing_to_another_email_records_the_change() {
        let mut user = registered();
        assert_eq!(user.change_email(email("robert@example.com"), NOW), EmailChange::Changed);
        assert_eq!(user.email().as_str(), "robert@example.com");
        assert_eq!(
            user.take_events(),
            vec![AccountEvent::EmailChanged(UserEmailChanged {
                user_id: user.id(),
                email: "robert@example.com".into(),
                occurred_at: NOW,
            })]
        );
    }

    #[test]
    fn a_new_password_replaces_the_hash_and_records_nothing() {
        let mut user = registered();
        user.change_password(PasswordHash::from_phc("new".into()));
        assert_eq!(user.password_hash().as_phc(), "new");
        assert!(user.pending_events().is_empty());
    }

    #[test]
    fn erasing_records_user_account_deleted() {
        let mut user = registered();
        user.erase(NOW);
        assert_eq!(
            user.take_events(),
            vec![AccountEvent::Deleted(UserAccountDeleted { user_id: user.id(), occurred_at: NOW })]
        );
    }

    #[test]
    fn saving_moves_the_version_forward() {
        let mut user = registered();
        user.mark_saved();
        assert_eq!(user.version(), 1);
    }
}
