//! The contract of the projects ports: every store, fake or SQL, must pass these.
//!
//! Each check takes a fresh, empty store. Adapters run them all with
//! [`projects_store_contract!`](crate::projects_store_contract). No check holds two
//! write transactions open at once: an embedded database serialises writers.

use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EventId, StoreError, UserId};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::application::{
    NameContains, Page, PageSize, ProjectDetails, ProjectFilter, ProjectQueries, ProjectsStore, ProjectsTransaction,
    TaskDetails, TaskFilter,
};
use crate::domain::{IncompleteTaskLimit, Project, ProjectId, ProjectName, Task, TaskName, TaskNumber};

const NOW: OffsetDateTime = datetime!(2026-11-24 10:15:00 UTC);
const LATER: OffsetDateTime = datetime!(2026-11-24 11:30:00.123456 UTC);

/// What a store must offer for the whole contract to run.
pub trait ContractStore: ProjectsStore + ProjectQueries + OutboxProbe {}
impl<S: ProjectsStore + ProjectQueries + OutboxProbe> ContractStore for S {}

fn name(raw: &str) -> ProjectName {
    ProjectName::parse(raw).expect("valid name")
}

fn task_name(raw: &str) -> TaskName {
    TaskName::parse(raw).expect("valid name")
}

fn number(n: i64) -> TaskNumber {
    TaskNumber::new(n).expect("positive")
}

/// Creates and commits a project with `tasks` tasks, the first `completed` of them completed.
async fn stored_project<S: ContractStore>(store: &S, owner: UserId, tasks: i64, completed: i64) -> Project {
    let mut transaction = store.begin().await.expect("begin");
    let id = transaction.next_project_id().await.expect("id");
    let limit = IncompleteTaskLimit::new(50).ok();
    let mut project = Project::create(id, owner, name("Household"), limit, NOW);
    for n in 1..=tasks {
        project.add_task(task_name(&format!("Task number {n}")), NOW).expect("add");
    }
    for n in 1..=completed {
        project.complete_task(number(n), NOW).expect("complete");
    }
    transaction.add(&mut project).await.expect("add project");
    transaction.commit().await.expect("commit");
    project
}

async fn load<S: ContractStore>(store: &S, id: ProjectId, with_task: Option<TaskNumber>) -> Project {
    let mut transaction = store.begin().await.expect("begin");
    transaction.project(id, with_task).await.expect("load").expect("project exists")
}

pub async fn an_added_project_is_loaded_back_without_its_tasks<S: ContractStore>(store: S) {
    let owner = UserId::generate();
    let project = stored_project(&store, owner, 3, 1).await;

    let loaded = load(&store, project.id(), None).await;
    assert_eq!(loaded.state(), project.state());
    assert_eq!(loaded.state().version, 1);
    assert_eq!(loaded.state().last_task_number, 3);
    assert_eq!(loaded.state().incomplete_tasks, 2);
    assert!(loaded.task(number(1)).is_none(), "tasks are loaded only on request");
    assert!(loaded.pending_events().is_empty());
}

pub async fn a_project_is_loaded_with_exactly_the_task_asked_for<S: ContractStore>(store: S) {
    let project = stored_project(&store, UserId::generate(), 3, 1).await;

    let loaded = load(&store, project.id(), Some(number(1))).await;
    let task = loaded.task(number(1)).expect("task 1 loaded");
    assert_eq!(task.name().as_str(), "Task number 1");
    assert_eq!(task.completed_at(), Some(NOW));
    assert!(loaded.task(number(2)).is_none());

    let without = load(&store, project.id(), Some(number(9))).await;
    assert!(without.task(number(9)).is_none(), "a missing task is simply absent");
}

pub async fn an_unknown_project_is_none<S: ContractStore>(store: S) {
    let mut transaction = store.begin().await.expect("begin");
    let id = ProjectId::new(4242).expect("positive");
    assert!(transaction.project(id, None).await.expect("load").is_none());
}

pub async fn project_ids_are_distinct_and_increasing<S: ContractStore>(store: S) {
    let first = stored_project(&store, UserId::generate(), 0, 0).await.id();
    let second = stored_project(&store, UserId::generate(), 0, 0).await.id();
    assert!(second > first, "{second} after {first}");
}

