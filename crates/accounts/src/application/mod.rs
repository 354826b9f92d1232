//! Use cases of the accounts context, one module each, and the ports they drive.

pub mod change_email;
pub mod change_password;
pub mod end_session;
pub mod erase_account;
pub mod login;
pub mod ports;
pub mod refresh;
pub mod register;

pub use change_email::{ChangeEmail, ChangeEmailError, change_email};
pub use change_password::{ChangePassword, ChangePasswordError, change_password};
pub use end_session::{EndSessionError, end_session};
pub use erase_account::{EraseAccountError, erase_account};
pub use login::{LoginError, LoginRequest, Refusal, SessionTokens, log_in};
pub use ports::{
    AccessToken, AccountQueries, AccountsStore, AccountsTransaction, Credentials, Grant, HashingError,
    IssuedRefreshToken, PasswordHasher, RefreshTokens, SessionView, TokenError, TokenIssuer, UserProfile,
    UserStoreError,
};
pub use refresh::{InvalidGrant, RefreshError, refresh_session};
pub use register::{RegisterError, RegisterUser, RegisteredUser, register_user};
