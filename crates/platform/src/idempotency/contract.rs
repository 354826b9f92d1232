//! The contract every idempotency store passes (feature `testing`): each check takes a
//! fresh, empty, migrated database. Backends run them all with
//! [`idempotency_store_contract!`](crate::idempotency_store_contract).

use std::time::Duration;

use taskdeck_kernel::{IdempotencyClaim, IdempotencyKey, RecordedAnswer, StoreError};
use time::OffsetDateTime;
use time::macros::datetime;

use super::{CLAIM_LEASE, ClaimOutcome, IdempotencyStore, REPLAY_WINDOW};
use crate::BoxFuture;

const NOW: OffsetDateTime = datetime!(2026-12-03 12:00:00 UTC);

/// A store that can also write an answer the way a creating unit of work does.
pub trait ContractStore: IdempotencyStore + Clone + 'static {
    /// Begins a unit of work, records `answer` under `claim`, then commits it, or
    /// drops it uncommitted when `commit` is false.
    fn record<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
        answer: &'a RecordedAnswer,
        commit: bool,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).expect("a valid key")
}

fn answer(body: &[u8]) -> RecordedAnswer {
    RecordedAnswer {
        status: 201,
        location: Some("/api/projects/7".to_owned()),
        entity_tag: Some("p1".to_owned()),
        body: body.to_vec(),
    }
}

async fn claimed<S: ContractStore>(
    store: &S,
    caller: &str,
    raw: &str,
    fingerprint: &[u8],
    now: OffsetDateTime,
) -> IdempotencyClaim {
    match store.claim(caller, &key(raw), fingerprint, now).await.expect("claim") {
        ClaimOutcome::Claimed(claim) => claim,
        other => panic!("expected the key to be granted, got {other:?}"),
    }
}

pub async fn a_new_key_is_granted_once_and_then_in_progress<S: ContractStore>(store: S) {
    let claim = claimed(&store, "alice", "k1", b"request", NOW).await;
    assert_eq!((claim.caller.as_str(), claim.key.as_str()), ("alice", "k1"));

    let again = store.claim("alice", &key("k1"), b"request", NOW).await.expect("claim");
    assert_eq!(again, ClaimOutcome::InProgress);
    let other = store.claim("alice", &key("k1"), b"another request", NOW).await.expect("claim");
    assert_eq!(other, ClaimOutcome::OtherRequest);
}

pub async fn a_committed_answer_is_replayed_byte_for_byte_to_the_same_request_only<S: ContractStore>(store: S) {
    let claim = claimed(&store, "alice", "k1", b"request", NOW).await;
    // Not UTF-8 on purpose: the body is kept as bytes.
    let first = answer(b"{\"id\":7}\xff\x00");
    store.record(&claim, &first, true).await.expect("record");

    let later = NOW + Duration::from_secs(3600);
    assert_eq!(store.claim("alice", &key("k1"), b"request", later).await.expect("claim"), ClaimOutcome::Replay(first));
    let without = RecordedAnswer { location: None, entity_tag: None, ..answer(b"{}") };
    let bare = claimed(&store, "alice", "k2", b"request", NOW).await;
    store.record(&bare, &without, true).await.expect("record");
    assert_eq!(
        store.claim("alice", &key("k2"), b"request", later).await.expect("claim"),
        ClaimOutcome::Replay(without)
    );
    assert_eq!(store.claim("alice", &key("k1"), b"another", later).await.expect("claim"), ClaimOutcome::OtherRequest);
}

pub async fn an_answer_rolled_back_with_its_effect_leaves_the_claim_running<S: ContractStore>(store: S) {
    let claim = claimed(&store, "alice", "k1", b"request", NOW).await;
    store.record(&claim, &answer(b"{}"), false).await.expect("record");

    assert_eq!(store.claim("alice", &key("k1"), b"request", NOW).await.expect("claim"), ClaimOutcome::InProgress);
}

pub async fn a_released_claim_frees_the_key_but_an_answer_is_never_released<S: ContractStore>(store: S) {
    let claim = claimed(&store, "alice", "k1", b"request", NOW).await;
    store.release(&claim).await.expect("release");
    let retried = claimed(&store, "alice", "k1", b"request", NOW).await;
    assert_ne!(retried.token, claim.token);

    store.record(&retried, &answer(b"{}"), true).await.expect("record");
    store.release(&retried).await.expect("release");
    assert!(matches!(store.claim("alice", &key("k1"), b"request", NOW).await.expect("claim"), ClaimOutcome::Replay(_)));
}