pub async fn saved_changes_to_the_project_and_its_tasks_are_stored<S: ContractStore>(store: S) {
    let project = stored_project(&store, UserId::generate(), 2, 0).await;

    let mut transaction = store.begin().await.expect("begin");
    let mut loaded = transaction.project(project.id(), Some(number(2))).await.expect("load").expect("exists");
    loaded.complete_task(number(2), LATER).expect("complete");
    loaded.add_task(task_name("Third task"), LATER).expect("add");
    loaded.update(name("Renamed"), Some(None), LATER).expect("update");
    transaction.save(&mut loaded).await.expect("save");
    transaction.commit().await.expect("commit");

    let reloaded = load(&store, project.id(), Some(number(2))).await;
    assert_eq!(reloaded.state(), loaded.state());
    assert_eq!(reloaded.state().version, 2);
    assert_eq!(reloaded.state().last_task_number, 3);
    assert_eq!(reloaded.state().incomplete_tasks, 2);
    assert_eq!(reloaded.state().name.as_str(), "Renamed");
    assert_eq!(reloaded.state().limit, None);
    assert_eq!(reloaded.task(number(2)).and_then(Task::completed_at), Some(LATER), "microseconds survive");
    let third = load(&store, project.id(), Some(number(3))).await;
    assert_eq!(third.task(number(3)).map(|task| task.name().as_str().to_owned()), Some("Third task".into()));
}

/// Tags taken from the read model must be the ones a command computes from the
/// aggregate it loads, or every `If-Match` would fail (or, worse, pass) wrongly.
pub async fn the_read_models_tags_are_those_of_the_stored_aggregate<S: ContractStore>(store: S) {
    let owner = UserId::generate();
    let project = stored_project(&store, owner, 2, 0).await;
    let mut transaction = store.begin().await.expect("begin");
    let mut loaded = transaction.project(project.id(), Some(number(1))).await.expect("load").expect("exists");
    loaded.complete_task(number(1), LATER).expect("complete");
    transaction.save(&mut loaded).await.expect("save");
    transaction.commit().await.expect("commit");

    let stored = load(&store, project.id(), Some(number(1))).await;
    let details = ProjectQueries::project(&store, owner, project.id()).await.expect("query").expect("visible");
    assert_eq!(details.entity_tag(), ProjectDetails::from(&stored).entity_tag());
    assert_eq!(details.version, 2);
    let task = store.task(owner, project.id(), number(1)).await.expect("query").expect("exists");
    let stored_task = stored.task(number(1)).map(TaskDetails::from).expect("loaded");
    assert_eq!(task.entity_tag(), stored_task.entity_tag());
    let listed = store.tasks(owner, project.id()).await.expect("query").expect("visible");
    assert_eq!(listed[0].entity_tag(), stored_task.entity_tag());
}

pub async fn archive_and_delete_times_are_stored<S: ContractStore>(store: S) {
    let project = stored_project(&store, UserId::generate(), 1, 1).await;

    let mut transaction = store.begin().await.expect("begin");
    let mut loaded = transaction.project(project.id(), None).await.expect("load").expect("exists");
    loaded.archive(NOW).expect("archive");
    loaded.delete(LATER).expect("delete");
    transaction.save(&mut loaded).await.expect("save");
    transaction.commit().await.expect("commit");

    let reloaded = load(&store, project.id(), None).await;
    assert_eq!(reloaded.state().archived_at, Some(NOW));
    assert_eq!(reloaded.state().deleted_at, Some(LATER));
}

pub async fn saving_a_stale_copy_is_a_conflict<S: ContractStore>(store: S) {
    let project = stored_project(&store, UserId::generate(), 0, 0).await;
    let stale_state = load(&store, project.id(), None).await.state().clone();

    let mut transaction = store.begin().await.expect("begin");
    let mut fresh = transaction.project(project.id(), None).await.expect("load").expect("exists");
    fresh.add_task(task_name("Winner task"), NOW).expect("add");
    transaction.save(&mut fresh).await.expect("save");
    transaction.commit().await.expect("commit");

    let mut stale = Project::restore(stale_state, []);
    stale.add_task(task_name("Loser task"), NOW).expect("add");
    let mut transaction = store.begin().await.expect("begin");
    let outcome = match transaction.save(&mut stale).await {
        Ok(()) => transaction.commit().await,
        Err(error) => Err(error),
    };
    assert!(matches!(outcome, Err(StoreError::Conflict)), "{outcome:?}");

    let tasks = store.tasks(project.state().owner, project.id()).await.expect("query").expect("visible");
    assert_eq!(tasks.len(), 1, "the stale write left nothing behind");
    assert_eq!(tasks[0].name, "Winner task");
}

