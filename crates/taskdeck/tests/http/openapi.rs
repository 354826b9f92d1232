//! The OpenAPI document at `/openapi.json` describes the contract, and `/docs` serves an
//! API browser whose assets come from taskdeck itself.

use crate::common::{FORM, JSON, PASSWORD, PROBLEM, TestApp};
use axum::http::{Method, StatusCode, header};
use serde_json::Value;

/// One operation of the contract.
struct Operation {
    method: &'static str,
    path: &'static str,
    authenticated: bool,
    success: &'static str,
    /// The error statuses the contract's tables list (401 comes with `authenticated`).
    errors: &'static [&'static str],
    /// Whether it takes a request body.
    body: bool,
}

const fn op(
    method: &'static str,
    path: &'static str,
    authenticated: bool,
    success: &'static str,
    errors: &'static [&'static str],
    body: bool,
) -> Operation {
    Operation { method, path, authenticated, success, errors, body }
}

/// Every operation of the contract.
const CONTRACT: [Operation; 24] = [
    op("get", "/health", false, "200", &[], false),
    op("get", "/ready", false, "200", &["503"], false),
    op("post", "/api/users", false, "201", &["400", "409", "422", "429"], true),
    op("post", "/api/users/login", false, "200", &["400", "401", "429"], true),
    op("get", "/api/users/me", true, "200", &[], false),
    op("put", "/api/users/me", true, "200", &["409", "422"], true),
    op("post", "/api/users/logout", true, "204", &[], false),
    op("get", "/api/users/me/sessions", true, "200", &[], false),
    op("delete", "/api/users/me/sessions/{id}", true, "204", &["404"], false),
    op("put", "/api/users/me/password", true, "204", &["422"], true),
    op("delete", "/api/users/me", true, "204", &["422"], true),
    op("get", "/.well-known/jwks.json", false, "200", &[], false),
    op("post", "/api/projects", true, "201", &["422"], true),
    op("get", "/api/projects", true, "200", &["400", "422"], false),
    op("get", "/api/projects/{id}", true, "200", &["404"], false),
    op("put", "/api/projects/{id}", true, "200", &["404", "409", "422"], true),
    op("delete", "/api/projects/{id}", true, "204", &["404", "409"], false),
    op("put", "/api/projects/{id}/archive", true, "200", &["404", "409"], false),
    op("put", "/api/projects/{id}/unarchive", true, "200", &["404"], false),
    op("post", "/api/projects/{id}/tasks", true, "201", &["404", "409", "422"], true),
    op("get", "/api/projects/{id}/tasks", true, "200", &["400", "404", "422"], false),
    op("get", "/api/projects/{id}/tasks/{number}", true, "200", &["404"], false),
    op("put", "/api/projects/{id}/tasks/{number}/complete", true, "200", &["404", "409"], false),
    op("put", "/api/projects/{id}/tasks/{number}/incomplete", true, "200", &["404", "409"], false),
];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn document() -> Value {
    let app = TestApp::new().await;
    let reply = app.get("/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(reply.content_type().starts_with(JSON), "{reply:?}");
    reply.body
}

fn operation<'a>(document: &'a Value, op: &Operation) -> &'a Value {
    let operation = &document["paths"][op.path][op.method];
    assert!(operation.is_object(), "{} {} is not documented", op.method, op.path);
    operation
}

/// Follows a `$ref` into the components, if the value is one.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            document.pointer(pointer).unwrap_or_else(|| panic!("dangling reference {reference}"))
        }
        None => value,
    }
}

fn property_names(document: &Value, schema: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        resolve(document, schema)["properties"].as_object().expect("an object schema").keys().cloned().collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn the_served_document_is_the_one_taskdeck_openapi_prints_without_a_database() {
    // Both come from the routes' registrations: mounted on a database for serving,
    // unmounted for the command.
    let printed = serde_json::to_value(taskdeck::composition::openapi::<taskdeck::backends::Documented>())
        .expect("the document serialises");
    assert_eq!(document().await, printed);
}

#[tokio::test]
async fn the_document_is_openapi_3() {
    let document = document().await;

    let version = document["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(document["info"]["title"].is_string());
    assert!(document["info"]["version"].is_string());
}

#[tokio::test]
async fn the_document_has_exactly_the_operations_of_the_contract() {
    let document = document().await;

    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.push((method.to_owned(), path.clone()));
            }
        }
    }
    let mut expected: Vec<(String, String)> =
        CONTRACT.iter().map(|op| (op.method.to_owned(), op.path.to_owned())).collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected);
}

