//! The accounts domain: the `User` aggregate, its password rules and its events, and
//! the `Session` aggregate of a signed-in device.

mod events;
mod password;
mod session;
mod user;

pub use events::{AccountEvent, UserEmailChanged};
pub use password::{PasswordHash, PasswordPolicyError, PlainPassword};
pub use session::{PresentedToken, RefreshDigest, RefreshRefusal, Session, SessionId, SessionState, UserAgent};
pub use user::{EmailChange, User};