pub async fn a_task_number_is_never_stored_twice<S: ContractStore>(store: S) {
    let project = stored_project(&store, UserId::generate(), 2, 0).await;

    let mut transaction = store.begin().await.expect("begin");
    let loaded = transaction.project(project.id(), None).await.expect("load").expect("exists");
    let mut state = loaded.state().clone();
    state.last_task_number = 1;
    let mut corrupt = Project::restore(state, []);
    corrupt.add_task(task_name("Duplicate two"), NOW).expect("add");
    let outcome = transaction.save(&mut corrupt).await;
    let outcome = match outcome {
        Ok(()) => transaction.commit().await,
        Err(error) => Err(error),
    };
    assert!(matches!(outcome, Err(StoreError::Conflict)), "{outcome:?}");
}

pub async fn a_unit_of_work_dropped_without_commit_stores_nothing<S: ContractStore>(store: S) {
    let owner = UserId::generate();
    let events_before = store.outbox_events().await.len();
    {
        let mut transaction = store.begin().await.expect("begin");
        let id = transaction.next_project_id().await.expect("id");
        let mut project = Project::create(id, owner, name("Vanishing"), None, NOW);
        transaction.add(&mut project).await.expect("add");
        assert!(transaction.mark_event_handled("contract", EventId::generate()).await.expect("inbox"));
    }
    assert!(store.projects_of(owner).await.expect("query").is_empty());
    assert_eq!(store.outbox_events().await.len(), events_before);
}

pub async fn an_event_is_marked_handled_once_per_consumer<S: ContractStore>(store: S) {
    let event = EventId::generate();
    let mut transaction = store.begin().await.expect("begin");
    assert!(transaction.mark_event_handled("first", event).await.expect("mark"));
    transaction.commit().await.expect("commit");

    let mut transaction = store.begin().await.expect("begin");
    assert!(!transaction.mark_event_handled("first", event).await.expect("mark"), "seen before");
    assert!(transaction.mark_event_handled("second", event).await.expect("mark"), "other consumer");
    assert!(transaction.mark_event_handled("first", EventId::generate()).await.expect("mark"));
}

pub async fn a_rolled_back_inbox_mark_is_forgotten<S: ContractStore>(store: S) {
    let event = EventId::generate();
    {
        let mut transaction = store.begin().await.expect("begin");
        assert!(transaction.mark_event_handled("first", event).await.expect("mark"));
    }
    let mut transaction = store.begin().await.expect("begin");
    assert!(transaction.mark_event_handled("first", event).await.expect("mark"));
}

pub async fn events_are_written_to_the_outbox_in_order<S: ContractStore>(store: S) {
    let project = stored_project(&store, UserId::generate(), 2, 1).await;

    let types: Vec<String> = store
        .outbox_events()
        .await
        .into_iter()
        .filter(|event| event.aggregate_id == project.id().to_string())
        .map(|event| event.event_type)
        .collect();
    assert_eq!(
        types,
        ["projects.ProjectCreated.v1", "projects.TaskAdded.v1", "projects.TaskAdded.v1", "projects.TaskCompleted.v1"]
    );
}

pub async fn queries_show_only_the_owners_live_projects_in_id_order<S: ContractStore>(store: S) {
    let owner = UserId::generate();
    let first = stored_project(&store, owner, 0, 0).await;
    let someone_elses = stored_project(&store, UserId::generate(), 0, 0).await;
    let second = stored_project(&store, owner, 1, 1).await;
    let deleted = stored_project(&store, owner, 0, 0).await;
    let mut transaction = store.begin().await.expect("begin");
    let mut doomed = transaction.project(deleted.id(), None).await.expect("load").expect("exists");
    doomed.archive(NOW).expect("archive");
    doomed.delete(NOW).expect("delete");
    transaction.save(&mut doomed).await.expect("save");
    transaction.commit().await.expect("commit");

    let ids: Vec<ProjectId> = store.projects_of(owner).await.expect("query").iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![first.id(), second.id()]);
    assert!(store.project(owner, someone_elses.id()).await.expect("query").is_none());
    assert!(store.project(owner, deleted.id()).await.expect("query").is_none());
    assert!(store.tasks(owner, deleted.id()).await.expect("query").is_none());
    assert!(store.tasks(owner, someone_elses.id()).await.expect("query").is_none());
    assert!(store.task(owner, someone_elses.id(), number(1)).await.expect("query").is_none());

    let details = store.project(owner, first.id()).await.expect("query").expect("visible");
    assert_eq!(details.name, "Household");
    assert_eq!(details.maximum_number_of_incomplete_tasks, Some(50));
    assert_eq!(details.archived_at, None);
}

