//! Signing keys: the published JWK set verifies taskdeck's tokens with nothing else, and
//! no token of another algorithm or key gets in. Uses a key file (a fixed Ed25519 key)
//! where a test must sign tokens of its own with taskdeck's key.

use std::io::Write;

use crate::common::{TestApp, assert_unauthorized, claims};
use axum::http::StatusCode;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use taskdeck::composition::Settings;

/// RFC 8410 §10.3's example Ed25519 private key.
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";

async fn jwks(app: &TestApp) -> Value {
    let reply = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

#[tokio::test]
async fn the_published_keys_alone_verify_the_access_tokens() {
    let app = TestApp::new().await;
    let alice = app.user("alice@example.com").await;

    let set: JwkSet = serde_json::from_value(jwks(&app).await).expect("an RFC 7517 JWK set");

    let header = jsonwebtoken::decode_header(&alice.token).expect("a JWT");
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("tokens name their key");
    let jwk = set.find(&kid).expect("the signing key is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[claims(&alice.token)["aud"].as_str().expect("aud")]);
    validation.set_issuer(&["taskdeck"]);
    let verified =
        jsonwebtoken::decode::<Value>(&alice.token, &DecodingKey::from_jwk(jwk).expect("a key"), &validation);
    assert_eq!(verified.expect("verifies with the JWK alone").claims["sub"], alice.id.as_str());
}

#[tokio::test]
async fn a_configured_secret_signs_hs256_and_publishes_no_key() {
    let settings = Settings { jwt_secret: Some("a configured secret of 32 bytes!!".into()), ..Settings::default() };
    let app = TestApp::with_settings(&settings).await;
    let alice = app.user("alice@example.com").await;

    assert_eq!(jsonwebtoken::decode_header(&alice.token).expect("a JWT").alg, Algorithm::HS256);
    assert_eq!(jwks(&app).await, json!({"keys": []}));
    assert_eq!(app.get("/api/users/me", Some(&alice.token)).await.status, StatusCode::OK);
}

fn key_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(PEM.as_bytes()).expect("written");
    file
}

#[tokio::test]
async fn a_key_file_signs_instead_of_the_stored_keys_and_is_the_one_published() {
    let file = key_file();
    let settings = Settings { signing_key_file: Some(file.path().to_owned()), ..Settings::default() };
    let app = TestApp::with_settings(&settings).await;
    let alice = app.user("alice@example.com").await;

    let keys = jwks(&app).await;
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(1));
    // RFC 8410 §10.1's example public key belongs to this private key.
    assert_eq!(keys["keys"][0]["x"], "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE");
    let kid = jsonwebtoken::decode_header(&alice.token).expect("a JWT").kid;
    assert_eq!(kid.as_deref(), keys["keys"][0]["kid"].as_str());
}

#[tokio::test]
async fn tokens_with_the_right_key_but_no_kid_another_kid_or_another_algorithm_are_refused() {
    let file = key_file();
    let settings = Settings { signing_key_file: Some(file.path().to_owned()), ..Settings::default() };
    let app = TestApp::with_settings(&settings).await;
    let alice = app.user("alice@example.com").await;
    let claims = claims(&alice.token);
    let der = {
        use base64::Engine;
        let body: String = PEM.lines().filter(|line| !line.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body).expect("base64")
    };
    let key = EncodingKey::from_ed_der(&der);
    let sign = |header: Header| jsonwebtoken::encode(&header, &claims, &key).expect("signed");
    let kid = jsonwebtoken::decode_header(&alice.token).expect("a JWT").kid.expect("a kid");

    let mut control = Header::new(Algorithm::EdDSA);
    control.kid = Some(kid.clone());
    let token = sign(control);
    assert_eq!(app.get("/api/users/me", Some(&token)).await.status, StatusCode::OK, "the control");

    let mut other_kid = Header::new(Algorithm::EdDSA);
    other_kid.kid = Some("someone-elses-key".into());
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".into());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(b"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        )
        .expect("signed")
    };
    for token in [sign(Header::new(Algorithm::EdDSA)), sign(other_kid), hs256] {
        assert_unauthorized(&app.get("/api/users/me", Some(&token)).await);
        assert_unauthorized(&app.get("/api/projects", Some(&token)).await);
    }
}
