//! argon2id password hashing, off the async workers, on a few threads of its own.
//!
//! One hash takes tens of milliseconds of CPU and 19 MiB of memory. Run on the async
//! workers, a burst of logins would stall every other request. Run on tokio's blocking
//! pool, each hash would allocate its 19 MiB afresh on one of many short-lived threads,
//! and the C allocator keeps such freed buffers resident (a burst of 48 hashes left
//! 600 MiB). So a fixed set of long-lived hashing threads takes the work from a queue,
//! each hashing in one buffer it allocated once: concurrency and memory are bounded by
//! the number of threads. The hashing threads run at the lowest CPU priority, so that
//! during a login storm the requests that need no hash keep their latency and the
//! logins wait instead.
//!
//! The wait is bounded: a queue that is full refuses more work at once (`Overloaded`,
//! answered 503), and a job whose caller has stopped waiting (the client went away or
//! the request timed out, dropping the future) is skipped, not hashed, so abandoned
//! logins cannot push the live ones past their timeout.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as PhcHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use taskdeck_accounts::application::{HashingError, PasswordHasher};
use taskdeck_accounts::domain::{PasswordHash, PlainPassword};
use taskdeck_platform::metrics::PASSWORD_HASHES;
use tokio::sync::oneshot;

/// Hashes that may wait per hashing thread before new ones are refused. One hash takes
/// about 23 ms of a core (`docs/performance.md`: 44 logins a second on one thread), so
/// a full queue is about 1.5 s of work at full speed, and several seconds while the
/// async workers take the CPU first: far below the 30 s request timeout, so that a
/// storm of logins is answered 503 at once instead of every login timing out.
pub const QUEUED_HASHES_PER_THREAD: usize = 64;

/// Work for a hashing thread.
trait Job: Send {
    /// Whether nobody waits for the answer any more: then the work is skipped.
    fn abandoned(&self) -> bool;

    /// Does the work in the thread's argon2 memory, counted as running in `load`, and
    /// then delivers the answer.
    fn run(self: Box<Self>, memory: &mut Memory, load: &HashingLoad);
}

/// Counts a job as running while it lives, panics included.
struct Running<'a>(&'a HashingLoad);

impl<'a> Running<'a> {
    fn start(load: &'a HashingLoad) -> Self {
        let running = load.running.fetch_add(1, Ordering::Relaxed) + 1;
        publish(PASSWORD_HASHES_RUNNING, running);
        Self(load)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let running = self.0.running.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        publish(PASSWORD_HASHES_RUNNING, running);
    }
}

/// A job whose caller awaits its answer; dropping the caller's future closes `reply`.
struct Awaited<F, T> {
    work: F,
    reply: oneshot::Sender<Result<T, HashingError>>,
}

impl<F, T> Job for Awaited<F, T>
where
    F: FnOnce(&mut Memory) -> Result<T, HashingError> + Send,
    T: Send,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(self: Box<Self>, memory: &mut Memory, load: &HashingLoad) {
        let answer = {
            let _running = Running::start(load);
            (self.work)(memory)
        };
        // Sent once the job no longer counts as running, so that whoever reads the
        // load after the answer sees it finished.
        let _ = self.reply.send(answer);
    }
}

/// The decoy, hashed once at start by a caller that blocks for it.
struct Decoy(std::sync::mpsc::Sender<Result<String, HashingError>>);

impl Job for Decoy {
    fn abandoned(&self) -> bool {
        false
    }

    fn run(self: Box<Self>, memory: &mut Memory, load: &HashingLoad) {
        let decoy = {
            let _running = Running::start(load);
            hash_in(memory, "taskdeck decoy password, never valid")
        };
        let _ = self.0.send(decoy);
    }
}

/// The memory blocks of one hashing thread, reused by every hash it computes.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// At least `params`' memory, growing once if a stored hash asks for more.
    fn for_params(&mut self, params: &Params) -> &mut [Block] {
        let needed = params.block_count();
        if self.0.len() < needed {
            self.0.resize(needed, Block::default());
        }
        &mut self.0[..needed]
    }
}

const PASSWORD_HASHES_QUEUED: &str = "queued";
const PASSWORD_HASHES_RUNNING: &str = "running";