pub async fn tasks_are_listed_in_number_order<S: ContractStore>(store: S) {
    let owner = UserId::generate();
    let project = stored_project(&store, owner, 12, 1).await;

    let tasks = store.tasks(owner, project.id()).await.expect("query").expect("visible");
    let numbers: Vec<i64> = tasks.iter().map(|task| task.number.get()).collect();
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
    assert_eq!(tasks[0], TaskDetails { number: number(1), name: "Task number 1".into(), completed_at: Some(NOW) });
    assert_eq!(tasks[1].completed_at, None);
    let single = store.task(owner, project.id(), number(12)).await.expect("query").expect("found");
    assert_eq!(single.name, "Task number 12");
    assert!(store.task(owner, project.id(), number(13)).await.expect("query").is_none());
}

fn size(n: i64) -> PageSize {
    PageSize::new(n).expect("a page size")
}

fn text(raw: &str) -> Option<NameContains> {
    Some(NameContains::new(raw).expect("a search text"))
}

async fn task_numbers<S: ContractStore>(
    store: &S,
    owner: UserId,
    project: ProjectId,
    filter: &TaskFilter,
    after: Option<i64>,
    page: i64,
) -> (Vec<i64>, bool) {
    let after = after.map(number);
    let Page { items, more } =
        store.task_page(owner, project, filter, after, size(page)).await.expect("query").expect("visible");
    (items.iter().map(|task| task.number.get()).collect(), more)
}

pub async fn task_pages_follow_each_other_in_number_order_under_every_filter<S: ContractStore>(store: S) {
    let owner = UserId::generate();
    let project = stored_project(&store, owner, 12, 4).await;
    let all = TaskFilter::default();
    assert_eq!(task_numbers(&store, owner, project.id(), &all, None, 5).await, (vec![1, 2, 3, 4, 5], true));
    assert_eq!(task_numbers(&store, owner, project.id(), &all, Some(5), 5).await, (vec![6, 7, 8, 9, 10], true));
    assert_eq!(task_numbers(&store, owner, project.id(), &all, Some(10), 5).await, (vec![11, 12], false));
    assert_eq!(task_numbers(&store, owner, project.id(), &all, Some(7), 5).await, (vec![8, 9, 10, 11, 12], false));
    assert_eq!(task_numbers(&store, owner, project.id(), &all, Some(12), 5).await, (vec![], false));

    let completed = TaskFilter { completed: Some(true), name_contains: None };
    assert_eq!(task_numbers(&store, owner, project.id(), &completed, None, 4).await, (vec![1, 2, 3, 4], false));
    let open = TaskFilter { completed: Some(false), name_contains: None };
    assert_eq!(task_numbers(&store, owner, project.id(), &open, None, 3).await, (vec![5, 6, 7], true));
    assert_eq!(task_numbers(&store, owner, project.id(), &open, Some(10), 3).await, (vec![11, 12], false));
    // Letter case is ignored (ASCII here; beyond it, as each database's `lower` does).
    let ones = TaskFilter { completed: None, name_contains: text("NUMBER 1") };
    assert_eq!(task_numbers(&store, owner, project.id(), &ones, None, 3).await, (vec![1, 10, 11], true));
    assert_eq!(task_numbers(&store, owner, project.id(), &ones, Some(11), 3).await, (vec![12], false));
    let open_ones = TaskFilter { completed: Some(false), name_contains: text("number 1") };
    assert_eq!(task_numbers(&store, owner, project.id(), &open_ones, None, 10).await, (vec![10, 11, 12], false));
    // Characters LIKE would treat as wildcards are plain text.
    let wildcard = TaskFilter { completed: None, name_contains: text("%") };
    assert_eq!(task_numbers(&store, owner, project.id(), &wildcard, None, 10).await, (vec![], false));
    let underscore = TaskFilter { completed: None, name_contains: text("Task_number") };
    assert_eq!(task_numbers(&store, owner, project.id(), &underscore, None, 10).await, (vec![], false));

    let first = store.task_page(owner, project.id(), &all, None, size(1)).await.expect("query").expect("visible");
    assert_eq!(
        first.items,
        vec![TaskDetails { number: number(1), name: "Task number 1".into(), completed_at: Some(NOW) }]
    );
    let empty = stored_project(&store, owner, 0, 0).await;
    assert_eq!(task_numbers(&store, owner, empty.id(), &all, None, 5).await, (vec![], false));
    let stranger = UserId::generate();
    assert!(store.task_page(stranger, project.id(), &all, None, size(5)).await.expect("query").is_none());
    let unknown = ProjectId::new(i64::MAX).expect("an id");
    assert!(store.task_page(owner, unknown, &all, None, size(5)).await.expect("query").is_none());
}