#[tokio::test]
async fn the_bearer_scheme_is_an_http_bearer_security_scheme() {
    let document = document().await;

    let schemes = document["components"]["securitySchemes"].as_object().expect("security schemes");
    assert!(
        schemes.values().any(|scheme| scheme["type"] == "http"
            && scheme["scheme"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("bearer"))),
        "{schemes:?}"
    );
}

#[tokio::test]
async fn swagger_uis_authorize_dialog_gets_tokens_with_the_password_grant_of_the_login_operation() {
    let document = document().await;
    let schemes = document["components"]["securitySchemes"].as_object().expect("security schemes");
    let oauth2: Vec<&Value> = schemes.values().filter(|scheme| scheme["type"] == "oauth2").collect();
    assert_eq!(oauth2.len(), 1, "{schemes:?}");
    let password = &oauth2[0]["flows"]["password"];
    assert_eq!(password["tokenUrl"], "/api/users/login", "{password}");
    assert_eq!(password["refreshUrl"], "/api/users/login", "{password}");
}

#[tokio::test]
async fn swagger_uis_password_grant_request_logs_in() {
    // What Swagger UI's dialog sends: the form with grant_type=password (and an empty scope).
    let app = TestApp::new().await;
    app.register("swagger@example.com", PASSWORD).await.expect(201);
    let form = b"grant_type=password&username=swagger%40example.com&password=correct+horse+battery&scope=".to_vec();
    let reply = app.request(Method::POST, "/api/users/login", None, Some((FORM, form))).await.expect(200);
    assert_eq!(reply.body["token_type"], "bearer");
    let token = reply.body["access_token"].as_str().expect("an access token");
    app.get("/api/users/me", Some(token)).await.expect(200);
}

#[tokio::test]
async fn every_authenticated_operation_requires_the_bearer_scheme_and_documents_401() {
    let document = document().await;
    let schemes = &document["components"]["securitySchemes"];

    for op in CONTRACT.iter().filter(|op| op.authenticated) {
        let operation = operation(&document, op);
        let security =
            operation["security"].as_array().unwrap_or_else(|| panic!("{} {} has no security", op.method, op.path));
        // Two alternatives, each of one scheme: a pasted bearer token, or the password grant.
        assert_eq!(security.len(), 2, "{} {}: {security:?}", op.method, op.path);
        let mut kinds: Vec<String> = security
            .iter()
            .map(|requirement| {
                let requirement = requirement.as_object().expect("a security requirement");
                assert_eq!(requirement.len(), 1, "{} {}: {security:?}", op.method, op.path);
                let (name, _scopes) = requirement.iter().next().expect("one scheme");
                let scheme = &schemes[name];
                match scheme["type"].as_str() {
                    Some("http") => format!("http {}", scheme["scheme"].as_str().unwrap_or("").to_ascii_lowercase()),
                    Some("oauth2") => "oauth2".to_owned(),
                    other => panic!("{} {} names scheme {name} of type {other:?}", op.method, op.path),
                }
            })
            .collect();
        kinds.sort();
        assert_eq!(kinds, ["http bearer", "oauth2"], "{} {}", op.method, op.path);
        assert!(operation["responses"]["401"].is_object(), "{} {} documents no 401", op.method, op.path);
    }
}

#[tokio::test]
async fn operations_without_authentication_declare_no_security_requirement() {
    let document = document().await;

    let global = document.get("security").and_then(Value::as_array);
    assert!(global.is_none_or(Vec::is_empty), "a global requirement would apply everywhere: {global:?}");
    for op in CONTRACT.iter().filter(|op| !op.authenticated) {
        let security = &operation(&document, op)["security"];
        let none = security.is_null()
            || security.as_array().is_some_and(|requirements| {
                requirements.iter().all(|r| r.as_object().is_some_and(serde_json::Map::is_empty))
            });
        assert!(none, "{} {} requires {security}", op.method, op.path);
    }
}

#[tokio::test]
async fn every_operation_documents_its_success_and_each_error_of_the_contract() {
    let document = document().await;

    for op in &CONTRACT {
        let responses = &operation(&document, op)["responses"];
        assert!(responses[op.success].is_object(), "{} {} documents no {}", op.method, op.path, op.success);
        for status in op.errors {
            assert!(responses[*status].is_object(), "{} {} documents no {status}", op.method, op.path);
        }
    }
}

