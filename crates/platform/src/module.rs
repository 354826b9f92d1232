//! A bounded context as the composition root sees it: one value per context that
//! carries its migrations, its routes with their OpenAPI description, and its event
//! handlers with the events they subscribe to. The binary composes a list of them.

use std::sync::Arc;

use taskdeck_kernel::Clock;
use utoipa_axum::router::OpenApiRouter;

use crate::BoxFuture;
use crate::auth::{Authenticator, JwtAuthority, SessionCheck};
use crate::backend::Backend;
use crate::cursor::PageCursors;
use crate::idempotency::Idempotency;
use crate::migrations::Migration;
use crate::outbox::{EventHandler, OutboxWriter};

/// What every context is mounted with: the parts the contexts share at run time.
#[derive(Clone)]
pub struct Platform {
    /// Issues and verifies access tokens.
    pub authority: Arc<JwtAuthority>,
    /// Which sessions are live: kept by the accounts context, checked by every route.
    pub sessions: Arc<dyn SessionCheck>,
    pub clock: Arc<dyn Clock>,
    /// Where units of work write the events their aggregates record.
    pub outbox: OutboxWriter,
    /// Seals the cursors of paged lists.
    pub cursors: PageCursors,
    /// Claims and replays the idempotency keys of creating requests.
    pub idempotency: Idempotency,
}

impl Platform {
    /// The check every authenticated route runs.
    #[must_use]
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(Arc::clone(&self.authority), Arc::clone(&self.sessions))
    }
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").field("authority", &self.authority).field("outbox", &self.outbox).finish()
    }
}

/// A context ready to serve: its routes (state applied, OpenAPI attached) and the
/// handlers that react to other contexts' events.
pub struct Mounted {
    pub routes: OpenApiRouter,
    pub handlers: Vec<Arc<dyn EventHandler>>,
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let handlers: Vec<&str> = self.handlers.iter().map(|handler| handler.name()).collect();
        f.debug_struct("Mounted").field("handlers", &handlers).finish_non_exhaustive()
    }
}

/// Why a context could not be mounted.
pub type MountError = Box<dyn std::error::Error + Send + Sync>;

/// A bounded context on backend `B`.
pub trait ContextModule<B: Backend>: Send + Sync {
    /// A short name, for logs and errors.
    fn name(&self) -> &'static str;

    /// The migrations that create and evolve this context's tables on `B`.
    fn migrations(&self) -> &'static [Migration];

    /// Finishes, on a migrated `backend`, what a migration asked for and SQL cannot
    /// do (rewriting stored values with the domain's own rules, say). It runs after
    /// every migration, on every start, before anything is served: it must do nothing
    /// when nothing was asked for, and must be safe with instances starting together.
    ///
    /// # Errors
    /// When the database fails; the start fails with it, and the next start tries again.
    fn migrate_data<'a>(&'a self, backend: &'a B) -> BoxFuture<'a, Result<(), MountError>> {
        let _ = backend;
        Box::pin(std::future::ready(Ok(())))
    }

    /// The OpenAPI description of the context's routes, without mounting anything
    /// (for `taskdeck openapi`).
    fn openapi(&self) -> utoipa::openapi::OpenApi;

    /// The context's routes and handlers on `backend`, which is migrated.
    ///
    /// # Errors
    /// When a resource the context needs (a thread pool, say) cannot be set up.
    fn mount(&self, backend: &B, platform: &Platform) -> Result<Mounted, MountError>;
}
