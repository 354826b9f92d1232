//! Handlers of the accounts routes: extract, call the use case, map the outcome.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, ChangeEmail, ChangePassword, EndSessionError, RegisteredUser, SessionTokens,
    change_email as change_email_use_case, change_password as change_password_use_case,
    end_session as end_session_use_case, erase_account as erase_account_use_case, log_in as log_in_use_case,
    refresh_session, register_user,
};
use taskdeck_accounts::domain::{SessionId, ThrottleKey};
use taskdeck_kernel::Receipt;
use taskdeck_platform_http::{
    ApiError, ApiJson, ApiJsonWithBytes, ClientAddress, Creation, CurrentSession, CurrentUser, IdempotencyKeyHeader,
    Problem, Shared, answer_response, begin_creation, created_answer, settle,
};

use super::AccountsState;
use super::dto::{
    ChangeEmailRequest, ChangePasswordRequest, EraseAccountRequest, JwkSetResponse, LoginJson, MeResponse,
    RegisterRequest, SessionListResponse, TokenResponse, UserResponse,
};
use super::errors::{
    RefusedLogin, change_email_error, change_password_error, end_session_error, erase_account_error, login_error,
    refresh_error, register_error, store_error,
};
use super::login_form::{LoginForm, TokenRequest};

/// Register an account.
///
/// Creates the account and answers at once; the user's starter project ("My first
/// project" with three tasks) is created by the projects context in reaction, usually
/// within milliseconds and always exactly once.
#[utoipa::path(
    post,
    path = "/api/users",
    tag = "accounts",
    operation_id = "registerUser",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters chosen \
            by the client (a UUID, say). Repeating the request with the same key and the same body within 24 hours \
            answers the first 201 again (status, body, Location and ETag, plus `Idempotent-Replayed: true`) and \
            creates nothing; only created resources are recorded, so a refused request may be retried with its key")),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account was created", body = UserResponse,
            headers(("Location" = String, description = "/api/users/me"))),
        (status = 400, description = "The body is not JSON; an invalid Idempotency-Key \
            (`invalid-idempotency-key`); or a trusted proxy's `X-Forwarded-For` names no \
            address where the client's should be (`malformed-forwarded-for`)", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "The email address is already registered (in any letter case or \
            Unicode form: compared after NFKC and case folding); or a \
            request with the same Idempotency-Key is still running (`idempotency-key-in-use`)", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email or password length; or the Idempotency-Key was used for \
            another request in the last 24 hours (`idempotency-key-reused`)", body = Problem,
            content_type = "application/problem+json"),
        (status = 429, description = "Too many logins and registrations from this client address (`rate-limited`; \
            only when the server sets a login rate)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt")),
            example = json!({"type": "urn:taskdeck:problem:rate-limited", "title": "Too Many Requests", "status": 429,
                "detail": "Too many logins and registrations from this address; try again after the time in Retry-After"})),
        (status = 503, description = "Too many passwords are being checked right now \
            (`password-hashing-overloaded`): nothing was done; try again after Retry-After", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt"))),
    )
)]
pub(super) async fn register<S>(
    State(state): State<Shared<AccountsState<S>>>,
    client: ClientAddress,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJsonWithBytes(body, bytes): ApiJsonWithBytes<RegisterRequest>,
) -> Result<Response, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    state.admit(client)?;
    let command = body.into_command()?;
    // Nobody is signed in yet: registrations share one caller, and only the same
    // body (password included) replays.
    let claim = match begin_creation(&state.idempotency, ANONYMOUS, key, "POST", "/api/users", &bytes).await? {
        Creation::Replay(answer) => return Ok(answer),
        Creation::Proceed(claim) => claim,
    };
    let render =
        |user: &RegisteredUser| created_answer("/api/users/me".to_owned(), None, &UserResponse::from(user.clone()));
    let receipt = claim.as_ref().map(|held| Receipt { claim: held.claim(), render: &render });
    let registered = register_user(&state.store, &state.hasher, state.clock.as_ref(), command, receipt).await;
    let user = settle(claim, registered).await.map_err(|error| register_error(&error))?;
    Ok(answer_response(&render(&user)))
}

/// The caller of requests made before signing in.
const ANONYMOUS: &str = "anonymous";

