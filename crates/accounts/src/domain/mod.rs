//! The accounts domain: the `User` aggregate, its password rules and its events, and
//! the `Session` aggregate of a signed-in device, and the `LoginThrottle` that counts
//! an address's failed logins.

mod events;
mod login_throttle;
mod password;
mod session;
mod user;

pub use events::{AccountEvent, UserEmailChanged};
pub use login_throttle::{Admission, LoginThrottle, LoginThrottleState, MAX_FAILURES, ThrottleKey, Throttled, WINDOW};
pub use password::{PasswordHash, PasswordPolicyError, PlainPassword};
pub use session::{PresentedToken, RefreshDigest, RefreshRefusal, Session, SessionId, SessionState, UserAgent};
pub use user::{EmailChange, User};
