//! The contract of `AccountsStore`: every implementation, fake or SQL, must pass these.
//!
//! Each check takes a fresh, empty store. Adapters run them all with
//! [`accounts_store_contract!`](crate::accounts_store_contract).

use std::time::Duration;

use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EmailAddress, StoreError, UserAccountCreated, UserAccountDeleted, UserId};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::application::{AccountQueries, AccountsStore, AccountsTransaction, UserStoreError};
use crate::domain::{
    LoginThrottle, PasswordHash, PresentedToken, RefreshDigest, Session, SessionId, ThrottleKey, User, UserAgent,
    WINDOW,
};

const NOW: OffsetDateTime = datetime!(2026-11-24 10:15:00 UTC);
const DAY: Duration = Duration::from_secs(86_400);

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

pub async fn an_address_taken_in_another_unicode_form_is_email_taken_and_found_in_any<S: AccountsStore>(store: S) {
    let mut jose = new_user("jos\u{e9}@example.com");
    add_committed(&store, &mut jose).await;

    for form in ["jose\u{301}@example.com", "JOS\u{c9}@EXAMPLE.COM", "ｊｏｓ\u{e9}@example.com"] {
        let found = store.credentials(&email(form)).await.expect("lookup").expect("found");
        assert_eq!(found.user_id, jose.id(), "{form:?}");
        let mut transaction = store.begin().await.expect("begin");
        let outcome = transaction.add(&mut new_user(form)).await;
        assert!(matches!(outcome, Err(UserStoreError::EmailTaken)), "{form:?}: {outcome:?}");
    }
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

fn digest(byte: u8) -> RefreshDigest {
    RefreshDigest::from_bytes([byte; 32])
}

/// Opens and commits a session of `user` whose live token has digest `token`.
async fn stored_session<S: AccountsStore>(store: &S, user: UserId, token: u8, at: OffsetDateTime) -> Session {
    let mut session =
        Session::open(SessionId::generate(), user, UserAgent::parse("Firefox/140"), digest(token), at, DAY);
    let mut transaction = store.begin().await.expect("begin");
    transaction.add_session(&mut session).await.expect("add session");
    transaction.commit().await.expect("commit");
    session
}

pub async fn an_added_session_is_found_by_its_live_refresh_token<S: AccountsStore + AccountQueries>(store: S) {
    let user = UserId::generate();
    let session = stored_session(&store, user, 1, NOW).await;

    let mut transaction = store.begin().await.expect("begin");
    let (found, presented) = transaction.session_by_refresh_token(&digest(1)).await.expect("load").expect("found");
    assert_eq!(presented, PresentedToken::Live);
    assert_eq!(found.state(), session.state());
    assert_eq!(found.state().version, 1);
    assert!(transaction.session_by_refresh_token(&digest(9)).await.expect("load").is_none(), "unknown token");
    assert_eq!(transaction.session(session.id()).await.expect("load").expect("by id").state(), session.state());
    assert_eq!(store.live_session_owner(session.id()).await.expect("query"), Some(user));
    assert_eq!(store.live_session_owner(SessionId::generate()).await.expect("query"), None);
}

pub async fn a_saved_refresh_spends_the_old_token_and_makes_the_new_one_live<S: AccountsStore>(store: S) {
    let session = stored_session(&store, UserId::generate(), 1, NOW).await;
    let later = NOW + Duration::from_secs(60);

    let mut transaction = store.begin().await.expect("begin");
    let (mut loaded, presented) = transaction.session_by_refresh_token(&digest(1)).await.expect("load").expect("found");
    loaded.refresh(presented, digest(2), later, DAY).expect("refresh");
    transaction.save_session(&mut loaded).await.expect("save");
    transaction.commit().await.expect("commit");

    let mut transaction = store.begin().await.expect("begin");
    let (old, presented) = transaction.session_by_refresh_token(&digest(1)).await.expect("load").expect("found");
    assert_eq!((old.id(), presented), (session.id(), PresentedToken::Spent));
    let (new, presented) = transaction.session_by_refresh_token(&digest(2)).await.expect("load").expect("found");
    assert_eq!(presented, PresentedToken::Live);
    assert_eq!(new.state().refresh_expires_at, later + DAY);
    assert_eq!(new.state().last_used_at, later);
    assert_eq!(new.state().version, 2);
}

pub async fn a_revoked_session_is_no_longer_live_listed_or_refreshable<S: AccountsStore + AccountQueries>(store: S) {
    let user = UserId::generate();
    let session = stored_session(&store, user, 1, NOW).await;
    let revoked_at = NOW + Duration::from_secs(5);

    let mut transaction = store.begin().await.expect("begin");
    let mut loaded = transaction.session(session.id()).await.expect("load").expect("found");
    assert!(loaded.revoke(revoked_at));
    transaction.save_session(&mut loaded).await.expect("save");
    transaction.commit().await.expect("commit");

    assert_eq!(store.live_session_owner(session.id()).await.expect("query"), None);
    assert!(store.sessions_of(user, revoked_at).await.expect("query").is_empty());
    assert_eq!(store.sessions_revoked_since(revoked_at).await.expect("query"), [session.id()]);
    let after = revoked_at + Duration::from_secs(1);
    assert!(store.sessions_revoked_since(after).await.expect("query").is_empty());
    let mut transaction = store.begin().await.expect("begin");
    let (reloaded, _) = transaction.session_by_refresh_token(&digest(1)).await.expect("load").expect("found");
    assert_eq!(reloaded.state().revoked_at, Some(revoked_at));
}

pub async fn a_users_live_sessions_are_listed_newest_first<S: AccountsStore + AccountQueries>(store: S) {
    let user = UserId::generate();
    let first = stored_session(&store, user, 1, NOW).await;
    let second = stored_session(&store, user, 2, NOW + Duration::from_secs(10)).await;
    stored_session(&store, UserId::generate(), 3, NOW).await;

    let listed = store.sessions_of(user, NOW + Duration::from_secs(20)).await.expect("query");
    let ids: Vec<SessionId> = listed.iter().map(|session| session.id).collect();
    assert_eq!(ids, [second.id(), first.id()]);
    assert_eq!(listed[0].created_at, NOW + Duration::from_secs(10));
    assert_eq!(listed[0].user_agent.as_ref().map(UserAgent::as_str), Some("Firefox/140"));
    let expired = store.sessions_of(user, NOW + DAY + Duration::from_secs(5)).await.expect("query");
    let ids: Vec<SessionId> = expired.iter().map(|session| session.id).collect();
    assert_eq!(ids, [second.id()], "a session past its refresh token's expiry is not listed");
}

pub async fn saving_a_stale_session_is_a_conflict<S: AccountsStore>(store: S) {
    let session = stored_session(&store, UserId::generate(), 1, NOW).await;

    let mut first = store.begin().await.expect("begin");
    let mut first_copy = first.session(session.id()).await.expect("load").expect("found");
    first_copy.refresh(PresentedToken::Live, digest(2), NOW, DAY).expect("refresh");
    first.save_session(&mut first_copy).await.expect("save");
    first.commit().await.expect("commit");

    let mut stale = session.clone();
    stale.revoke(NOW);
    let mut second = store.begin().await.expect("begin");
    let outcome = match second.save_session(&mut stale).await {
        Ok(()) => second.commit().await,
        Err(error) => Err(error),
    };
    assert!(matches!(outcome, Err(StoreError::Conflict)), "{outcome:?}");
}

pub async fn a_session_added_in_a_dropped_unit_of_work_is_not_stored<S: AccountsStore + AccountQueries>(store: S) {
    let mut session = Session::open(SessionId::generate(), UserId::generate(), None, digest(1), NOW, DAY);
    {
        let mut transaction = store.begin().await.expect("begin");
        transaction.add_session(&mut session).await.expect("add");
    }
    assert_eq!(store.live_session_owner(session.id()).await.expect("query"), None);
    let mut transaction = store.begin().await.expect("begin");
    assert!(transaction.session_by_refresh_token(&digest(1)).await.expect("load").is_none());
}

pub async fn a_removed_user_is_gone_its_deletion_published_and_its_address_free_again<S>(store: S)
where
    S: AccountsStore + AccountQueries + OutboxProbe,
{
    let mut user = new_user("bob@example.com");
    add_committed(&store, &mut user).await;

    let mut transaction = store.begin().await.expect("begin");
    let mut loaded = transaction.user(user.id()).await.expect("load").expect("exists");
    loaded.erase(NOW);
    transaction.remove(&mut loaded).await.expect("remove");
    transaction.commit().await.expect("commit");

    {
        let mut transaction = store.begin().await.expect("begin");
        assert!(transaction.user(user.id()).await.expect("load").is_none());
    }
    assert!(store.credentials(&email("bob@example.com")).await.expect("lookup").is_none());
    assert!(store.profile(user.id()).await.expect("query").is_none());
    let deleted: Vec<UserAccountDeleted> = store
        .outbox_events()
        .await
        .iter()
        .filter(|event| event.event_type == UserAccountDeleted::EVENT_TYPE)
        .map(|event| event.decode().expect("decodes"))
        .collect();
    assert_eq!(deleted, [UserAccountDeleted { user_id: user.id(), occurred_at: NOW }]);
    add_committed(&store, &mut new_user("Bob@example.com")).await;
}

pub async fn removing_a_stale_copy_is_a_conflict<S: AccountsStore>(store: S) {
    let mut user = new_user("bob@example.com");
    add_committed(&store, &mut user).await;
    let mut stale = User::restore(user.id(), email("bob@example.com"), user.password_hash().clone(), 1);
    let mut transaction = store.begin().await.expect("begin");
    let mut loaded = transaction.user(user.id()).await.expect("load").expect("exists");
    loaded.change_email(email("robert@example.com"), NOW);
    transaction.save(&mut loaded).await.expect("save");
    transaction.commit().await.expect("commit");

    stale.erase(NOW);
    let mut transaction = store.begin().await.expect("begin");
    let outcome = match transaction.remove(&mut stale).await {
        Ok(()) => transaction.commit().await,
        Err(error) => Err(error),
    };
    assert!(matches!(outcome, Err(StoreError::Conflict)), "{outcome:?}");
}

pub async fn revoking_a_users_sessions_spares_the_one_named_and_other_users<S>(store: S)
where
    S: AccountsStore + AccountQueries,
{
    let (bob, alice) = (UserId::generate(), UserId::generate());
    let kept = stored_session(&store, bob, 1, NOW).await;
    let ended = stored_session(&store, bob, 2, NOW).await;
    let alices = stored_session(&store, alice, 3, NOW).await;
    let later = NOW + Duration::from_secs(30);

    let mut transaction = store.begin().await.expect("begin");
    let revoked = transaction.revoke_sessions_of(bob, Some(kept.id()), later).await.expect("revoke");
    transaction.commit().await.expect("commit");
    assert_eq!(revoked, [ended.id()]);
    assert_eq!(store.live_session_owner(kept.id()).await.expect("query"), Some(bob));
    assert_eq!(store.live_session_owner(ended.id()).await.expect("query"), None);
    assert_eq!(store.live_session_owner(alices.id()).await.expect("query"), Some(alice));
    assert_eq!(store.sessions_revoked_since(later).await.expect("query"), [ended.id()]);

    let mut transaction = store.begin().await.expect("begin");
    let mut all: Vec<SessionId> = transaction.revoke_sessions_of(bob, None, later).await.expect("revoke");
    all.sort();
    transaction.commit().await.expect("commit");
    assert_eq!(all, [kept.id()], "sessions revoked before stay as they were");
}

async fn throttle_with_failures<S: AccountsStore>(store: &S, email: &str, failures: u32, at: OffsetDateTime) {
    let mut transaction = store.begin().await.expect("begin");
    let mut throttle = transaction.login_throttle(&ThrottleKey::for_login(email)).await.expect("load");
    for _ in 0..failures {
        throttle.admit(at).expect("admitted");
    }
    transaction.save_login_throttle(&mut throttle).await.expect("save");
    transaction.commit().await.expect("commit");
}

pub async fn a_saved_login_throttle_is_loaded_back_and_an_unknown_one_is_new<S: AccountsStore>(store: S) {
    throttle_with_failures(&store, "bob@example.com", 3, NOW).await;

    let mut transaction = store.begin().await.expect("begin");
    let throttle = transaction.login_throttle(&ThrottleKey::for_login("BOB@example.com")).await.expect("load");
    let state = throttle.state();
    assert_eq!((state.failures, state.window_started_at, state.version), (3, Some(NOW), 1));
    let unknown = transaction.login_throttle(&ThrottleKey::for_login("alice@example.com")).await.expect("load");
    assert_eq!(unknown.state(), LoginThrottle::new(ThrottleKey::for_login("alice@example.com")).state());
}

pub async fn saving_a_stale_login_throttle_is_a_conflict<S: AccountsStore>(store: S) {
    let key = ThrottleKey::for_login("bob@example.com");
    let store = &store;
    let load = || async {
        let mut transaction = store.begin().await.expect("begin");
        transaction.login_throttle(&key).await.expect("load")
    };
    let save = |mut throttle: LoginThrottle| async move {
        let _ = throttle.admit(NOW).expect("admitted");
        let mut transaction = store.begin().await.expect("begin");
        match transaction.save_login_throttle(&mut throttle).await {
            Ok(()) => transaction.commit().await.map(|()| throttle),
            Err(error) => Err(error),
        }
    };
    // Two attempts for a new address read "no throttle"; the second to store it must
    // count again.
    let (first, second) = (load().await, load().await);
    let first = save(first).await.expect("the first is stored");
    let outcome = save(second).await;
    assert!(matches!(outcome, Err(StoreError::Conflict)), "a new throttle stored twice: {outcome:?}");

    save(load().await).await.expect("counted on the stored row");
    let outcome = save(first).await;
    assert!(matches!(outcome, Err(StoreError::Conflict)), "a stale copy: {outcome:?}");
    assert_eq!(load().await.state().failures, 2);
}

pub async fn forgetting_login_throttles_removes_only_windows_started_before_the_cutoff<S: AccountsStore>(store: S) {
    let later = NOW + WINDOW;
    throttle_with_failures(&store, "old@example.com", 5, NOW).await;
    throttle_with_failures(&store, "recent@example.com", 1, later).await;

    let mut transaction = store.begin().await.expect("begin");
    let forgotten = transaction.forget_login_throttles_started_before(later).await.expect("forget");
    transaction.commit().await.expect("commit");
    assert_eq!(forgotten, 1);
    let mut transaction = store.begin().await.expect("begin");
    let old = transaction.login_throttle(&ThrottleKey::for_login("old@example.com")).await.expect("load");
    assert_eq!(old.state().version, 0, "forgotten");
    let recent = transaction.login_throttle(&ThrottleKey::for_login("recent@example.com")).await.expect("load");
    assert_eq!(recent.state().failures, 1, "kept");
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
            an_address_taken_in_another_unicode_form_is_email_taken_and_found_in_any,
            saving_an_address_taken_by_another_account_is_email_taken,
            a_saved_change_is_visible_and_moves_the_version,
            saving_a_stale_copy_is_a_conflict,
            a_unit_of_work_dropped_without_commit_stores_nothing,
            events_are_written_to_the_outbox_with_the_user,
            an_added_session_is_found_by_its_live_refresh_token,
            a_saved_refresh_spends_the_old_token_and_makes_the_new_one_live,
            a_revoked_session_is_no_longer_live_listed_or_refreshable,
            a_users_live_sessions_are_listed_newest_first,
            saving_a_stale_session_is_a_conflict,
            a_session_added_in_a_dropped_unit_of_work_is_not_stored,
            a_removed_user_is_gone_its_deletion_published_and_its_address_free_again,
            removing_a_stale_copy_is_a_conflict,
            revoking_a_users_sessions_spares_the_one_named_and_other_users,
            a_saved_login_throttle_is_loaded_back_and_an_unknown_one_is_new,
            saving_a_stale_login_throttle_is_a_conflict,
            forgetting_login_throttles_removes_only_windows_started_before_the_cutoff,
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