/// Sets the gauge `taskdeck_password_hashes{state}` (a no-op without a recorder).
fn publish(state: &'static str, count: usize) {
    #[allow(clippy::cast_precision_loss)] // a few hundred at most
    metrics::gauge!(PASSWORD_HASHES, "state" => state).set(count as f64);
}

/// How busy the hashing threads are, read without a lock (for the metric
/// `taskdeck_password_hashes{state}`).
#[derive(Debug, Default)]
pub struct HashingLoad {
    queued: AtomicUsize,
    running: AtomicUsize,
    abandoned: AtomicUsize,
}

impl HashingLoad {
    fn set_queued(&self, queued: usize) {
        self.queued.store(queued, Ordering::Relaxed);
        publish(PASSWORD_HASHES_QUEUED, queued);
    }

    /// Hashes waiting for a hashing thread (abandoned ones included until a thread or
    /// a full queue throws them out).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Hashes being computed right now: at most the number of hashing threads.
    #[must_use]
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Hashes never computed because their caller had gone (the client disconnected or
    /// the request timed out) before a thread took them, since the start.
    #[must_use]
    pub fn abandoned(&self) -> usize {
        self.abandoned.load(Ordering::Relaxed)
    }
}

/// The jobs waiting for a hashing thread.
struct Queue {
    pending: Mutex<Pending>,
    /// Signalled when a job arrives or the queue closes.
    arrived: Condvar,
    capacity: usize,
    load: Arc<HashingLoad>,
}

struct Pending {
    jobs: VecDeque<Box<dyn Job>>,
    /// False once the last hasher is gone: the threads then finish.
    open: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a job if there is room. Jobs whose callers have gone are thrown out
    /// before a live caller is refused: they would only be skipped later.
    fn submit(&self, job: Box<dyn Job>) -> Result<(), HashingError> {
        let mut pending = self.lock();
        if pending.jobs.len() >= self.capacity {
            let before = pending.jobs.len();
            pending.jobs.retain(|job| !job.abandoned());
            self.load.abandoned.fetch_add(before - pending.jobs.len(), Ordering::Relaxed);
            self.load.set_queued(pending.jobs.len());
        }
        if pending.jobs.len() >= self.capacity {
            return Err(HashingError::Overloaded);
        }
        self.push(&mut pending, job);
        Ok(())
    }

    /// Queues a job whatever the capacity: for the decoy, which must be hashed.
    fn submit_anyway(&self, job: Box<dyn Job>) {
        let mut pending = self.lock();
        self.push(&mut pending, job);
    }

    fn push(&self, pending: &mut Pending, job: Box<dyn Job>) {
        pending.jobs.push_back(job);
        self.load.set_queued(pending.jobs.len());
        self.arrived.notify_one();
    }

    /// The next job, waiting for one; `None` once the queue is closed and empty.
    fn next(&self) -> Option<Box<dyn Job>> {
        let mut pending = self.lock();
        loop {
            if let Some(job) = pending.jobs.pop_front() {
                self.load.set_queued(pending.jobs.len());
                return Some(job);
            }
            if !pending.open {
                return None;
            }
            pending = self.arrived.wait(pending).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn close(&self) {
        self.lock().open = false;
        self.arrived.notify_all();
    }
}

/// The hashers' handle on the queue: when the last clone of the hasher drops it, the
/// queue closes and the threads stop.
struct Intake(Arc<Queue>);

impl Drop for Intake {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The argon2id hasher with the crate's default (OWASP) parameters.
#[derive(Clone)]
pub struct Argon2Hasher {
    intake: Arc<Intake>,
    /// Verified against when the account does not exist, so that answering "wrong
    /// password" and "no such account" costs the same time.
    decoy: Arc<String>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = &self.intake.0;
        f.debug_struct("Argon2Hasher")
            .field("capacity", &queue.capacity)
            .field("queued", &queue.load.queued())
            .field("running", &queue.load.running())
            .finish_non_exhaustive()
    }
}

impl Argon2Hasher {
    /// A hasher with `threads` hashing threads and the default queue of
    /// [`QUEUED_HASHES_PER_THREAD`] for each; see [`Argon2Hasher::with_queue`].
    ///
    /// # Errors
    /// `HashingError` if a thread cannot be started or the decoy hash fails.
    pub fn new(threads: usize) -> Result<Self, HashingError> {
        let threads = threads.max(1);
        Self::with_queue(threads, threads.saturating_mul(QUEUED_HASHES_PER_THREAD))
    }

    /// A hasher with `threads` hashing threads, on which at most `queue` hashes wait:
    /// beyond that, hashing answers `HashingError::Overloaded` at once (with 0, every
    /// hash does). The threads stop when the last clone of the hasher is dropped.
    ///
    /// # Errors
    /// `HashingError` if a thread cannot be started or the decoy hash fails.
    pub fn with_queue(threads: usize, queue: usize) -> Result<Self, HashingError> {
        let queue = Arc::new(Queue {
            pending: Mutex::new(Pending { jobs: VecDeque::new(), open: true }),
            arrived: Condvar::new(),
            capacity: queue,
            load: Arc::default(),
        });
        // Closes the queue if starting a thread fails, so the ones started stop again.
        let intake = Arc::new(Intake(Arc::clone(&queue)));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("taskdeck-hashing-{index}"))
                .spawn(move || work(&queue))
                .map_err(|error| HashingError::Failed(error.to_string()))?;
        }
        // The decoy is hashed on a hashing thread too, in the memory it will reuse.
        let (reply, answer) = std::sync::mpsc::channel();
        queue.submit_anyway(Box::new(Decoy(reply)));
        let decoy = answer.recv().map_err(|_| HashingError::Failed("the decoy hash failed".to_owned()))??;
        Ok(Self { intake, decoy: Arc::new(decoy) })
    }

