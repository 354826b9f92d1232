//! The PostgreSQL projects store passes the same contract as the in-memory fake, each
//! check on a fresh database, and serialises concurrent commands on one project.
//! Skipped (loudly) when `TASKDECK_TEST_POSTGRES_URL` is unset.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use taskdeck_kernel::{StoreError, SystemClock, UserId};
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::postgres::PostgresDatabase;
use taskdeck_projects::application::{AddTask, CreateProject, ProjectQueries, ProjectsStore, add_task, create_project};
use taskdeck_projects::domain::{ProjectName, TaskName};
use taskdeck_projects_adapters::PostgresProjects;

async fn fresh_store() -> Option<PostgresProjects> {
    let url = taskdeck_platform::postgres::test_url()?;
    let database = PostgresDatabase::temporary(&url).await.expect("temporary PostgreSQL database");
    Some(PostgresProjects::new(database, OutboxFilter::All, RelaySignal::default()))
}

taskdeck_projects::projects_store_contract!(fresh_store);

/// Counts the units of work begun, to tell a command that ran once from one that lost
/// an optimistic-concurrency race and was retried.
#[derive(Debug, Clone)]
struct CountingStore {
    inner: PostgresProjects,
    begun: Arc<AtomicUsize>,
}

impl ProjectsStore for CountingStore {
    type Transaction = <PostgresProjects as ProjectsStore>::Transaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        self.inner.begin().await
    }
}

/// Commands on one project queue on its row lock (`SELECT … FOR UPDATE`): none of them
/// loses a race (so none is retried), and the task numbers have neither gaps nor
/// duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_concurrent_task_additions_to_one_project_all_succeed_with_numbers_one_to_fifty() {
    const WRITERS: i64 = 50;
    let Some(store) = fresh_store().await else { return };
    let counting = CountingStore { inner: store.clone(), begun: Arc::new(AtomicUsize::new(0)) };
    let owner = UserId::generate();
    let project = create_project(
        &store,
        &SystemClock,
        CreateProject { owner, name: ProjectName::parse("Busy").expect("valid name"), limit: None },
    )
    .await
    .expect("create project");

    let writers: Vec<_> = (1..=WRITERS)
        .map(|n| {
            let store = counting.clone();
            let command = AddTask {
                owner,
                project: project.id,
                name: TaskName::parse(&format!("Concurrent task {n}")).expect("valid name"),
            };
            tokio::spawn(async move { add_task(&store, &SystemClock, command).await })
        })
        .collect();
    let mut numbers = Vec::new();
    for writer in writers {
        let task = writer.await.expect("writer did not panic").expect("every addition succeeds");
        numbers.push(task.number.get());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=WRITERS).collect::<Vec<_>>());
    let begun = counting.begun.load(Ordering::SeqCst);
    assert_eq!(Ok(begun), usize::try_from(WRITERS), "no addition conflicted and had to be retried");

    let stored = store.tasks(owner, project.id).await.expect("query").expect("visible");
    let stored: Vec<i64> = stored.iter().map(|task| task.number.get()).collect();
    assert_eq!(stored, (1..=WRITERS).collect::<Vec<_>>());
}
