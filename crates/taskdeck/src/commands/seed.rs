//! `taskdeck seed`: the demo account with the sample data of the original sandbox,
//! created through the public HTTP API (in process), so the seed obeys exactly the
//! rules every client does, on either backend.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use taskdeck_platform::outbox::RelayRun;
use tower::ServiceExt;

use super::open_database;
use crate::cli::DatabaseArgs;
use crate::composition::Settings;

pub const DEMO_EMAIL: &str = "test@email.com";
pub const DEMO_PASSWORD: &str = "password";

/// Creates the demo user and sample projects; does nothing if the user exists.
///
/// # Errors
/// When a request of the seed is refused or storage fails.
pub async fn seed(args: &DatabaseArgs) -> anyhow::Result<()> {
    let database = open_database(args).await?;
    let application = database.compose(&Settings::default()).await?;
    let api = Api { router: application.router.clone(), token: None };

    let registered =
        api.call(Method::POST, "/api/users", Some(json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))).await?;
    if registered.0 == StatusCode::CONFLICT {
        tracing::info!("{DEMO_EMAIL} exists already; nothing to seed");
        database.close().await;
        return Ok(());
    }
    expect(&registered, StatusCode::CREATED)?;
    // Deliver UserAccountCreated now, so the starter project is the user's first.
    while let RelayRun::Delivered { .. } = application.deliver_events().await? {}

    let login = api
        .call(Method::POST, "/api/users/login", Some(json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD})))
        .await?;
    let token = expect(&login, StatusCode::OK)?["access_token"].as_str().context("no access token")?.to_owned();
    let api = Api { token: Some(token), ..api };

    let software = api.project("Software Engineering", &["Learn Python"]).await?;
    expect(&api.call(Method::PUT, &format!("/api/projects/{software}/tasks/1/complete"), None).await?, StatusCode::OK)?;
    api.project(
        "Learn Domain Driven Design",
        &["Learn Clean Architecture", "Learn Event Sourcing", "Learn CQRS", "Read Domain Driven Design book"],
    )
    .await?;
    api.project("Household", &["Do the shopping", "Clean the house"]).await?;
    let cleaning = api.project("Clean the house", &[]).await?;
    expect(&api.call(Method::PUT, &format!("/api/projects/{cleaning}/archive"), None).await?, StatusCode::OK)?;
    expect(&api.call(Method::DELETE, &format!("/api/projects/{cleaning}"), None).await?, StatusCode::NO_CONTENT)?;

    database.close().await;
    tracing::info!("seeded {DEMO_EMAIL} / {DEMO_PASSWORD} with sample projects");
    Ok(())
}

/// The HTTP application, called in process.
struct Api {
    router: Router,
    token: Option<String>,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }?;
        let mut request = request;
        // The seed is a local client; the routes limited per address want to know it.
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let json = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes)? };
        Ok((status, json))
    }

    /// Creates a project with incomplete tasks and returns its id.
    async fn project(&self, name: &str, tasks: &[&str]) -> anyhow::Result<i64> {
        let created = self.call(Method::POST, "/api/projects", Some(json!({"name": name}))).await?;
        let id = expect(&created, StatusCode::CREATED)?["id"].as_i64().context("no project id")?;
        for task in tasks {
            let path = format!("/api/projects/{id}/tasks");
            expect(&self.call(Method::POST, &path, Some(json!({"name": task}))).await?, StatusCode::CREATED)?;
        }
        Ok(id)
    }
}

fn expect(reply: &(StatusCode, Value), status: StatusCode) -> anyhow::Result<&Value> {
    if reply.0 != status {
        bail!("seeding failed: expected {status}, got {}: {}", reply.0, reply.1);
    }
    Ok(&reply.1)
}