#[tokio::test]
async fn every_error_response_is_a_problem_document() {
    let document = document().await;

    let mut errors = 0;
    for op in &CONTRACT {
        for (status, response) in operation(&document, op)["responses"].as_object().expect("responses") {
            if status.parse::<u16>().is_ok_and(|status| status < 400) {
                continue;
            }
            errors += 1;
            let content = response["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{} {} {status}: no content", op.method, op.path));
            let media_types: Vec<&String> = content.keys().collect();
            assert_eq!(media_types, [PROBLEM], "{} {} {status}", op.method, op.path);
            let schema = &content[PROBLEM]["schema"];
            let properties = property_names(&document, schema);
            for member in ["detail", "status", "title", "type"] {
                assert!(properties.iter().any(|p| p == member), "{} {} {status}: no {member}", op.method, op.path);
            }
        }
    }
    assert!(errors > CONTRACT.len(), "too few error responses to be meaningful: {errors}");
}

#[tokio::test]
async fn too_many_requests_responses_declare_their_retry_after_header() {
    let document = document().await;

    let throttled: Vec<&Operation> =
        CONTRACT.iter().filter(|op| operation(&document, op)["responses"]["429"].is_object()).collect();
    assert_eq!(throttled.len(), 2, "registration and login are throttled");
    for op in throttled {
        let retry_after = &operation(&document, op)["responses"]["429"]["headers"]["Retry-After"];
        assert_eq!(retry_after["schema"]["type"], "integer", "{} {}: {retry_after}", op.method, op.path);
    }
}

#[tokio::test]
async fn created_responses_declare_their_location_header() {
    let document = document().await;

    for op in CONTRACT.iter().filter(|op| op.success == "201") {
        let headers = &operation(&document, op)["responses"]["201"]["headers"];
        let names: Vec<String> =
            headers.as_object().map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect()).unwrap_or_default();
        assert!(names.iter().any(|name| name == "location"), "{} {}: {headers}", op.method, op.path);
    }
}

#[tokio::test]
async fn every_body_taking_operation_documents_a_json_request_schema_with_an_example() {
    let document = document().await;

    for op in &CONTRACT {
        let request_body = &operation(&document, op)["requestBody"];
        if !op.body {
            assert!(request_body.is_null(), "{} {} documents a body it does not take", op.method, op.path);
            continue;
        }
        let content =
            request_body["content"].as_object().unwrap_or_else(|| panic!("{} {}: no request body", op.method, op.path));
        assert!(content.contains_key(JSON), "{} {}: {content:?}", op.method, op.path);
        for (media_type, media) in content {
            let schema = resolve(&document, &media["schema"]);
            assert!(schema.is_object(), "{} {} {media_type}: no schema", op.method, op.path);
            let example = media.get("example").or_else(|| media.get("examples")).or_else(|| schema.get("example"));
            assert!(example.is_some(), "{} {} {media_type}: no example", op.method, op.path);
        }
    }
}

#[tokio::test]
async fn the_login_operation_accepts_the_oauth2_form_and_json() {
    let document = document().await;

    let content = &document["paths"]["/api/users/login"]["post"]["requestBody"]["content"];
    let form = resolve(&document, &content["application/x-www-form-urlencoded"]["schema"]);
    let fields = property_names(&document, form);
    for field in ["grant_type", "password", "refresh_token", "username"] {
        assert!(fields.iter().any(|f| f == field), "form lacks {field}: {fields:?}");
    }
    let json = property_names(&document, &content[JSON]["schema"]);
    assert_eq!(json, ["email", "password", "refreshToken"]);
    let token = property_names(
        &document,
        &document["paths"]["/api/users/login"]["post"]["responses"]["200"]["content"][JSON]["schema"],
    );
    assert_eq!(token, ["access_token", "expires_in", "refresh_expires_in", "refresh_token", "token_type"]);
}

