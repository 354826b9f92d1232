//! Handlers of the accounts routes: extract, call the use case, map the outcome.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taskdeck_accounts::application::{
    AccountQueries, AccountsStore, ChangeEmail, change_email as change_email_use_case, log_in as log_in_use_case,
    register_user,
};
use taskdeck_platform_http::{ApiError, ApiJson, CurrentUser, Problem};

use super::AccountsState;
use super::dto::{ChangeEmailRequest, LoginJson, MeResponse, RegisterRequest, TokenResponse, UserResponse};
use super::errors::{change_email_error, login_error, register_error, store_error};
use super::login_form::LoginCredentials;
use super::login_form::LoginForm;

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
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account was created", body = UserResponse,
            headers(("Location" = String, description = "/api/users/me"))),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email address is already registered (in any letter case)", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email or password length", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub(super) async fn register<S>(
    State(state): State<AccountsState<S>>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let command = body.into_command()?;
    let user = register_user(&state.store, &state.hasher, state.clock.as_ref(), command)
        .await
        .map_err(|error| register_error(&error))?;
    let mut response = (StatusCode::CREATED, Json(UserResponse::from(user))).into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/api/users/me"));
    Ok(response)
}

/// Log in and receive an access token.
///
/// Takes an OAuth2 password-grant form (`username` is the email address) or a JSON
/// body. Unknown addresses and wrong passwords get the same answer, in the same time.
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
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "The body is neither a form nor JSON", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, description = "Invalid email or password", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:taskdeck:problem:unauthorized", "title": "Unauthorized", "status": 401,
                "detail": "Invalid email or password"})),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn log_in<S>(
    State(state): State<AccountsState<S>>,
    LoginCredentials(request): LoginCredentials,
) -> Result<Json<TokenResponse>, ApiError>
where
    S: AccountsStore + AccountQueries + Clone,
{
    let token = log_in_use_case(&state.store, &state.hasher, &state.tokens, request)
        .await
        .map_err(|error| login_error(&error))?;
    Ok(Json(TokenResponse::from(token)))
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
    State(state): State<AccountsState<S>>,
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
    State(state): State<AccountsState<S>>,
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
