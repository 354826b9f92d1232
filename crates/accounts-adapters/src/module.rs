//! The accounts context as the binary composes it: [`Accounts`] carries the context's
//! migrations, routes and handlers for any backend it has adapters for.

use std::sync::Arc;
use std::time::Duration;

use taskdeck_accounts::application::{AccountQueries, AccountsStore};
use taskdeck_kernel::StoreError;
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform::{Backend, BoxFuture, ContextModule, Migration, MountError, Mounted, Platform};
use taskdeck_platform_http::{AddressRate, AddressRateLimiter, Shared};

use crate::http::{self, AccountsState, OwnedProjects};
use crate::tokens::OpaqueRefreshTokens;
use crate::{Argon2Hasher, EmailKeyRewrite, JwtTokens};

/// A backend the accounts context can store its users in.
pub trait AccountsBackend: Backend {
    type Store: AccountsStore + AccountQueries + Clone;

    /// The migrations of the accounts tables on this backend.
    const MIGRATIONS: &'static [Migration];

    /// The repository and read model, writing events through `outbox`.
    fn accounts_store(&self, outbox: &OutboxWriter) -> Self::Store;

    /// Rewrites every stored email key into its address's canonical form if a
    /// migration asked for it, in one transaction that takes the request away
    /// (`crate::email_keys`); an instance starting meanwhile waits for it and finds
    /// nothing left to do.
    ///
    /// # Errors
    /// `StoreError::Backend` when the database fails; nothing is rewritten then.
    fn rewrite_email_keys(&self) -> impl Future<Output = Result<EmailKeyRewrite, StoreError>> + Send;
}

/// Supplies the account page's project list from outside this context (accounts never
/// depends on projects): the composition root passes a function that builds it.
pub type OwnedProjectsFactory<B> = fn(&B, &Platform) -> Arc<dyn OwnedProjects>;

/// The accounts context: registration, login, the signed-in user's account.
pub struct Accounts<B> {
    owned_projects: OwnedProjectsFactory<B>,
    hashing_threads: usize,
    /// Hashes that may wait for a thread; `None`: the hasher's default for its threads.
    hashing_queue: Option<usize>,
    refresh_token_lifetime: Duration,
    address_rate: Option<AddressRate>,
}

impl<B> std::fmt::Debug for Accounts<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("hashing_threads", &self.hashing_threads)
            .field("hashing_queue", &self.hashing_queue)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("address_rate", &self.address_rate)
            .finish_non_exhaustive()
    }
}

impl<B> Accounts<B> {
    /// The context, listing each user's projects with what `owned_projects` builds,
    /// hashing passwords on one thread per core, issuing refresh tokens valid for
    /// `refresh_token_lifetime`.
    #[must_use]
    pub fn new(owned_projects: OwnedProjectsFactory<B>, refresh_token_lifetime: Duration) -> Self {
        Self {
            owned_projects,
            hashing_threads: Argon2Hasher::default_threads(),
            hashing_queue: None,
            refresh_token_lifetime,
            address_rate: None,
        }
    }

    /// Limits logins and registrations together to `rate` per client address
    /// (`None`: no limit per address; failed logins per account are limited anyway).
    #[must_use]
    pub fn with_address_rate(mut self, rate: Option<AddressRate>) -> Self {
        self.address_rate = rate;
        self
    }

    /// Lets at most `queue` password hashes wait for a hashing thread; beyond that the
    /// requests that hash answer 503 (`None`: [`crate::hasher::QUEUED_HASHES_PER_THREAD`]
    /// per thread).
    #[must_use]
    pub fn with_hashing_queue(mut self, queue: Option<usize>) -> Self {
        self.hashing_queue = queue;
        self
    }
}

impl<B: AccountsBackend> ContextModule<B> for Accounts<B> {
    fn name(&self) -> &'static str {
        "accounts"
    }

    fn migrations(&self) -> &'static [Migration] {
        B::MIGRATIONS
    }

    fn migrate_data<'a>(&'a self, backend: &'a B) -> BoxFuture<'a, Result<(), MountError>> {
        Box::pin(async move {
            backend.rewrite_email_keys().await?.log();
            Ok(())
        })
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        http::routes::<B::Store>().split_for_parts().1
    }

    fn mount(&self, backend: &B, platform: &Platform) -> Result<Mounted, MountError> {
        let state = AccountsState {
            store: backend.accounts_store(&platform.outbox),
            hasher: match self.hashing_queue {
                Some(queue) => Argon2Hasher::with_queue(self.hashing_threads, queue)?,
                None => Argon2Hasher::new(self.hashing_threads)?,
            },
            tokens: JwtTokens::new(Arc::clone(&platform.authority), Arc::clone(&platform.clock)),
            refresh_tokens: OpaqueRefreshTokens::new(self.refresh_token_lifetime),
            authenticator: platform.authenticator(),
            clock: Arc::clone(&platform.clock),
            owned_projects: (self.owned_projects)(backend, platform),
            address_limit: self.address_rate.map(|rate| Arc::new(AddressRateLimiter::new(rate))),
            idempotency: platform.idempotency.clone(),
        };
        let routes = http::routes().with_state(Shared::new(state)).layer(axum::middleware::from_fn(http::never_stored));
        Ok(Mounted { routes, handlers: Vec::new() })
    }
}