#[tokio::test]
async fn the_documented_response_bodies_have_the_contract_shapes() {
    let document = document().await;
    let body_of = |method: &str, path: &str, status: &str| -> Vec<String> {
        let schema = &document["paths"][path][method]["responses"][status]["content"][JSON]["schema"];
        assert!(schema.is_object(), "{method} {path} {status}: no JSON schema");
        property_names(&document, schema)
    };

    assert_eq!(body_of("post", "/api/users", "201"), ["email", "id"]);
    assert_eq!(body_of("put", "/api/users/me", "200"), ["email", "id"]);
    assert_eq!(body_of("get", "/api/users/me", "200"), ["email", "id", "projects"]);
    let project = ["archivedAt", "id", "maximumNumberOfIncompleteTasks", "name"];
    for (method, path, status) in [
        ("post", "/api/projects", "201"),
        ("get", "/api/projects/{id}", "200"),
        ("put", "/api/projects/{id}", "200"),
        ("put", "/api/projects/{id}/archive", "200"),
        ("put", "/api/projects/{id}/unarchive", "200"),
    ] {
        assert_eq!(body_of(method, path, status), project, "{method} {path}");
    }
    assert_eq!(body_of("get", "/api/projects", "200"), ["nextCursor", "projects"]);
    assert_eq!(body_of("get", "/api/projects/{id}/tasks", "200"), ["nextCursor", "tasks"]);
    let task = ["completedAt", "name", "number"];
    for (method, path, status) in [
        ("post", "/api/projects/{id}/tasks", "201"),
        ("get", "/api/projects/{id}/tasks/{number}", "200"),
        ("put", "/api/projects/{id}/tasks/{number}/complete", "200"),
        ("put", "/api/projects/{id}/tasks/{number}/incomplete", "200"),
    ] {
        assert_eq!(body_of(method, path, status), task, "{method} {path}");
    }
    assert!(document["paths"]["/api/projects/{id}"]["delete"]["responses"]["204"]["content"].is_null());
}

#[tokio::test]
async fn every_path_parameter_is_documented_with_its_type() {
    let document = document().await;

    for op in CONTRACT.iter().filter(|op| op.path.contains('{')) {
        let parameters = operation(&document, op)["parameters"].as_array().expect("parameters");
        for name in ["id", "number"].into_iter().filter(|name| op.path.contains(&format!("{{{name}}}"))) {
            let parameter = parameters
                .iter()
                .find(|p| p["name"] == name && p["in"] == "path")
                .unwrap_or_else(|| panic!("{} {}: no path parameter {name}", op.method, op.path));
            assert_eq!(parameter["required"], true);
            // Projects and tasks have positive integers; sessions UUIDs.
            let (kind, format) = if op.path.starts_with("/api/users/me/sessions") {
                ("string", Some("uuid"))
            } else {
                ("integer", None)
            };
            assert_eq!(parameter["schema"]["type"], kind, "{} {} {name}", op.method, op.path);
            if let Some(format) = format {
                assert_eq!(parameter["schema"]["format"], format, "{} {} {name}", op.method, op.path);
            }
        }
    }
}

// --- the API browser -------------------------------------------------------------------

/// The `src` and `href` attributes of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            found.push(rest[..rest.find('"').expect("closing quote")].to_owned());
        }
    }
    found
}

#[tokio::test]
async fn the_docs_page_is_html_whose_scripts_and_styles_taskdeck_serves_itself() {
    let app = TestApp::new().await;

    let page = app.get("/docs/", None).await;

    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.content_type().starts_with("text/html"), "{page:?}");
    let assets: Vec<String> =
        references(&page.text).into_iter().filter(|r| r.ends_with(".js") || r.ends_with(".css")).collect();
    assert!(assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
    for asset in &assets {
        assert!(!asset.contains("//"), "{asset} is not served by taskdeck");
        let path =
            if asset.starts_with('/') { asset.clone() } else { format!("/docs/{}", asset.trim_start_matches("./")) };
        let reply = app.get(&path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(!reply.text.is_empty(), "{path} is empty");
        let expected = if asset.ends_with(".js") { "javascript" } else { "text/css" };
        assert!(reply.content_type().contains(expected), "{path}: {}", reply.content_type());
    }
}

#[tokio::test]
async fn the_docs_browser_loads_taskdecks_own_document() {
    let app = TestApp::new().await;

    let initializer = app.get("/docs/swagger-initializer.js", None).await;

    assert_eq!(initializer.status, StatusCode::OK, "{initializer:?}");
    assert!(initializer.text.contains("\"/openapi.json\""), "{}", initializer.text);
}

#[tokio::test]
async fn docs_without_the_trailing_slash_leads_to_the_browser() {
    let app = TestApp::new().await;

    let reply = app.get("/docs", None).await;

    let page = if reply.status.is_redirection() {
        let location = reply.header(header::LOCATION).to_owned();
        app.get(&location, None).await
    } else {
        reply
    };
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.content_type().starts_with("text/html"), "{page:?}");
    assert!(page.text.contains("swagger-ui"), "{page:?}");
}
