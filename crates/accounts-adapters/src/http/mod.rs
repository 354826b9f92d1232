//! HTTP routes of the accounts context, under `/api/users`.

mod dto;
mod errors;
mod handlers;
mod login_form;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use taskdeck_accounts::application::{AccountQueries, AccountsStore};
use taskdeck_kernel::{Clock, StoreError, UserId};
use taskdeck_platform::{Authenticator, Idempotency};
use taskdeck_platform_http::{AddressRateLimiter, ApiError, Authenticates, ClientAddress, Shared, endpoint};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use dto::{
    ChangeEmailRequest, ChangePasswordRequest, EraseAccountRequest, JwkSetResponse, LoginJson, MeResponse,
    OwnedProjectResponse, RegisterRequest, SessionListResponse, SessionResponse, TokenResponse, UserResponse,
};
pub use login_form::LoginForm;

use crate::tokens::OpaqueRefreshTokens;
use crate::{Argon2Hasher, JwtTokens};

/// A project as listed on the account page: the only thing accounts needs to know
/// about projects, supplied by the composition root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedProject {
    pub id: i64,
    pub name: String,
}

/// The boxed future of [`OwnedProjects::owned_projects`].
pub type OwnedProjectsFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<OwnedProject>, StoreError>> + Send + 'a>>;

/// Lists a user's live projects for `GET /api/users/me`. Implemented outside this
/// context, so that accounts never depends on projects.
pub trait OwnedProjects: Send + Sync + 'static {
    fn owned_projects(&self, owner: UserId) -> OwnedProjectsFuture<'_>;
}

/// What the accounts routes need.
pub struct AccountsState<S> {
    pub store: S,
    pub hasher: Argon2Hasher,
    pub tokens: JwtTokens,
    pub refresh_tokens: OpaqueRefreshTokens,
    pub authenticator: Authenticator,
    pub clock: Arc<dyn Clock>,
    pub owned_projects: Arc<dyn OwnedProjects>,
    /// Logins and registrations per client address, when limited.
    pub address_limit: Option<Arc<AddressRateLimiter>>,
    /// Claims and replays the `Idempotency-Key` of registrations.
    pub idempotency: Idempotency,
}

impl<S> AccountsState<S> {
    /// Counts a login or registration against the client's address.
    fn admit(&self, ClientAddress(address): ClientAddress) -> Result<(), ApiError> {
        self.address_limit.as_ref().map_or(Ok(()), |limit| limit.check(address))
    }
}

impl<S> std::fmt::Debug for AccountsState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountsState").finish_non_exhaustive()
    }
}

impl<S> Authenticates for AccountsState<S> {
    fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

/// The `/api/users` routes over any accounts store, each with its OpenAPI operation.
pub(crate) fn routes<S>() -> OpenApiRouter<Shared<AccountsState<S>>>
where
    S: AccountsStore + AccountQueries + Clone,
{
    OpenApiRouter::with_openapi(AccountsApi::openapi())
        .routes(endpoint!(handlers::register::<S>))
        .routes(endpoint!(handlers::log_in::<S>))
        .routes(endpoint!(handlers::log_out::<S>))
        .routes(endpoint!(handlers::me::<S>))
        .routes(endpoint!(handlers::change_email::<S>))
        .routes(endpoint!(handlers::erase_account::<S>))
        .routes(endpoint!(handlers::change_password::<S>))
        .routes(endpoint!(handlers::jwks::<S>))
        .routes(endpoint!(handlers::list_sessions::<S>))
        .routes(endpoint!(handlers::end_session::<S>))
}

/// Marks every answer under `/api/users` `Cache-Control: no-store`: they carry tokens,
/// sessions or personal data, which no browser or proxy cache may keep. The JWK set,
/// public and meant to be cached, is left alone.
pub(crate) async fn never_stored(request: Request, next: Next) -> Response {
    let personal = request.uri().path().starts_with("/api/users");
    let mut response = next.run(request).await;
    if personal {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// What the OpenAPI document says of the context beyond its operations.
#[derive(OpenApi)]
#[openapi(tags((
    name = "accounts",
    description = "Registration, login and sessions (refresh tokens that rotate), and the signed-in user's account"
)))]
struct AccountsApi;
