//! The contract of `AccountsStore`: every implementation, fake or SQL, must pass these.
//!
//! Each check takes a fresh, empty store. Adapters run them all with
//! [`accounts_store_contract!`](crate::accounts_store_contract).

use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EmailAddress, StoreError, UserAccountCreated, UserId};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::application::{AccountsStore, AccountsTransaction, UserStoreError};
use crate::domain::{PasswordHash, User};

const NOW: OffsetDateTime = datetime!(2026-11-24 10:15:00 UTC);

fn new_user(email: &str) -> User {
    User::register(
        UserId::generate(),
        EmailAddress::parse(email).expect("valid email"),
        PasswordHash::from_phc(format!("hash-of-{email}")),
        NOW,
    )
}

fn email(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).expect("valid email")
}

async fn add_committed<S: AccountsStore>(store: &S, user: &mut User) {
    let mut transaction = store.begin().await.expect("begin");
    transaction.add(user).await.expect("add");
    transaction.commit().await.expect("commit");
}

pub async fn an_added_user_can_be_loaded_back<S: AccountsStore>(store: S) {
    let mut user = new_user("Bob@Example.com");
    add_committed(&store, &mut user).await;

    let mut transaction = store.begin().await.expect("begin");
    let loaded = transaction.user(user.id()).await.expect("load").expect("user exists");
    assert_eq!(loaded.id(), user.id());
    assert_eq!(loaded.email().as_str(), "Bob@Example.com", "spelling is kept");
    assert_eq!(loaded.password_hash(), user.password_hash());
    assert_eq!(loaded.version(), 1);
    assert!(loaded.pending_events().is_empty());
}

pub async fn an_unknown_user_is_none<S: AccountsStore>(store: S) {
    let mut transaction = store.begin().await.expect("begin");
    assert!(transaction.user(UserId::generate()).await.expect("load").is_none());
}

pub async fn credentials_are_found_by_email_ignoring_case<S: AccountsStore>(store: S) {
    let mut user = new_user("Bob@Example.com");
    add_committed(&store, &mut user).await;

    let credentials = store.credentials(&email("bob@example.COM")).await.expect("lookup").expect("found");
    assert_eq!(credentials.user_id, user.id());
    assert_eq!(&credentials.password_hash, user.password_hash());
    assert!(store.credentials(&email("alice@example.com")).await.expect("lookup").is_none());
}

pub async fn adding_an_address_taken_in_other_capitals_is_email_taken<S: AccountsStore>(store: S) {
    add_committed(&store, &mut new_user("bob@example.com")).await;

    let mut transaction = store.begin().await.expect("begin");
    let outcome = transaction.add(&mut new_user("BOB@example.com")).await;
    assert!(matches!(outcome, Err(UserStoreError::EmailTaken)), "{outcome:?}");
}

pub async fn saving_an_address_taken_by_another_account_is_email_taken<S: AccountsStore>(store: S) {
    add_committed(&store, &mut new_user("alice@example.com")).await;
    let mut bob = new_user("bob@example.com");
    add_committed(&store, &mut bob).await;

    let mut transaction = store.begin().await.expect("begin");
    let mut bob = transaction.user(bob.id()).await.expect("load").expect("exists");
    bob.change_email(email("Alice@example.com"), NOW);
    let outcome = transaction.save(&mut bob).await;
    assert!(matches!(outcome, Err(UserStoreError::EmailTaken)), "{outcome:?}");
}

pub async fn a_saved_change_is_visible_and_moves_the_version<S: AccountsStore>(store: S) {
    let mut user = new_user("bob@example.com");
    add_committed(&store, &mut user).await;

    let mut transaction = store.begin().await.expect("begin");
    let mut loaded = transaction.user(user.id()).await.expect("load").expect("exists");
    loaded.change_email(email("robert@example.com"), NOW);
    transaction.save(&mut loaded).await.expect("save");
    transaction.commit().await.expect("commit");

    let mut transaction = store.begin().await.expect("begin");
    let reloaded = transaction.user(user.id()).await.expect("load").expect("exists");
    assert_eq!(reloaded.email().as_str(), "robert@example.com");
    assert_eq!(reloaded.version(), 2);
    assert!(store.credentials(&email("bob@example.com")).await.expect("lookup").is_none());
}

