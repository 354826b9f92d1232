//! Request and response bodies of the accounts routes, and their conversion into
//! commands (where values are validated, once).

use serde::{Deserialize, Serialize};
use taskdeck_accounts::application::{Grant, RegisterUser, RegisteredUser, SessionView, UserProfile};
use taskdeck_accounts::domain::PlainPassword;
use taskdeck_kernel::EmailAddress;
use taskdeck_platform_http::{ApiError, FieldError};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::OwnedProject;

/// `POST /api/users`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"email": "bob@example.com", "password": "correct horse battery"}))]
pub struct RegisterRequest {
    /// Trimmed; one `@`, a non-empty local part, a domain with a dot, at most 254
    /// characters, no spaces, control or format characters (zero-width,
    /// bidirectional overrides); the rules hold both as typed and after NFKC
    /// normalisation (a fullwidth `＠` is a second `@`). Kept as typed, compared after
    /// NFKC and Unicode case folding: `Bob@Example.com`, `bob@example.com` and
    /// `ｂｏｂ@example.com` are one address, as are `josé` composed and decomposed, and
    /// `straße` and `STRASSE`.
    pub email: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

impl RegisterRequest {
    pub(super) fn into_command(self) -> Result<RegisterUser, ApiError> {
        let email = EmailAddress::parse(&self.email);
        let password = PlainPassword::new(self.password);
        match (email, password) {
            (Ok(email), Ok(password)) => Ok(RegisterUser { email, password }),
            (email, password) => {
                let mut errors = Vec::new();
                if let Err(error) = email {
                    errors.push(FieldError::new("email", error));
                }
                if let Err(error) = password {
                    errors.push(FieldError::new("password", error));
                }
                Err(ApiError::validation(errors))
            }
        }
    }
}

/// `PUT /api/users/me`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"email": "robert@example.com"}))]
pub struct ChangeEmailRequest {
    /// The rules of registration. The same address in another spelling (case, Unicode
    /// form) changes how it is shown and nothing else.
    pub email: String,
}

impl ChangeEmailRequest {
    pub(super) fn email(&self) -> Result<EmailAddress, ApiError> {
        EmailAddress::parse(&self.email).map_err(|error| ApiError::validation(vec![FieldError::new("email", error)]))
    }
}

/// `PUT /api/users/me/password`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"currentPassword": "correct horse battery", "newPassword": "staple battery horse"}))]
pub struct ChangePasswordRequest {
    /// The password the account has now.
    pub current_password: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

impl ChangePasswordRequest {
    pub(super) fn new_password(self) -> Result<(String, PlainPassword), ApiError> {
        let new = PlainPassword::new(self.new_password)
            .map_err(|error| ApiError::validation(vec![FieldError::new("newPassword", error)]))?;
        Ok((self.current_password, new))
    }
}

/// `DELETE /api/users/me`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"password": "correct horse battery"}))]
pub struct EraseAccountRequest {
    /// The account's password, to confirm.
    pub password: String,
}

/// Login with a JSON body: `email` and `password`, or `refreshToken` to refresh.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"email": "test@email.com", "password": "password"}))]
pub struct LoginJson {
    /// The account's email address (`username` is accepted too, as in the form), in
    /// any spelling: compared after NFKC and Unicode case folding.
    #[serde(alias = "username")]
    pub email: Option<String>,
    pub password: Option<String>,
    /// A refresh token from an earlier answer: trades it for new tokens instead.
    pub refresh_token: Option<String>,
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "0b7e4c5e-7f5a-4c8e-9d35-3f1f4b0c6a1d", "email": "bob@example.com"}))]
pub struct UserResponse {
    pub id: Uuid,
    /// The address as it was typed at registration or at the last change.
    pub email: String,
}

impl From<RegisteredUser> for UserResponse {
    fn from(user: RegisteredUser) -> Self {
        Self { id: user.id.as_uuid(), email: user.email.as_str().to_owned() }
    }
}

/// An OAuth2 token response (snake_case, as OAuth2 clients expect).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
    "token_type": "bearer",
    "expires_in": 900,
    "refresh_token": "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "refresh_expires_in": 2_592_000
}))]
pub struct TokenResponse {
    /// A bearer token for the API, naming the session (`sid`).
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Trades for new tokens at the token endpoint, once: every refresh answers a new
    /// one, and presenting a spent one again ends the session.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

impl From<Grant> for TokenResponse {
    fn from(grant: Grant) -> Self {
        Self {
            access_token: grant.access.token,
            token_type: "bearer",
            expires_in: grant.access.expires_in_seconds,
            refresh_token: grant.refresh_token,
            refresh_expires_in: grant.refresh_expires_in_seconds,
        }
    }
}

/// The public keys that verify taskdeck's access tokens (RFC 7517): Ed25519 keys for
/// the JWS algorithm `EdDSA`, each named by the `kid` its tokens carry. Empty when the
/// tokens are HS256 with a configured secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSetResponse {
    pub keys: Vec<taskdeck_platform::auth::Jwk>,
}

/// A session: one signed-in device of the user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": "5d3c8f1e-2a4b-4c6d-8e9f-0a1b2c3d4e5f",
    "createdAt": "2026-12-02T10:00:00Z",
    "lastUsedAt": "2026-12-02T10:14:59Z",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
    "current": true
}))]
pub struct SessionResponse {
    /// The `sid` claim of the session's access tokens.
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last login or refresh.
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    /// The first 256 characters of the `User-Agent` of the login that opened it.
    pub user_agent: Option<String>,
    /// Whether the request's own token belongs to this session.
    pub current: bool,
}

/// The signed-in user's live sessions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionListResponse {
    pub sessions: Vec<SessionResponse>,
}

impl SessionListResponse {
    pub(super) fn new(sessions: Vec<SessionView>, current: Uuid) -> Self {
        Self {
            sessions: sessions
                .into_iter()
                .map(|session| SessionResponse {
                    id: session.id.as_uuid(),
                    created_at: session.created_at,
                    last_used_at: session.last_used_at,
                    user_agent: session.user_agent.map(|agent| agent.as_str().to_owned()),
                    current: session.id.as_uuid() == current,
                })
                .collect(),
        }
    }
}

/// A project of the signed-in user, as listed on the account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnedProjectResponse {
    pub id: i64,
    pub name: String,
}

/// The signed-in user with their projects (not deleted, ordered by id).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": "0b7e4c5e-7f5a-4c8e-9d35-3f1f4b0c6a1d",
    "email": "bob@example.com",
    "projects": [{"id": 1, "name": "My first project"}]
}))]
pub struct MeResponse {
    pub id: Uuid,
    pub email: String,
    pub projects: Vec<OwnedProjectResponse>,
}

impl MeResponse {
    pub(super) fn new(profile: UserProfile, projects: Vec<OwnedProject>) -> Self {
        Self {
            id: profile.id.as_uuid(),
            email: profile.email,
            projects: projects
                .into_iter()
                .map(|project| OwnedProjectResponse { id: project.id, name: project.name })
                .collect(),
        }
    }
}
