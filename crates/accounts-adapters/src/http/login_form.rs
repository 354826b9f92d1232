//! The login body: an OAuth2 password-grant form, or JSON.

use axum::extract::{FromRequest, Request};
use serde::Deserialize;
use taskdeck_accounts::application::LoginRequest;
use taskdeck_platform_http::json::{content_type, has_json_content_type, parse_json, read_body};
use taskdeck_platform_http::{ApiError, FieldError};
use utoipa::ToSchema;

use super::dto::LoginJson;

/// Login with an OAuth2 password-grant form (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginForm {
    /// The account's email address.
    pub username: String,
    pub password: String,
    /// Optional; when given it must be `password`.
    #[serde(default)]
    pub grant_type: Option<String>,
}

/// Credentials from either body format.
#[derive(Debug)]
pub(super) struct LoginCredentials(pub LoginRequest);

impl<S: Send + Sync> FromRequest<S> for LoginCredentials {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = has_json_content_type(&request);
        let media_type = content_type(&request);
        let bytes = read_body(request, state).await?;
        match media_type.as_deref() {
            _ if is_json => {
                let json: LoginJson = parse_json(&bytes)?;
                Ok(Self(LoginRequest { email: json.email, password: json.password }))
            }
            Some("application/x-www-form-urlencoded") => {
                let form: LoginForm = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
                    let message = error.to_string();
                    let field = message
                        .strip_prefix("missing field `")
                        .and_then(|rest| rest.split('`').next())
                        .unwrap_or("body")
                        .to_owned();
                    ApiError::validation(vec![FieldError::new(field, message)])
                })?;
                if let Some(grant) = form.grant_type.as_deref()
                    && grant != "password"
                {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "grant_type",
                        "only the password grant is supported",
                    )]));
                }
                Ok(Self(LoginRequest { email: form.username, password: form.password }))
            }
            Some(_) | None => {
                Err(ApiError::bad_request("Expected an application/x-www-form-urlencoded or application/json body"))
            }
        }
    }
}
