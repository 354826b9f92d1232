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

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as PhcHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use taskdeck_accounts::application::{HashingError, PasswordHasher};
use taskdeck_accounts::domain::{PasswordHash, PlainPassword};
use tokio::sync::oneshot;

/// Work for a hashing thread, given the thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

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

/// The argon2id hasher with the crate's default (OWASP) parameters.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    jobs: Sender<Job>,
    /// Verified against when the account does not exist, so that answering "wrong
    /// password" and "no such account" costs the same time.
    decoy: Arc<String>,
}

impl Argon2Hasher {
    /// A hasher with `threads` hashing threads; they stop when the last clone of the
    /// hasher is dropped.
    ///
    /// # Errors
    /// `HashingError` if a thread cannot be started or the decoy hash fails.
    pub fn new(threads: usize) -> Result<Self, HashingError> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("taskdeck-hashing-{index}"))
                .spawn(move || work(&queue))
                .map_err(|error| HashingError(error.to_string()))?;
        }
        let hasher = Self { jobs, decoy: Arc::new(String::new()) };
        // The decoy is hashed on a hashing thread too, in the memory it will reuse.
        let (reply, answer) = channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(hash_in(memory, "taskdeck decoy password, never valid"));
        });
        hasher.jobs.send(job).map_err(|_| HashingError("the hashing threads have stopped".to_owned()))?;
        let decoy = answer.recv().map_err(|_| HashingError("the decoy hash failed".to_owned()))??;
        Ok(Self { decoy: Arc::new(decoy), ..hasher })
    }

    /// The default number of hashing threads: one core is left to serve requests.
    #[must_use]
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> Result<T, HashingError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(work(memory));
        });
        self.jobs.send(job).map_err(|_| HashingError("the hashing threads have stopped".to_owned()))?;
        answer.await.map_err(|_| HashingError("a hashing job failed".to_owned()))?
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

/// A hashing thread: runs jobs until every sender is gone. A panicking job loses its
/// answer (the caller sees an error), not the thread.
fn work(queue: &Mutex<Receiver<Job>>) {
    yield_cpu_to_requests();
    let mut memory = Memory::default();
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => {
                let _ = catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
            }
            Err(_) => return,
        }
    }
}

fn failed(error: impl std::fmt::Display) -> HashingError {
    HashingError(error.to_string())
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
        return Err(HashingError(format!(
            "the stored hash asks for m={} KiB, t={}, p={}: more than this server verifies (m={MAX_MEMORY_KIB}, \
             t={MAX_PASSES}, p={MAX_LANES})",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return Err(HashingError("the stored hash has no salt or no output".to_owned()));
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