/// Log in, or refresh: receive an access token and a refresh token.
///
/// The token endpoint of OAuth2's password grant (`username` is the email address) and
/// refresh-token grant. A login opens a session (see the session list); a refresh
/// answers new tokens of the same session and spends the presented refresh token:
/// presenting a spent one again is taken for theft and ends the whole session.
/// Unknown addresses and wrong passwords get the same answer, in the same time. JSON
/// bodies are accepted too: `{"email", "password"}` or `{"refreshToken"}`.
#[utoipa::path(
    post,
    path = "/api/users/login",
    tag = "accounts",
    operation_id = "logIn",
    request_body(content(
        (LoginForm = "application/x-www-form-urlencoded",
            example = json!({"username": "test@email.com", "password": "password", "grant_type": "password"})),
        (LoginJson = "application/json", example = json!({"email": "test@email.com", "password": "password"}))
    )),
    responses(
        (status = 200, description = "An access token and the session's refresh token", body = TokenResponse),
        (status = 400, description = "The body is neither a form nor JSON; or a trusted proxy's \
            `X-Forwarded-For` names no address where the client's should be (`malformed-forwarded-for`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid email or password; or, for a refresh, a refresh token that is \
            wrong, expired, already used (the session is then revoked) or of a revoked session (`error` is \
            `invalid_grant`)", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:taskdeck:problem:unauthorized", "title": "Unauthorized", "status": 401,
                "detail": "Invalid email or password"})),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, or the grant type is not supported", body = Problem,
            content_type = "application/problem+json"),
        (status = 429, description = "Throttled. `too-many-failed-logins`: this email address had 5 failed logins \
            within 15 minutes, so every login for it waits (the right password too) until the window, which began \
            at the first of them, has passed; an address without an account is treated the same. `rate-limited`: \
            too many logins, refreshes and registrations from this client address (only when the server sets a \
            login rate)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt")),
            example = json!({"type": "urn:taskdeck:problem:too-many-failed-logins", "title": "Too Many Requests",
                "status": 429, "detail": "Too many failed logins for this email address; try again after the time \
                in Retry-After"})),
        (status = 503, description = "Too many passwords are being checked right now \
            (`password-hashing-overloaded`): nothing was done; try again after Retry-After", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt"))),
    )
)]
pub(super) async fn log_in<S>(
    State(state): State<Shared<AccountsState<S>>>,
    client: ClientAddress,
    request: TokenRequest,
) -> Result<Json<TokenResponse>, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    state.admit(client)?;
    let tokens = SessionTokens { access: &state.tokens, refresh: &state.refresh_tokens };
    let grant = match request {
        TokenRequest::Password(request) => {
            let address = ThrottleKey::for_login(&request.email);
            log_in_use_case(&state.store, &state.hasher, tokens, state.clock.as_ref(), request).await.map_err(
                |error| {
                    if let Some(refused) = RefusedLogin::of(&error, client.0, &address) {
                        refused.log();
                    }
                    login_error(&error)
                },
            )?
        }
        TokenRequest::Refresh(presented) => refresh_session(&state.store, tokens, state.clock.as_ref(), &presented)
            .await
            .map_err(|error| refresh_error(&error))?,
    };
    Ok(Json(TokenResponse::from(grant)))
}

/// Log out: end the session of the presented access token.
///
/// Its refresh token and every access token it issued are refused from then on, at
/// once on this instance and within a second or two on every other.
#[utoipa::path(
    post,
    path = "/api/users/logout",
    tag = "accounts",
    operation_id = "logOut",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub(super) async fn log_out<S>(
    State(state): State<Shared<AccountsState<S>>>,
    current: CurrentSession,
) -> Result<StatusCode, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let session = SessionId::from_uuid(current.session);
    match end_session_use_case(&state.store, state.clock.as_ref(), current.user, session).await {
        Ok(()) => {
            state.authenticator.forget(current.session);
            Ok(StatusCode::NO_CONTENT)
        }
        // Revoked between the token check and now: the token is as good as revoked.
        Err(EndSessionError::NotFound) => Err(ApiError::invalid_token()),
        Err(error) => Err(end_session_error(&error)),
    }
}

/// The signed-in user's sessions.
///
/// Every session that is neither ended nor past its refresh token's expiry, newest
/// first; `current` marks the one the request's token belongs to.
#[utoipa::path(
    get,
    path = "/api/users/me/sessions",
    tag = "accounts",
    operation_id = "listSessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The live sessions, newest first", body = SessionListResponse),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub(super) async fn list_sessions<S>(
    State(state): State<Shared<AccountsState<S>>>,
    current: CurrentSession,
) -> Result<Json<SessionListResponse>, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let sessions =
        state.store.sessions_of(current.user, state.clock.now()).await.map_err(|error| store_error(&error))?;
    Ok(Json(SessionListResponse::new(sessions, current.session)))
}