pub async fn walking_task_pages_while_tasks_are_added_returns_every_earlier_task_once_in_order<S: ContractStore>(
    store: S,
) {
    let owner = UserId::generate();
    let project = stored_project(&store, owner, 10, 0).await;
    let all = TaskFilter::default();
    let (mut seen, mut more) = task_numbers(&store, owner, project.id(), &all, None, 4).await;
    let mut added = 0;
    while more {
        // Another writer adds tasks between every two pages.
        let mut transaction = store.begin().await.expect("begin");
        let mut loaded = transaction.project(project.id(), None).await.expect("load").expect("exists");
        loaded.add_task(task_name("Added while paging"), LATER).expect("add");
        transaction.save(&mut loaded).await.expect("save");
        transaction.commit().await.expect("commit");
        added += 1;
        let (page, next) = task_numbers(&store, owner, project.id(), &all, seen.last().copied(), 4).await;
        seen.extend(page);
        more = next;
        assert!(added < 20, "the walk ends");
    }
    assert_eq!(seen[..10], (1..=10).collect::<Vec<_>>(), "every earlier task once, in order");
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen, "nothing twice");
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "in order: {seen:?}");
}

/// A project of `owner` named `raw`, archived when asked.
async fn named_project<S: ContractStore>(store: &S, owner: UserId, raw: &str, archived: bool) -> ProjectId {
    let mut transaction = store.begin().await.expect("begin");
    let id = transaction.next_project_id().await.expect("id");
    let mut project = Project::create(id, owner, name(raw), None, NOW);
    if archived {
        project.archive(NOW).expect("archive");
    }
    transaction.add(&mut project).await.expect("add project");
    transaction.commit().await.expect("commit");
    id
}

pub async fn project_pages_follow_each_other_in_id_order_under_every_filter<S: ContractStore>(store: S) {
    let owner = UserId::generate();
    let mut ids = Vec::new();
    for (raw, archived) in
        [("Garden", false), ("Old garden", true), ("Kitchen", false), ("GARDEN shed", false), ("Taxes 2025", true)]
    {
        ids.push(named_project(&store, owner, raw, archived).await);
        named_project(&store, UserId::generate(), raw, archived).await;
    }
    let ids = &ids;
    let page = |filter: ProjectFilter, after: Option<usize>, n: i64| {
        let store = &store;
        let after = after.map(|index| ids[index]);
        async move {
            let Page { items, more } = store.project_page(owner, &filter, after, size(n)).await.expect("query");
            (items.iter().map(|project| ids.iter().position(|id| *id == project.id).expect("own")).collect(), more)
        }
    };
    assert_eq!(page(ProjectFilter::default(), None, 2).await, (vec![0, 1], true));
    assert_eq!(page(ProjectFilter::default(), Some(1), 2).await, (vec![2, 3], true));
    assert_eq!(page(ProjectFilter::default(), Some(3), 2).await, (vec![4], false));
    let live = ProjectFilter { archived: Some(false), name_contains: None };
    assert_eq!(page(live.clone(), None, 2).await, (vec![0, 2], true));
    assert_eq!(page(live, Some(2), 2).await, (vec![3], false));
    let archived = ProjectFilter { archived: Some(true), name_contains: None };
    assert_eq!(page(archived, None, 5).await, (vec![1, 4], false));
    let gardens = ProjectFilter { archived: None, name_contains: text("garden") };
    assert_eq!(page(gardens, None, 5).await, (vec![0, 1, 3], false));
    let live_gardens = ProjectFilter { archived: Some(false), name_contains: text("gARDEN") };
    assert_eq!(page(live_gardens, Some(0), 5).await, (vec![3], false));
    let nothing = ProjectFilter { archived: None, name_contains: text("pool") };
    assert_eq!(page(nothing, None, 5).await, (vec![], false));
    let stranger = store.project_page(UserId::generate(), &ProjectFilter::default(), None, size(5)).await;
    assert_eq!(stranger.expect("query").items, vec![]);
}