    /// The default number of hashing threads: one core is left to serve requests.
    #[must_use]
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
    }

    /// How many hashes wait and run, for metrics.
    #[must_use]
    pub fn load(&self) -> Arc<HashingLoad> {
        Arc::clone(&self.intake.0.load)
    }

    /// Queues `work` and hands back where its answer will come. Dropping the receiver
    /// before a thread takes the job means it is never run.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> Result<T, HashingError> + Send + 'static,
    ) -> Result<oneshot::Receiver<Result<T, HashingError>>, HashingError> {
        let (reply, answer) = oneshot::channel();
        self.intake.0.submit(Box::new(Awaited { work, reply }))?;
        Ok(answer)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> Result<T, HashingError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let answer = self.submit(work)?;
        answer.await.map_err(|_| HashingError::Failed("a hashing job failed".to_owned()))?
    }
}

/// The hashing threads' nice value, the lowest priority there is: when a worker and a
/// hashing thread both want a core, the kernel gives the worker about 70 times the
/// CPU time. On a server that is not busy, hashing still runs at full speed. (Measured
/// against nice 10 and the idle scheduling class in `docs/performance.md`.)
#[cfg(target_os = "linux")]
const HASHING_NICENESS: i32 = 19;

/// Makes the calling thread yield the CPU to the async workers when both want it.
#[cfg(target_os = "linux")]
fn yield_cpu_to_requests() {
    // Linux keeps a nice value per thread: PRIO_PROCESS with a thread id sets that
    // thread's alone.
    let thread = rustix::thread::gettid();
    if let Err(error) = rustix::process::setpriority_process(Some(thread), HASHING_NICENESS) {
        tracing::warn!(%error, "cannot lower the CPU priority of a password hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_cpu_to_requests() {}

/// A hashing thread: runs jobs until the queue closes. A job nobody waits for any more
/// is skipped; a panicking job loses its answer (the caller sees an error), not the
/// thread.
fn work(queue: &Queue) {
    yield_cpu_to_requests();
    let mut memory = Memory::default();
    while let Some(job) = queue.next() {
        if job.abandoned() {
            queue.load.abandoned.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let _ = catch_unwind(AssertUnwindSafe(|| job.run(&mut memory, &queue.load)));
    }
}

fn failed(error: impl std::fmt::Display) -> HashingError {
    HashingError::Failed(error.to_string())
}

/// Hashes with the crate's default parameters (argon2id, OWASP's m=19456, t=2, p=1) and
/// a fresh salt, into `memory`; returns the PHC string.
fn hash_in(memory: &mut Memory, password: &str) -> Result<String, HashingError> {
    let params = Params::default();
    let salt_bytes = argon2::password_hash::try_generate_salt().map_err(failed)?;
    let salt = Salt::new(&salt_bytes).map_err(failed)?;
    let mut output = [0_u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut output, memory.for_params(&params))
        .map_err(failed)?;
    let phc = PhcHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(failed)?,
        salt: Some(salt),
        hash: Some(Output::new(&output).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// The most a stored hash may ask of a verification: a hash is data, and a tampered
/// one naming gigabytes of memory or thousands of passes would make every login of its
/// account (or a crafted row) exhaust the server. Several times this installation's own
/// parameters (19 MiB, 2 passes, 1 lane), so stronger hashes of another system still
/// verify.
const MAX_MEMORY_KIB: u32 = 64 * 1024;
const MAX_PASSES: u32 = 10;
const MAX_LANES: u32 = 4;

/// Recomputes the stored hash's function (its own algorithm, version and parameters)
/// over the candidate, in `memory`, and compares in constant time.
fn verify_in(memory: &mut Memory, candidate: &str, phc: &str) -> Result<bool, HashingError> {
    let stored = PhcHash::new(phc).map_err(failed)?;
    let algorithm = Algorithm::try_from(stored.algorithm.as_str()).map_err(failed)?;
    let version = stored.version.map(Version::try_from).transpose().map_err(failed)?.unwrap_or_default();
    let params = Params::try_from(&stored).map_err(failed)?;
    if params.m_cost() > MAX_MEMORY_KIB || params.t_cost() > MAX_PASSES || params.p_cost() > MAX_LANES {
        return Err(HashingError::Failed(format!(
            "the stored hash asks for m={} KiB, t={}, p={}: more than this server verifies (m={MAX_MEMORY_KIB}, \
             t={MAX_PASSES}, p={MAX_LANES})",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return Err(HashingError::Failed("the stored hash has no salt or no output".to_owned()));
    };
    let mut output = vec![0_u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(candidate.as_bytes(), salt, &mut output, memory.for_params(&params))
        .map_err(failed)?;
    // `Output`'s equality runs in constant time.
    Ok(Output::new(&output).map_err(failed)? == *expected)
}

impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: PlainPassword) -> Result<PasswordHash, HashingError> {
        self.run(move |memory| hash_in(memory, password.expose()).map(PasswordHash::from_phc)).await
    }

    async fn verify(&self, candidate: String, hash: Option<PasswordHash>) -> Result<bool, HashingError> {
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.decoy.as_ref().clone(), |hash| hash.as_phc().to_owned());
        let matches = self.run(move |memory| verify_in(memory, &candidate, &phc)).await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;

    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Hasher::new(2).unwrap();
        let hash = hasher.hash(PlainPassword::new("correct horse").unwrap()).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse".into(), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("wrong horse".into(), Some(hash)).await.unwrap());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_lowest_cpu_priority_and_the_caller_keeps_its_own() {
        let caller = rustix::process::getpriority_process(None).unwrap();
        let hasher = Argon2Hasher::new(1).unwrap();
        // `None` names the calling thread: here, the hashing thread running the job.
        let hashing = hasher.run(|_| Ok(rustix::process::getpriority_process(None))).await.unwrap().unwrap();
        assert_eq!(hashing, HASHING_NICENESS);
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), caller);
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = Argon2Hasher::new(2).unwrap();
        let first = hasher.hash(PlainPassword::new("correct horse").unwrap()).await.unwrap();
        let second = hasher.hash(PlainPassword::new("correct horse").unwrap()).await.unwrap();
        assert_ne!(first, second, "salted");
    }

    #[tokio::test]
    async fn hashing_runs_on_the_hashing_threads_only() {
        let hasher = Argon2Hasher::new(2).unwrap();
        for _ in 0..4 {
            let thread = hasher.run(|_| Ok(std::thread::current().name().map(str::to_owned))).await.unwrap();
            let thread = thread.unwrap_or_default();
            assert!(thread.starts_with("taskdeck-hashing-"), "{thread}");
        }
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_threads_keep_working() {
        let hasher = Argon2Hasher::new(1).unwrap();
        let outcome: Result<(), HashingError> = hasher.run(|_| panic!("a bug in a hashing job")).await;
        assert!(outcome.is_err());
        let hash = hasher.hash(PlainPassword::new("still hashing").unwrap()).await.unwrap();
        assert!(hasher.verify("still hashing".into(), Some(hash)).await.unwrap());
    }

    /// Keeps the hasher's only thread busy until the returned sender is used or dropped;
    /// the receiver answers once the thread is free again.
    async fn occupy(
        hasher: &Argon2Hasher,
    ) -> (std::sync::mpsc::Sender<()>, oneshot::Receiver<Result<(), HashingError>>) {
        let (started, is_started) = oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let done = hasher
            .submit(move |_| {
                let _ = started.send(());
                let _ = released.recv();
                Ok(())
            })
            .unwrap();
        is_started.await.unwrap();
        (release, done)
    }

    /// Queues a job that counts its runs in `runs`.
    fn counted(
        hasher: &Argon2Hasher,
        runs: &Arc<AtomicUsize>,
    ) -> Result<oneshot::Receiver<Result<(), HashingError>>, HashingError> {
        let runs = Arc::clone(runs);
        hasher.submit(move |_| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }

    #[tokio::test]
    async fn a_full_queue_refuses_more_work_at_once_as_overloaded() {
        let hasher = Argon2Hasher::with_queue(1, 2).unwrap();
        let genuine = hasher.hash(PlainPassword::new("correct horse").unwrap()).await.unwrap();
        let (release, occupied) = occupy(&hasher).await;
        let runs = Arc::new(AtomicUsize::new(0));
        let waiting = [counted(&hasher, &runs).unwrap(), counted(&hasher, &runs).unwrap()];
        assert_eq!((hasher.load().queued(), hasher.load().running()), (2, 1));

        let hash = hasher.hash(PlainPassword::new("one too many").unwrap()).await;
        assert!(matches!(hash, Err(HashingError::Overloaded)), "{hash:?}");
        let check = hasher.verify("correct horse".into(), Some(genuine.clone())).await;
        assert!(matches!(check, Err(HashingError::Overloaded)), "{check:?}");
        let unknown = hasher.verify("correct horse".into(), None).await;
        assert!(matches!(unknown, Err(HashingError::Overloaded)), "the decoy check is shed too: {unknown:?}");
        assert_eq!(hasher.load().queued(), 2, "refused work is not queued");

        release.send(()).unwrap();
        occupied.await.unwrap().unwrap();
        for answer in waiting {
            answer.await.unwrap().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2, "the queued work was done");
        assert!(hasher.verify("correct horse".into(), Some(genuine)).await.unwrap(), "room again");
        assert_eq!((hasher.load().queued(), hasher.load().running()), (0, 0));
    }

    #[tokio::test]
    async fn a_queue_of_none_refuses_every_hash() {
        let hasher = Argon2Hasher::with_queue(1, 0).unwrap();
        let hash = hasher.hash(PlainPassword::new("correct horse").unwrap()).await;
        assert!(matches!(hash, Err(HashingError::Overloaded)), "{hash:?}");
    }

    #[tokio::test]
    async fn work_whose_caller_has_gone_is_skipped_and_the_next_caller_does_not_wait_for_it() {
        let hasher = Argon2Hasher::with_queue(1, 1000).unwrap();
        let (release, occupied) = occupy(&hasher).await;
        let abandoned_runs = Arc::new(AtomicUsize::new(0));
        for _ in 0..500 {
            drop(counted(&hasher, &abandoned_runs).unwrap());
        }
        let live_runs = Arc::new(AtomicUsize::new(0));
        let live = counted(&hasher, &live_runs).unwrap();
        assert_eq!(hasher.load().queued(), 501);

        release.send(()).unwrap();
        occupied.await.unwrap().unwrap();
        live.await.unwrap().unwrap();

        assert_eq!(live_runs.load(Ordering::SeqCst), 1);
        assert_eq!(abandoned_runs.load(Ordering::SeqCst), 0, "no abandoned job ran");
        assert_eq!(hasher.load().abandoned(), 500);
        assert_eq!(hasher.load().queued(), 0);
    }

    #[tokio::test]
    async fn a_dropped_login_is_never_hashed() {
        let hasher = Argon2Hasher::with_queue(1, 100).unwrap();
        let stored = hasher.hash(PlainPassword::new("correct horse").unwrap()).await.unwrap();
        let (release, occupied) = occupy(&hasher).await;
        for _ in 0..20 {
            // A request future polled once (its job is queued), then dropped: the client
            // went away, or the request timed out.
            let mut check = Box::pin(hasher.verify("correct horse".into(), Some(stored.clone())));
            let first_poll = std::future::poll_fn(|context| std::task::Poll::Ready(check.as_mut().poll(context))).await;
            assert!(first_poll.is_pending(), "waits for the occupied thread");
            drop(check);
        }
        assert_eq!(hasher.load().queued(), 20);

        release.send(()).unwrap();
        occupied.await.unwrap().unwrap();
        assert!(hasher.verify("correct horse".into(), Some(stored)).await.unwrap());
        assert_eq!(hasher.load().abandoned(), 20, "each dropped check was skipped, not hashed");
    }

    #[tokio::test]
    async fn a_full_queue_throws_out_abandoned_work_before_refusing_a_live_caller() {
        let hasher = Argon2Hasher::with_queue(1, 2).unwrap();
        let (release, occupied) = occupy(&hasher).await;
        let runs = Arc::new(AtomicUsize::new(0));
        let kept = counted(&hasher, &runs).unwrap();
        drop(counted(&hasher, &runs).unwrap());

        let live = counted(&hasher, &runs).expect("the abandoned job made room");
        assert!(matches!(counted(&hasher, &runs), Err(HashingError::Overloaded)), "now two live jobs wait");
        assert_eq!(hasher.load().abandoned(), 1);

        release.send(()).unwrap();
        occupied.await.unwrap().unwrap();
        kept.await.unwrap().unwrap();
        live.await.unwrap().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = Argon2Hasher::new(1).unwrap();

        let ours = hasher.hash(PlainPassword::new("correct horse").unwrap()).await.unwrap();
        let parsed = PhcHash::new(ours.as_phc()).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok(), "the crate verifies ours");
        assert!(ours.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", ours.as_phc());

        let theirs = Argon2::default().hash_password(b"battery staple").unwrap().to_string();
        let theirs = PasswordHash::from_phc(theirs);
        assert!(hasher.verify("battery staple".into(), Some(theirs.clone())).await.unwrap(), "we verify the crate's");
        assert!(!hasher.verify("battery stapler".into(), Some(theirs)).await.unwrap());
    }

    #[tokio::test]
    async fn a_hash_with_other_parameters_is_verified_with_its_own() {
        use argon2::password_hash::PasswordHasher as _;
        let cheaper = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap());
        let stored = PasswordHash::from_phc(cheaper.hash_password(b"older account").unwrap().to_string());
        let hasher = Argon2Hasher::new(1).unwrap();
        assert!(hasher.verify("older account".into(), Some(stored.clone())).await.unwrap());
        assert!(!hasher.verify("other password".into(), Some(stored)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = Argon2Hasher::new(1).unwrap();
        assert!(!hasher.verify("taskdeck decoy password, never valid".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_hash_asking_for_more_than_the_caps_is_refused_without_running_it() {
        let hasher = Argon2Hasher::new(1).unwrap();
        let genuine = hasher.hash(PlainPassword::new("correct horse").unwrap()).await.unwrap();
        for (from, to) in [("m=19456", "m=4194304"), ("t=2", "t=100000"), ("p=1", "p=64")] {
            let tampered = genuine.as_phc().replacen(from, to, 1);
            assert_ne!(tampered, genuine.as_phc(), "{from} is in {}", genuine.as_phc());
            let outcome = hasher.verify("correct horse".into(), Some(PasswordHash::from_phc(tampered))).await;
            assert!(outcome.is_err(), "{to}");
        }
        use argon2::password_hash::PasswordHasher as _;
        let at_the_caps =
            Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(MAX_MEMORY_KIB, 1, 1, None).unwrap());
        let strong = at_the_caps.hash_password(b"strong account").unwrap().to_string();
        assert!(hasher.verify("strong account".into(), Some(PasswordHash::from_phc(strong))).await.unwrap());
    }

    #[tokio::test]
    async fn an_unreadable_stored_hash_is_an_error_not_a_match() {
        let hasher = Argon2Hasher::new(1).unwrap();
        let outcome = hasher.verify("anything".into(), Some(PasswordHash::from_phc("garbage".into()))).await;
        assert!(outcome.is_err());
    }
}
