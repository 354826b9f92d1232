//! The accounts domain: the `User` aggregate, its password rules and its events.

mod events;
mod password;
mod user;

pub use events::{AccountEvent, UserEmailChanged};
pub use password::{PasswordHash, PasswordPolicyError, PlainPassword};
pub use user::{EmailChange, User};