/// End one of the signed-in user's sessions (another device, or this one: a logout).
#[utoipa::path(
    delete,
    path = "/api/users/me/sessions/{id}",
    tag = "accounts",
    operation_id = "endSession",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "Not one of the user's live sessions (or not a session id at all)", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub(super) async fn end_session<S>(
    State(state): State<Shared<AccountsState<S>>>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let session: SessionId = id.parse().map_err(|_| ApiError::not_found("Session not found"))?;
    end_session_use_case(&state.store, state.clock.as_ref(), current.user, session)
        .await
        .map_err(|error| end_session_error(&error))?;
    state.authenticator.forget(session.as_uuid());
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user and their projects.
#[utoipa::path(
    get,
    path = "/api/users/me",
    tag = "accounts",
    operation_id = "getMe",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account with its projects (not deleted, by id)", body = MeResponse),
        (status = 401, description = "Missing, malformed or expired token", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub(super) async fn me<S>(
    State(state): State<Shared<AccountsState<S>>>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<MeResponse>, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let profile =
        state.store.profile(user).await.map_err(|error| store_error(&error))?.ok_or_else(ApiError::invalid_token)?;
    let projects = state.owned_projects.owned_projects(user).await.map_err(|error| store_error(&error))?;
    Ok(Json(MeResponse::new(profile, projects)))
}

/// Change the signed-in user's email address.
///
/// The same address (exactly) changes nothing; the same address in other letter case
/// updates its spelling.
#[utoipa::path(
    put,
    path = "/api/users/me",
    tag = "accounts",
    operation_id = "changeEmail",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 200, description = "The account with its new address", body = UserResponse),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "Another account has this address", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn change_email<S>(
    State(state): State<Shared<AccountsState<S>>>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ChangeEmailRequest>,
) -> Result<Json<UserResponse>, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let command = ChangeEmail { user_id: user, email: body.email()? };
    let changed = change_email_use_case(&state.store, state.clock.as_ref(), command)
        .await
        .map_err(|error| change_email_error(&error))?;
    Ok(Json(UserResponse::from(changed)))
}

/// Change the signed-in user's password.
///
/// Needs the current password. Every other session of the user ends (other devices
/// must sign in again); the session that asks stays signed in.
#[utoipa::path(
    put,
    path = "/api/users/me/password",
    tag = "accounts",
    operation_id = "changePassword",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "The password is changed and the other sessions ended"),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`currentPassword` is wrong, or `newPassword` breaks the policy (8 to 128 \
            characters)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords are being checked right now \
            (`password-hashing-overloaded`): nothing was done; try again after Retry-After", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt"))),
    )
)]
pub(super) async fn change_password<S>(
    State(state): State<Shared<AccountsState<S>>>,
    current: CurrentSession,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let (current_password, new_password) = body.new_password()?;
    let command = ChangePassword {
        user: current.user,
        session: SessionId::from_uuid(current.session),
        current_password,
        new_password,
    };
    let ended = change_password_use_case(&state.store, &state.hasher, state.clock.as_ref(), command)
        .await
        .map_err(|error| change_password_error(&error))?;
    for session in ended {
        state.authenticator.forget(session.as_uuid());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Erase the signed-in user's account.
///
/// Needs the password. The account is erased at once and every session of it ends;
/// its projects and tasks are erased by the projects context in reaction, usually
/// within milliseconds and always exactly once. The address can be registered again.
#[utoipa::path(
    delete,
    path = "/api/users/me",
    tag = "accounts",
    operation_id = "eraseAccount",
    security(("bearer" = [])),
    request_body = EraseAccountRequest,
    responses(
        (status = 204, description = "The account is erased"),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed, expired or revoked token", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password is wrong (`errors[].field` is `password`)", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords are being checked right now \
            (`password-hashing-overloaded`): nothing was done; try again after Retry-After", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt"))),
    )
)]
pub(super) async fn erase_account<S>(
    State(state): State<Shared<AccountsState<S>>>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<EraseAccountRequest>,
) -> Result<StatusCode, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let ended = erase_account_use_case(&state.store, &state.hasher, state.clock.as_ref(), user, body.password)
        .await
        .map_err(|error| erase_account_error(&error))?;
    for session in ended {
        state.authenticator.forget(session.as_uuid());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys that verify access tokens.
///
/// A JWK set (RFC 7517) of Ed25519 keys (`kty` `OKP`, `alg` `EdDSA`): another service
/// can verify taskdeck's tokens with nothing else. A rotation adds a key at once; the
/// key it replaced stays until the last token it signed has expired. Empty when the
/// server signs HS256 with a configured secret.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "accounts",
    operation_id = "jwks",
    responses((status = 200, description = "The keys that verify access tokens now", body = JwkSetResponse)),
)]
pub(super) async fn jwks<S>(State(state): State<Shared<AccountsState<S>>>) -> Json<JwkSetResponse>
where
    S: AccountsStore + AccountQueries + Clone,
{
    Json(JwkSetResponse { keys: state.tokens.jwks() })
}