pub async fn an_abandoned_claim_is_taken_over_after_its_lease_and_its_late_answer_refused<S: ContractStore>(store: S) {
    let abandoned = claimed(&store, "alice", "k1", b"request", NOW).await;
    let before_the_lease_ends = NOW + CLAIM_LEASE - Duration::from_secs(1);
    assert_eq!(
        store.claim("alice", &key("k1"), b"request", before_the_lease_ends).await.expect("claim"),
        ClaimOutcome::InProgress
    );

    let successor = claimed(&store, "alice", "k1", b"request", NOW + CLAIM_LEASE).await;
    assert_ne!(successor.token, abandoned.token);
    assert!(matches!(store.record(&abandoned, &answer(b"late"), true).await, Err(StoreError::Conflict)));
    store.record(&successor, &answer(b"on time"), true).await.expect("record");
    assert_eq!(
        store.claim("alice", &key("k1"), b"request", NOW + CLAIM_LEASE).await.expect("claim"),
        ClaimOutcome::Replay(answer(b"on time"))
    );
}

pub async fn a_key_is_free_again_once_the_replay_window_has_passed<S: ContractStore>(store: S) {
    let first = claimed(&store, "alice", "k1", b"request", NOW).await;
    store.record(&first, &answer(b"first"), true).await.expect("record");

    let next_day = NOW + REPLAY_WINDOW;
    let second = claimed(&store, "alice", "k1", b"another request", next_day).await;
    assert_eq!(
        store.claim("alice", &key("k1"), b"another request", next_day).await.expect("claim"),
        ClaimOutcome::InProgress
    );
    assert_ne!(second.token, first.token);
}

pub async fn keys_belong_to_their_caller<S: ContractStore>(store: S) {
    let alices = claimed(&store, "alice", "shared", b"alice's request", NOW).await;
    store.record(&alices, &answer(b"alice"), true).await.expect("record");

    let bobs = claimed(&store, "bob", "shared", b"bob's request", NOW).await;
    assert_eq!(bobs.caller, "bob");
    assert_eq!(
        store.claim("alice", &key("shared"), b"alice's request", NOW).await.expect("claim"),
        ClaimOutcome::Replay(answer(b"alice"))
    );
}

pub async fn purging_forgets_only_keys_claimed_before_the_cutoff<S: ContractStore>(store: S) {
    let old = claimed(&store, "alice", "old", b"request", NOW).await;
    store.record(&old, &answer(b"old"), true).await.expect("record");
    claimed(&store, "alice", "running", b"request", NOW).await;
    let recent = claimed(&store, "alice", "recent", b"request", NOW + Duration::from_secs(10)).await;
    store.record(&recent, &answer(b"recent"), true).await.expect("record");

    let purged = store.purge_claimed_before(NOW + Duration::from_secs(5)).await.expect("purge");

    assert_eq!(purged, 2);
    let at = NOW + Duration::from_secs(11);
    assert_eq!(
        store.claim("alice", &key("recent"), b"request", at).await.expect("claim"),
        ClaimOutcome::Replay(answer(b"recent"))
    );
    claimed(&store, "alice", "old", b"another request", at).await;
}

pub async fn of_concurrent_claims_of_one_key_exactly_one_is_granted<S: ContractStore>(store: S) {
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim("alice", &key("raced"), b"request", NOW).await })
        })
        .collect();
    let mut granted = 0;
    for attempt in attempts {
        match attempt.await.expect("no panic").expect("claim") {
            ClaimOutcome::Claimed(_) => granted += 1,
            ClaimOutcome::InProgress => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(granted, 1);
}

/// Runs every check of this contract against `$fresh_store`, an async function
/// returning `Option<(store, guard)>` (`None`: the backend is unavailable, skip).
#[macro_export]
macro_rules! idempotency_store_contract {
    ($fresh_store:path) => {
        $crate::idempotency_store_contract!(@checks $fresh_store;
            a_new_key_is_granted_once_and_then_in_progress,
            a_committed_answer_is_replayed_byte_for_byte_to_the_same_request_only,
            an_answer_rolled_back_with_its_effect_leaves_the_claim_running,
            a_released_claim_frees_the_key_but_an_answer_is_never_released,
            an_abandoned_claim_is_taken_over_after_its_lease_and_its_late_answer_refused,
            a_key_is_free_again_once_the_replay_window_has_passed,
            keys_belong_to_their_caller,
            purging_forgets_only_keys_claimed_before_the_cutoff,
            of_concurrent_claims_of_one_key_exactly_one_is_granted,
        );
    };
    (@checks $fresh_store:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some((store, _keep)) = $fresh_store().await else { return };
                $crate::idempotency::contract::$check(store).await;
            }
        )+
    };
}