pub async fn erasing_an_owners_projects_removes_them_all_with_their_tasks_and_spares_others<S: ContractStore>(
    store: S,
) {
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let first = stored_project(&store, alice, 3, 1).await;
    let second = stored_project(&store, alice, 0, 0).await;
    let bobs = stored_project(&store, bob, 2, 0).await;
    {
        let mut transaction = store.begin().await.expect("begin");
        let mut loaded = transaction.project(second.id(), None).await.expect("load").expect("exists");
        loaded.archive(NOW).expect("archive");
        loaded.delete(NOW).expect("an archived empty project can be deleted");
        transaction.save(&mut loaded).await.expect("save");
        transaction.commit().await.expect("commit");
    }

    let mut transaction = store.begin().await.expect("begin");
    assert_eq!(transaction.erase_projects_of(alice).await.expect("erase"), 2, "soft-deleted ones too");
    transaction.commit().await.expect("commit");

    assert!(store.projects_of(alice).await.expect("query").is_empty());
    let mut transaction = store.begin().await.expect("begin");
    assert!(transaction.project(first.id(), None).await.expect("load").is_none(), "gone, not hidden");
    assert!(transaction.project(second.id(), None).await.expect("load").is_none());
    drop(transaction);
    assert_eq!(store.tasks(bob, bobs.id()).await.expect("query").map(|tasks| tasks.len()), Some(2));
    let mut transaction = store.begin().await.expect("begin");
    assert_eq!(transaction.erase_projects_of(alice).await.expect("erase"), 0, "nothing left to erase");
}

/// Expands to one `#[tokio::test]` per contract check, each on a store made by
/// `$fresh_store().await`, which returns `Option<(Store, Keep)>`: `Keep` is held until
/// the check ends (the store's temporary database, say); `None` makes the test pass
/// without checking anything, for a backend that is not configured here (the factory
/// says so on stderr).
#[macro_export]
macro_rules! projects_store_contract {
    ($fresh_store:path) => {
        $crate::projects_store_contract!(@checks $fresh_store;
            an_added_project_is_loaded_back_without_its_tasks,
            a_project_is_loaded_with_exactly_the_task_asked_for,
            an_unknown_project_is_none,
            project_ids_are_distinct_and_increasing,
            saved_changes_to_the_project_and_its_tasks_are_stored,
            the_read_models_tags_are_those_of_the_stored_aggregate,
            archive_and_delete_times_are_stored,
            saving_a_stale_copy_is_a_conflict,
            a_task_number_is_never_stored_twice,
            a_unit_of_work_dropped_without_commit_stores_nothing,
            an_event_is_marked_handled_once_per_consumer,
            a_rolled_back_inbox_mark_is_forgotten,
            events_are_written_to_the_outbox_in_order,
            queries_show_only_the_owners_live_projects_in_id_order,
            tasks_are_listed_in_number_order,
            erasing_an_owners_projects_removes_them_all_with_their_tasks_and_spares_others,
            task_pages_follow_each_other_in_number_order_under_every_filter,
            walking_task_pages_while_tasks_are_added_returns_every_earlier_task_once_in_order,
            project_pages_follow_each_other_in_id_order_under_every_filter,
        );
    };
    (@checks $fresh_store:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let Some((store, _keep)) = $fresh_store().await else { return };
                $crate::testing::contract::$check(store).await;
            }
        )+
    };
}

#[cfg(test)]
mod in_memory {
    use crate::testing::InMemoryProjects;

    async fn fresh_store() -> Option<(InMemoryProjects, ())> {
        Some((InMemoryProjects::default(), ()))
    }

    crate::projects_store_contract!(fresh_store);
}
