//! Keeps a background task such as the relay running until shutdown: a relay that
//! panicked or returned early would otherwise leave every later event undelivered for
//! the rest of the process, and say nothing.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use super::relay::panicked;

/// How long a task that ended unexpectedly waits before it is started again: long
/// enough that a task failing at once does not spin, short enough that delivery
/// resumes promptly.
pub const RESTART_BACKOFF: Duration = Duration::from_secs(1);

/// Runs what `start` makes, each run on a task of its own, until `shutdown` turns true
/// (or its sender is gone). A run that ends before then, by a panic or by returning,
/// is logged as an error and started again after `backoff`. The run is expected to
/// watch `shutdown` itself and finish its work; this waits for it to end.
pub async fn supervise<F, R>(what: &'static str, mut shutdown: watch::Receiver<bool>, backoff: Duration, mut start: F)
where
    F: FnMut() -> R,
    R: Future<Output = ()> + Send + 'static,
{
    let mut restarts: u64 = 0;
    loop {
        let ended = tokio::spawn(start()).await;
        if stopping(&shutdown) {
            return;
        }
        restarts += 1;
        match ended {
            Ok(()) => tracing::error!(task = what, restarts, "a background task ended before shutdown; restarting it"),
            Err(error) if error.is_panic() => tracing::error!(
                task = what,
                restarts,
                panic = %panicked(error.into_panic()),
                "a background task panicked; restarting it"
            ),
            Err(error) => {
                tracing::error!(task = what, restarts, %error, "a background task was cancelled; restarting it");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => {}
        }
        if stopping(&shutdown) {
            return;
        }
    }
}

/// Shutdown was asked for, or can no longer be: its sender is gone.
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_or_ends_early_is_started_again_until_shutdown() {
        let (stop, stopped) = watch::channel(false);
        let runs = Arc::new(AtomicUsize::new(0));
        let (third_run, third_run_started) = tokio::sync::oneshot::channel();
        let mut third_run = Some(third_run);
        let supervising = {
            let runs = Arc::clone(&runs);
            let stopped = stopped.clone();
            tokio::spawn(supervise("test task", stopped.clone(), Duration::ZERO, move || {
                let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                let started = if run == 3 { third_run.take() } else { None };
                let mut stopped = stopped.clone();
                async move {
                    match run {
                        1 => panic!("a bug in the task"),
                        2 => {}
                        _ => {
                            if let Some(started) = started {
                                let _ = started.send(());
                            }
                            let _ = stopped.wait_for(|stop| *stop).await;
                        }
                    }
                }
            }))
        };

        third_run_started.await.expect("the task is started a third time");
        assert!(!supervising.is_finished());
        stop.send(true).expect("the supervisor listens");
        supervising.await.expect("the supervisor itself never panics");
        assert_eq!(runs.load(Ordering::SeqCst), 3, "not started again after shutdown");
    }

    #[tokio::test]
    async fn a_task_that_ends_once_shutdown_is_asked_for_is_not_started_again() {
        let (stop, stopped) = watch::channel(false);
        let runs = Arc::new(AtomicUsize::new(0));
        stop.send(true).expect("the receiver is alive");
        let counted = Arc::clone(&runs);
        supervise("test task", stopped, Duration::ZERO, move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn without_a_shutdown_sender_a_task_that_ends_is_not_started_again() {
        let (stop, stopped) = watch::channel(false);
        drop(stop);
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        supervise("test task", stopped, Duration::ZERO, move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "nobody could stop it again: it would run forever");
    }
}
