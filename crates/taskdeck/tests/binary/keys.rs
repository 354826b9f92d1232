//! Rotating the signing key while a server runs: new tokens are signed with the new
//! key within a moment, the old key's tokens live out their lifetime, and the old key
//! then leaves the JWK set, all without a restart; with several instances, no instance
//! ever meets a token of a key it has not loaded yet.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Server, ServerClient, TestBackend, TestDatabase, eventually, on_both_backends, run_to_exit};

on_both_backends!(a_rotation_while_serving_moves_new_tokens_to_the_new_key_and_later_retires_the_old_one);

/// A short access-token lifetime, so that the old key retires within the test.
const TOKEN_TTL: &str = "4";

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("a JWT header");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64url");
    let header: Value = serde_json::from_slice(&header).expect("JSON");
    header["kid"].as_str().expect("a kid").to_owned()
}

async fn published(api: &taskdeck_testkit::Client) -> Vec<String> {
    let set = api.get("/.well-known/jwks.json", None).await.expect(200).body;
    set["keys"].as_array().expect("keys").iter().map(|key| key["kid"].as_str().expect("kid").to_owned()).collect()
}

async fn a_rotation_while_serving_moves_new_tokens_to_the_new_key_and_later_retires_the_old_one(backend: TestBackend) {
    let Some(database) = TestDatabase::new(backend).await else { return };
    let mut serve = database.serve();
    serve.args(["--access-token-ttl", TOKEN_TTL]);
    let server = Server::spawn(serve);
    let api = server.client();
    let old_token = api.newcomer("rotating@example.com").await;
    let old_kid = kid(&old_token);
    assert_eq!(published(&api).await, std::slice::from_ref(&old_kid));

    let rotated = run_to_exit(database.command(&["keys", "rotate"]));
    assert!(rotated.status.success(), "{rotated:#?}");
    let new_kid = rotated.stdout.trim().strip_prefix("signing with ").expect("the new kid").to_owned();
    assert_ne!(new_kid, old_kid);

    eventually(Duration::from_secs(5), "new tokens signed with the new key", || async {
        let token = api.token("rotating@example.com", crate::support::PASSWORD).await;
        (kid(&token) == new_kid).then_some(())
    })
    .await;
    api.get("/api/users/me", Some(&old_token)).await.expect(200);
    let both = published(&api).await;
    assert!(both.contains(&old_kid) && both.contains(&new_kid), "{both:?}");
    let listed = run_to_exit(database.command(&["keys", "list"]));
    assert_eq!(listed.stdout.lines().count(), 2, "{listed:#?}");

    // Retired once its last token has expired: lifetime, pick-up and leeway later.
    eventually(Duration::from_secs(20), "the old key to leave the JWK set", || async {
        (published(&api).await == [new_kid.clone()]).then_some(())
    })
    .await;
    api.get("/api/users/me", Some(&old_token)).await.expect(401);
    let (status, log) = server.terminate();
    assert!(status.success(), "{}", log.text());
}

/// Right after a rotation the instances differ in which keys they have loaded: a new
/// key is therefore published for a moment before it signs, and the tokens each
/// instance issues through the switch are accepted by the other at once.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_tokens_issued_through_a_rotation_are_accepted_by_every_instance() {
    let Some(database) = TestDatabase::new(TestBackend::Postgres).await else { return };
    let servers = [Server::spawn(database.serve()), Server::spawn(database.serve())];
    let apis = [servers[0].client(), servers[1].client()];
    apis[0].register("switching@example.com", crate::support::PASSWORD).await.expect(201);
    let old_kid = kid(&apis[0].token("switching@example.com", crate::support::PASSWORD).await);

    let rotated = run_to_exit(database.command(&["keys", "rotate"]));
    assert!(rotated.status.success(), "{rotated:#?}");
    let checked = std::cell::Cell::new(0);
    eventually(Duration::from_secs(10), "both instances to sign with the new key", || {
        let (apis, old_kid, checked) = (&apis, &old_kid, &checked);
        async move {
            let mut switched = 0;
            for (issuer, verifier) in [(0, 1), (1, 0)] {
                let token = apis[issuer].token("switching@example.com", crate::support::PASSWORD).await;
                let me = apis[verifier].get("/api/users/me", Some(&token)).await;
                assert_eq!(me.status.as_u16(), 200, "instance {verifier} refused a token of instance {issuer}: {me:?}");
                checked.set(checked.get() + 1);
                switched += usize::from(kid(&token) != *old_kid);
            }
            (switched == 2).then_some(())
        }
    })
    .await;
    assert!(checked.get() > 2, "tokens were checked through the switch, not only after it");
    for server in servers {
        let (status, log) = server.terminate();
        assert!(status.success(), "{}", log.text());
    }
}
