//! Use cases of the accounts context, one module each, and the ports they drive.

pub mod change_email;
pub mod login;
pub mod ports;
pub mod register;

pub use change_email::{ChangeEmail, ChangeEmailError, change_email};
pub use login::{LoginError, LoginRequest, log_in};
pub use ports::{
    AccessToken, AccountQueries, AccountsStore, AccountsTransaction, Credentials, HashingError, PasswordHasher,
    TokenError, TokenIssuer, UserProfile, UserStoreError,
};
pub use register::{RegisterError, RegisterUser, RegisteredUser, register_user};