pub async fn saving_a_stale_copy_is_a_conflict<S: AccountsStore>(store: S) {
    let mut user = new_user("bob@example.com");
    add_committed(&store, &mut user).await;

    let mut first = store.begin().await.expect("begin");
    let mut first_copy = first.user(user.id()).await.expect("load").expect("exists");
    first_copy.change_email(email("first@example.com"), NOW);
    first.save(&mut first_copy).await.expect("save");
    first.commit().await.expect("commit");

    let stale = User::restore(user.id(), email("bob@example.com"), user.password_hash().clone(), 1);
    let mut stale = stale;
    stale.change_email(email("second@example.com"), NOW);
    let mut second = store.begin().await.expect("begin");
    let outcome = match second.save(&mut stale).await {
        Ok(()) => second.commit().await.map_err(UserStoreError::from),
        Err(error) => Err(error),
    };
    assert!(matches!(outcome, Err(UserStoreError::Store(StoreError::Conflict))), "{outcome:?}");
}

pub async fn a_unit_of_work_dropped_without_commit_stores_nothing<S: AccountsStore + OutboxProbe>(store: S) {
    let before = store.outbox_events().await.len();
    let mut user = new_user("bob@example.com");
    {
        let mut transaction = store.begin().await.expect("begin");
        transaction.add(&mut user).await.expect("add");
    }
    let mut transaction = store.begin().await.expect("begin");
    assert!(transaction.user(user.id()).await.expect("load").is_none());
    assert_eq!(store.outbox_events().await.len(), before, "no event escapes a rolled-back unit of work");
}

pub async fn events_are_written_to_the_outbox_with_the_user<S: AccountsStore + OutboxProbe>(store: S) {
    let mut user = new_user("bob@example.com");
    add_committed(&store, &mut user).await;

    let events = store.outbox_events().await;
    let created: Vec<UserAccountCreated> = events
        .iter()
        .filter(|event| event.event_type == UserAccountCreated::EVENT_TYPE)
        .map(|event| event.decode().expect("decodes"))
        .collect();
    assert_eq!(
        created,
        vec![UserAccountCreated { user_id: user.id(), email: "bob@example.com".into(), occurred_at: NOW }]
    );
    assert_eq!(events[0].aggregate_id, user.id().to_string());
}

/// Expands to one `#[tokio::test]` per contract check, each on a store made by
/// `$fresh_store().await`, which returns `Option<(Store, Keep)>`: `Keep` is held until
/// the check ends (the store's temporary database, say); `None` makes the test pass
/// without checking anything, for a backend that is not configured here (the factory
/// says so on stderr).
#[macro_export]
macro_rules! accounts_store_contract {
    ($fresh_store:path) => {
        $crate::accounts_store_contract!(@checks $fresh_store;
            an_added_user_can_be_loaded_back,
            an_unknown_user_is_none,
            credentials_are_found_by_email_ignoring_case,
            adding_an_address_taken_in_other_capitals_is_email_taken,
            saving_an_address_taken_by_another_account_is_email_taken,
            a_saved_change_is_visible_and_moves_the_version,
            saving_a_stale_copy_is_a_conflict,
            a_unit_of_work_dropped_without_commit_stores_nothing,
            events_are_written_to_the_outbox_with_the_user,
        );
    };
    (@checks $fresh_store:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let Some((store, _keep)) = $fresh_store().await else { return };
                $crate::testing::contract::$check(store).await;
            }
        )+
    };
}

#[cfg(test)]
mod in_memory {
    use crate::testing::InMemoryAccounts;

    async fn fresh_store() -> Option<(InMemoryAccounts, ())> {
        Some((InMemoryAccounts::default(), ()))
    }

    crate::accounts_store_contract!(fresh_store);
}
