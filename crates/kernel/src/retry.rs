//! Retrying a command whose unit of work lost an optimistic-concurrency race.

use std::future::Future;

/// Errors that can say "someone else changed the aggregate first".
pub trait ConflictAware {
    fn is_conflict(&self) -> bool;
}

impl ConflictAware for crate::StoreError {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict)
    }
}

/// How many times a command runs before a conflict is reported to the caller. Each
/// attempt reloads the aggregate, so the domain rules are checked against fresh state.
pub const COMMAND_ATTEMPTS: u32 = 16;

/// Runs `attempt` again while it fails with a conflict, up to [`COMMAND_ATTEMPTS`] times.
///
/// # Errors
/// The last error, when every attempt conflicted or one failed otherwise.
pub async fn retry_on_conflict<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    E: ConflictAware,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if error.is_conflict() && tries < COMMAND_ATTEMPTS => {
                tries += 1;
                // Let the writer that won run on before trying again, instead of
                // racing it straight away.
                YieldNow(false).await;
            }
            outcome => return outcome,
        }
    }
}

/// Gives the executor one chance to run other tasks; needs no particular runtime.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, context: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            context.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use std::cell::Cell;
    use std::future::ready;

    fn block_on<F: Future>(future: F) -> F::Output {
        // The futures here only ever yield, so polling until ready completes them.
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    #[test]
    fn a_conflict_is_retried_until_the_command_succeeds() {
        let calls = Cell::new(0);
        let outcome: Result<u32, StoreError> = block_on(retry_on_conflict(|| {
            calls.set(calls.get() + 1);
            ready(if calls.get() < 3 { Err(StoreError::Conflict) } else { Ok(7) })
        }));
        assert_eq!(outcome.unwrap(), 7);
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn other_errors_are_returned_at_once() {
        let calls = Cell::new(0);
        let outcome: Result<u32, StoreError> = block_on(retry_on_conflict(|| {
            calls.set(calls.get() + 1);
            ready(Err(StoreError::backend(std::io::Error::other("disk on fire"))))
        }));
        assert!(matches!(outcome, Err(StoreError::Backend(_))));
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn a_conflict_that_persists_is_reported_after_the_last_attempt() {
        let calls = Cell::new(0);
        let outcome: Result<u32, StoreError> = block_on(retry_on_conflict(|| {
            calls.set(calls.get() + 1);
            ready(Err(StoreError::Conflict))
        }));
        assert!(matches!(outcome, Err(StoreError::Conflict)));
        assert_eq!(calls.get(), COMMAND_ATTEMPTS);
    }
}
