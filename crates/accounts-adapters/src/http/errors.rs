//! Maps every error of the accounts use cases to its HTTP answer. No wildcard arms:
//! a new error variant does not compile until it has an answer.

use taskdeck_accounts::application::{
    ChangeEmailError, ChangePasswordError, EndSessionError, EraseAccountError, LoginError, RefreshError, RegisterError,
};
use taskdeck_kernel::StoreError;
use taskdeck_platform_http::{ApiError, FieldError};

const EMAIL_TAKEN: &str = "This email address is already registered";

pub(super) fn store_error(error: &StoreError) -> ApiError {
    match error {
        StoreError::Conflict => ApiError::conflict(
            "concurrent-update",
            "The account was changed by another request at the same time; try again",
        ),
        StoreError::Backend(_) => ApiError::internal(error),
    }
}

pub(super) fn register_error(error: &RegisterError) -> ApiError {
    match error {
        RegisterError::EmailTaken => ApiError::conflict("email-taken", EMAIL_TAKEN),
        RegisterError::Hashing(_) => ApiError::internal(error),
        RegisterError::Store(store) => store_error(store),
    }
}

pub(super) fn login_error(error: &LoginError) -> ApiError {
    match error {
        LoginError::InvalidCredentials => ApiError::unauthorized("Invalid email or password"),
        LoginError::Throttled { retry_after } => {
            tracing::info!(retry_after_seconds = retry_after.as_secs(), "throttled a login: too many failures");
            ApiError::too_many_requests(
                "too-many-failed-logins",
                "Too many failed logins for this email address; try again after the time in Retry-After",
                *retry_after,
            )
        }
        LoginError::Hashing(_) | LoginError::Token(_) => ApiError::internal(error),
        LoginError::Store(store) => store_error(store),
    }
}

pub(super) fn refresh_error(error: &RefreshError) -> ApiError {
    match error {
        RefreshError::InvalidGrant(reason) => {
            tracing::info!(%reason, "refused a refresh token");
            ApiError::invalid_grant()
        }
        RefreshError::Token(_) => ApiError::internal(error),
        RefreshError::Store(store) => store_error(store),
    }
}

pub(super) fn end_session_error(error: &EndSessionError) -> ApiError {
    match error {
        EndSessionError::NotFound => ApiError::not_found("Session not found"),
        EndSessionError::Store(store) => store_error(store),
    }
}

pub(super) fn change_email_error(error: &ChangeEmailError) -> ApiError {
    match error {
        // The token is valid but its account is gone: the token is as good as revoked.
        ChangeEmailError::UserNotFound => ApiError::invalid_token(),
        ChangeEmailError::EmailTaken => ApiError::conflict("email-taken", EMAIL_TAKEN),
        ChangeEmailError::Store(store) => store_error(store),
    }
}

pub(super) fn change_password_error(error: &ChangePasswordError) -> ApiError {
    match error {
        ChangePasswordError::UserNotFound => ApiError::invalid_token(),
        ChangePasswordError::WrongPassword => {
            ApiError::validation(vec![FieldError::new("currentPassword", "does not match the account's password")])
        }
        ChangePasswordError::Hashing(_) => ApiError::internal(error),
        ChangePasswordError::Store(store) => store_error(store),
    }
}

pub(super) fn erase_account_error(error: &EraseAccountError) -> ApiError {
    match error {
        EraseAccountError::UserNotFound => ApiError::invalid_token(),
        EraseAccountError::WrongPassword => {
            ApiError::validation(vec![FieldError::new("password", "does not match the account's password")])
        }
        EraseAccountError::Hashing(_) => ApiError::internal(error),
        EraseAccountError::Store(store) => store_error(store),
    }
}
