//! Maps every error of the accounts use cases to its HTTP answer. No wildcard arms:
//! a new error variant does not compile until it has an answer.

use std::net::IpAddr;
use std::time::Duration;

use taskdeck_accounts::application::{
    ChangeEmailError, ChangePasswordError, EndSessionError, EraseAccountError, HashingError, LoginError, RefreshError,
    Refusal, RegisterError,
};
use taskdeck_accounts::domain::ThrottleKey;
use taskdeck_kernel::{StoreError, UserId};
use taskdeck_platform::metrics::THROTTLED;
use taskdeck_platform_http::{ApiError, FieldError};

const EMAIL_TAKEN: &str = "This email address is already registered";

/// How long a client turned away by a full hashing queue is asked to wait: a full
/// queue holds about a second and a half of hashing.
const HASHING_RETRY_AFTER: Duration = Duration::from_secs(2);

/// A password that could not be hashed or checked: 503 when the hasher sheds the work
/// (no fault: the client should come back), 500 when the scheme failed.
fn hashing_error(error: &HashingError, whole: &dyn std::error::Error) -> ApiError {
    match error {
        HashingError::Overloaded => {
            tracing::info!("shed a request: the password hashing queue is full");
            ApiError::overloaded(
                "password-hashing-overloaded",
                "Too many passwords are being checked right now; try again after the time in Retry-After",
                HASHING_RETRY_AFTER,
            )
        }
        HashingError::Failed(_) => ApiError::internal(whole),
    }
}

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
        RegisterError::Hashing(hashing) => hashing_error(hashing, error),
        RegisterError::Store(store) => store_error(store),
    }
}

pub(super) fn login_error(error: &LoginError) -> ApiError {
    match error {
        LoginError::InvalidCredentials(_) => ApiError::unauthorized("Invalid email or password"),
        LoginError::Throttled { retry_after } => {
            metrics::counter!(THROTTLED, "reason" => "account").increment(1);
            ApiError::too_many_requests(
                "too-many-failed-logins",
                "Too many failed logins for this email address; try again after the time in Retry-After",
                *retry_after,
            )
        }
        LoginError::Hashing(hashing) => hashing_error(hashing, error),
        LoginError::Token(_) => ApiError::internal(error),
        LoginError::Store(store) => store_error(store),
    }
}

/// What the log says of a login refused for its credentials or its throttle. Never
/// the password; nor the email address, which is personal data and, typed wrong,
/// sometimes someone's password: the address is named by its throttle key's
/// fingerprint instead (the same key the stored throttle has, so the attempts on one
/// address can be told apart and matched to their throttle), and the account by its
/// id when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RefusedLogin {
    reason: &'static str,
    client: IpAddr,
    address: String,
    account: Option<UserId>,
    retry_after: Option<Duration>,
}

impl RefusedLogin {
    /// The entry for `error`, if it refuses the login (faults are logged as such).
    pub(super) fn of(error: &LoginError, client: IpAddr, address: &ThrottleKey) -> Option<Self> {
        let (reason, account, retry_after) = match error {
            LoginError::InvalidCredentials(Refusal::UnknownAccount) => ("unknown account", None, None),
            LoginError::InvalidCredentials(Refusal::WrongPassword { account }) => {
                ("wrong password", Some(*account), None)
            }
            LoginError::Throttled { retry_after } => ("throttled", None, Some(*retry_after)),
            LoginError::Hashing(_) | LoginError::Token(_) | LoginError::Store(_) => return None,
        };
        Some(Self { reason, client, address: address.fingerprint(), account, retry_after })
    }

    pub(super) fn log(&self) {
        let account = self.account.map(|account| account.to_string());
        match self.retry_after {
            Some(retry_after) => tracing::info!(
                reason = self.reason,
                client = %self.client,
                address = %self.address,
                retry_after_seconds = retry_after.as_secs(),
                "throttled a login: too many failures for this address"
            ),
            None => tracing::info!(
                reason = self.reason,
                client = %self.client,
                address = %self.address,
                account = account.as_deref(),
                "refused a login"
            ),
        }
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
        ChangePasswordError::Hashing(hashing) => hashing_error(hashing, error),
        ChangePasswordError::Store(store) => store_error(store),
    }
}

pub(super) fn erase_account_error(error: &EraseAccountError) -> ApiError {
    match error {
        EraseAccountError::UserNotFound => ApiError::invalid_token(),
        EraseAccountError::WrongPassword => {
            ApiError::validation(vec![FieldError::new("password", "does not match the account's password")])
        }
        EraseAccountError::Hashing(hashing) => hashing_error(hashing, error),
        EraseAccountError::Store(store) => store_error(store),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

    fn assert_overloaded(answer: ApiError) {
        assert_eq!(answer.problem().problem_type, "urn:taskdeck:problem:password-hashing-overloaded");
        let response = answer.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    }

    #[test]
    fn every_use_case_that_hashes_answers_a_full_queue_with_503_and_retry_after() {
        assert_overloaded(login_error(&LoginError::Hashing(HashingError::Overloaded)));
        assert_overloaded(register_error(&RegisterError::Hashing(HashingError::Overloaded)));
        assert_overloaded(change_password_error(&ChangePasswordError::Hashing(HashingError::Overloaded)));
        assert_overloaded(erase_account_error(&EraseAccountError::Hashing(HashingError::Overloaded)));
    }

    #[test]
    fn a_hashing_failure_is_still_a_fault() {
        let failed = || HashingError::Failed("unreadable stored hash".to_owned());
        assert_eq!(login_error(&LoginError::Hashing(failed())).problem().status, 500);
        assert_eq!(register_error(&RegisterError::Hashing(failed())).problem().status, 500);
        assert_eq!(change_password_error(&ChangePasswordError::Hashing(failed())).problem().status, 500);
        assert_eq!(erase_account_error(&EraseAccountError::Hashing(failed())).problem().status, 500);
    }

    #[test]
    fn a_refused_login_is_logged_with_its_reason_and_client_but_not_the_address() {
        let key = ThrottleKey::for_login("bob@example.com");
        let account = UserId::generate();
        let wrong = RefusedLogin::of(&LoginError::InvalidCredentials(Refusal::WrongPassword { account }), CLIENT, &key)
            .unwrap();
        assert_eq!(
            wrong,
            RefusedLogin {
                reason: "wrong password",
                client: CLIENT,
                address: key.fingerprint(),
                account: Some(account),
                retry_after: None
            }
        );
        let unknown = RefusedLogin::of(&LoginError::InvalidCredentials(Refusal::UnknownAccount), CLIENT, &key).unwrap();
        assert_eq!((unknown.reason, unknown.account), ("unknown account", None));
        let throttled =
            RefusedLogin::of(&LoginError::Throttled { retry_after: Duration::from_secs(60) }, CLIENT, &key).unwrap();
        assert_eq!((throttled.reason, throttled.retry_after), ("throttled", Some(Duration::from_secs(60))));
        assert!(!format!("{wrong:?}{unknown:?}{throttled:?}").contains("bob"), "the address is not named");
        assert_eq!(RefusedLogin::of(&LoginError::Hashing(HashingError::Overloaded), CLIENT, &key), None);
    }
}
