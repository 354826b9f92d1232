//! The token endpoint's body: an OAuth2 form (password or refresh-token grant), or
//! JSON; and the `User-Agent` the session list shows.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::Deserialize;
use taskdeck_accounts::application::LoginRequest;
use taskdeck_platform_http::json::{content_type, has_json_content_type, parse_json, read_body};
use taskdeck_platform_http::{ApiError, FieldError};
use utoipa::ToSchema;

use super::dto::LoginJson;

/// The token endpoint with an OAuth2 form (`application/x-www-form-urlencoded`):
/// `grant_type=password` (the default) with `username` and `password`, or
/// `grant_type=refresh_token` with `refresh_token` (RFC 6749 §4.3 and §6).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginForm {
    /// The account's email address (password grant).
    pub username: Option<String>,
    /// Password grant.
    pub password: Option<String>,
    /// `password` (the default) or `refresh_token`.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// Refresh-token grant.
    pub refresh_token: Option<String>,
}

/// What the client asks the token endpoint for.
#[derive(Debug)]
pub(super) enum TokenRequest {
    Password(LoginRequest),
    Refresh(String),
}

impl<S: Send + Sync> FromRequest<S> for TokenRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = has_json_content_type(&request);
        let media_type = content_type(&request);
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let bytes = read_body(request, state).await?;
        match media_type.as_deref() {
            _ if is_json => {
                let json: LoginJson = parse_json(&bytes)?;
                match json.refresh_token {
                    Some(token) => Ok(Self::Refresh(token)),
                    None => password_grant(json.email, json.password, "email", user_agent),
                }
            }
            Some("application/x-www-form-urlencoded") => {
                let form: LoginForm = serde_urlencoded::from_bytes(&bytes)
                    .map_err(|error| ApiError::validation(vec![FieldError::new("body", error.to_string())]))?;
                match form.grant_type.as_deref() {
                    None | Some("password") => password_grant(form.username, form.password, "username", user_agent),
                    Some("refresh_token") => {
                        form.refresh_token.map(Self::Refresh).ok_or_else(|| missing("refresh_token"))
                    }
                    Some(_) => Err(ApiError::validation(vec![FieldError::new(
                        "grant_type",
                        "only the password and refresh_token grants are supported",
                    )])),
                }
            }
            Some(_) | None => {
                Err(ApiError::bad_request("Expected an application/x-www-form-urlencoded or application/json body"))
            }
        }
    }
}

fn missing(field: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, format!("missing field `{field}`"))])
}

fn password_grant(
    email: Option<String>,
    password: Option<String>,
    email_field: &str,
    user_agent: Option<String>,
) -> Result<TokenRequest, ApiError> {
    match (email, password) {
        (Some(email), Some(password)) => Ok(TokenRequest::Password(LoginRequest { email, password, user_agent })),
        (None, _) => Err(missing(email_field)),
        (Some(_), None) => Err(missing("password")),
    }
}
