//! Use-case tests of the projects application layer, run against the in-memory fake.
//!
//! Every command is checked through what it returns and through what the read side
//! (`ProjectQueries` of the same fake) and the outbox show afterwards.

use std::fmt::Debug;
use std::sync::Arc;

use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EventEnvelope, EventId, FixedClock, UserAccountCreated, UserId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::domain::{
    AddTaskError, ArchiveError, CompleteTaskError, DeleteError, IncompleteTaskLimit, ProjectId, ProjectName,
    ReopenTaskError, TaskName, TaskNumber, UpdateProjectError,
};
use crate::testing::InMemoryProjects;

const NOW: OffsetDateTime = datetime!(2026-11-24 10:15:00 UTC);

// ---------------------------------------------------------------------------------
// helpers

fn clock() -> FixedClock {
    FixedClock::at(datetime!(2026-11-24 10:15:00 UTC))
}

fn name(raw: &str) -> ProjectName {
    ProjectName::parse(raw).unwrap()
}

fn task_name(raw: &str) -> TaskName {
    TaskName::parse(raw).unwrap()
}

fn number(n: i64) -> TaskNumber {
    TaskNumber::new(n).unwrap()
}

fn limit(n: i64) -> IncompleteTaskLimit {
    IncompleteTaskLimit::new(n).unwrap()
}

fn missing_project() -> ProjectId {
    ProjectId::new(999).unwrap()
}

/// The domain refusal of a command, or a panic describing what came instead.
fn rejection<T: Debug, E: Debug>(result: Result<T, CommandError<E>>) -> E {
    match result {
        Err(CommandError::Rejected(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn assert_not_found<T: Debug, E: Debug>(result: Result<T, CommandError<E>>) {
    match result {
        Err(CommandError::ProjectNotFound) => {}
        other => panic!("expected ProjectNotFound, got {other:?}"),
    }
}

async fn new_project(store: &InMemoryProjects, owner: UserId, limit: Option<IncompleteTaskLimit>) -> ProjectId {
    let command = CreateProject { owner, name: name("Household"), limit };
    create_project(store, &clock(), command, None).await.unwrap().id
}

async fn new_task(store: &InMemoryProjects, owner: UserId, project: ProjectId, name: &str) -> TaskNumber {
    let command = AddTask { owner, project, name: task_name(name) };
    add_task(store, &clock(), command, None).await.unwrap().number
}

/// An archived project with one completed task.
async fn archived_project(store: &InMemoryProjects, owner: UserId) -> ProjectId {
    let id = new_project(store, owner, None).await;
    let task = new_task(store, owner, id, "Done already").await;
    complete_task(store, &clock(), owner, id, task, &Precondition::Unconditional).await.unwrap();
    archive_project(store, &clock(), owner, id, &Precondition::Unconditional).await.unwrap();
    id
}

async fn deleted_project(store: &InMemoryProjects, owner: UserId) -> ProjectId {
    let id = archived_project(store, owner).await;
    delete_project(store, &clock(), owner, id, &Precondition::Unconditional).await.unwrap();
    id
}

/// Everything a command could have written about `id`: the outbox, the project and
/// its tasks as the owner sees them.
#[derive(Debug, PartialEq)]
struct Snapshot {
    outbox: Vec<EventEnvelope>,
    project: Option<ProjectDetails>,
    tasks: Option<Vec<TaskDetails>>,
}

async fn snapshot(store: &InMemoryProjects, owner: UserId, id: ProjectId) -> Snapshot {
    Snapshot {
        outbox: store.outbox_events().await,
        project: ProjectQueries::project(store, owner, id).await.unwrap(),
        tasks: store.tasks(owner, id).await.unwrap(),
    }
}

/// The types of the events in the outbox, oldest first.
async fn outbox_types(store: &InMemoryProjects) -> Vec<String> {
    store.outbox_events().await.into_iter().map(|event| event.event_type).collect()
}

async fn last_event(store: &InMemoryProjects) -> EventEnvelope {
    store.outbox_events().await.pop().unwrap()
}

fn account_created(user_id: UserId) -> UserAccountCreated {
    UserAccountCreated { user_id, email: "bob@example.com".into(), occurred_at: datetime!(2026-11-20 08:00:00 UTC) }
}

// ---------------------------------------------------------------------------------
// create_project

#[tokio::test]
async fn creating_a_project_returns_its_details_and_shows_it_to_its_owner() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();

    let command = CreateProject { owner, name: name("  Household "), limit: Some(limit(3)) };
    let details = create_project(&store, &clock(), command, None).await.unwrap();

    assert_eq!(details.name, "Household");
    assert_eq!(details.maximum_number_of_incomplete_tasks, Some(3));
    assert_eq!(details.archived_at, None);
    assert_eq!(ProjectQueries::project(&store, owner, details.id).await.unwrap(), Some(details.clone()));
    assert_eq!(
        store.projects_of(owner).await.unwrap(),
        vec![ProjectSummary { id: details.id, name: "Household".into(), archived_at: None }]
    );
    assert_eq!(store.tasks(owner, details.id).await.unwrap(), Some(vec![]));
}

#[tokio::test]
async fn creating_a_project_records_project_created_in_the_outbox() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();

    let id = new_project(&store, owner, None).await;

    let event = last_event(&store).await;
    assert_eq!(outbox_types(&store).await, ["projects.ProjectCreated.v1"]);
    assert_eq!(event.aggregate_id, id.to_string());
    assert_eq!(event.occurred_at, NOW);
    assert_eq!(event.payload["owner"], owner.to_string());
    assert_eq!(event.payload["maximumNumberOfIncompleteTasks"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_project_without_a_limit_has_no_maximum_of_incomplete_tasks() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();

    let id = new_project(&store, owner, None).await;

    let details = ProjectQueries::project(&store, owner, id).await.unwrap().unwrap();
    assert_eq!(details.maximum_number_of_incomplete_tasks, None);
}

#[tokio::test]
async fn each_new_project_gets_its_own_id_and_is_seen_only_by_its_owner() {
    let store = InMemoryProjects::default();
    let (alice, bob) = (UserId::generate(), UserId::generate());

    let first = new_project(&store, alice, None).await;
    let second = new_project(&store, alice, None).await;
    let bobs = new_project(&store, bob, None).await;

    assert!(first != second && second != bobs && first != bobs);
    let ids = |summaries: Vec<ProjectSummary>| summaries.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(store.projects_of(alice).await.unwrap()), [first, second]);
    assert_eq!(ids(store.projects_of(bob).await.unwrap()), [bobs]);
    assert_eq!(ProjectQueries::project(&store, bob, first).await.unwrap(), None);
    assert_eq!(store.tasks(bob, first).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------
// update_project

#[tokio::test]
async fn updating_a_project_renames_it_and_sets_its_limit() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;

    let command = UpdateProject {
        owner,
        id,
        name: name("Chores"),
        limit: Some(Some(limit(5))),
        precondition: Precondition::Unconditional,
    };
    let details = update_project(&store, &clock(), command).await.unwrap();

    let expected = ProjectDetails {
        id,
        name: "Chores".into(),
        maximum_number_of_incomplete_tasks: Some(5),
        archived_at: None,
        version: 2,
    };
    assert_eq!(details, expected);
    assert_eq!(ProjectQueries::project(&store, owner, id).await.unwrap(), Some(expected));
    let event = last_event(&store).await;
    assert_eq!(event.event_type, "projects.ProjectUpdated.v1");
    assert_eq!(event.payload["name"], "Chores");
    assert_eq!(event.payload["maximumNumberOfIncompleteTasks"], 5);
}

#[tokio::test]
async fn updating_without_a_limit_keeps_the_current_limit() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(3))).await;

    let command =
        UpdateProject { owner, id, name: name("Chores"), limit: None, precondition: Precondition::Unconditional };
    let details = update_project(&store, &clock(), command).await.unwrap();

    assert_eq!(details.maximum_number_of_incomplete_tasks, Some(3));
    let stored = ProjectQueries::project(&store, owner, id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Chores");
    assert_eq!(stored.maximum_number_of_incomplete_tasks, Some(3));
}

#[tokio::test]
async fn updating_with_an_explicitly_absent_limit_removes_the_limit() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(3))).await;

    let command = UpdateProject {
        owner,
        id,
        name: name("Household"),
        limit: Some(None),
        precondition: Precondition::Unconditional,
    };
    let details = update_project(&store, &clock(), command).await.unwrap();

    assert_eq!(details.maximum_number_of_incomplete_tasks, None);
    let stored = ProjectQueries::project(&store, owner, id).await.unwrap().unwrap();
    assert_eq!(stored.maximum_number_of_incomplete_tasks, None);
}

#[tokio::test]
async fn the_limit_may_be_set_to_exactly_the_number_of_incomplete_tasks() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    new_task(&store, owner, id, "First task").await;
    new_task(&store, owner, id, "Second task").await;

    let command = UpdateProject {
        owner,
        id,
        name: name("Household"),
        limit: Some(Some(limit(2))),
        precondition: Precondition::Unconditional,
    };
    let details = update_project(&store, &clock(), command).await.unwrap();

    assert_eq!(details.maximum_number_of_incomplete_tasks, Some(2));
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(3))).await;
    let before = snapshot(&store, owner, id).await;

    let command = UpdateProject {
        owner,
        id,
        name: name("Household"),
        limit: Some(Some(limit(3))),
        precondition: Precondition::Unconditional,
    };
    let details = update_project(&store, &clock(), command).await.unwrap();

    assert_eq!(Some(details), before.project);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn updating_an_archived_project_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = archived_project(&store, owner).await;
    let before = snapshot(&store, owner, id).await;

    let command =
        UpdateProject { owner, id, name: name("Chores"), limit: None, precondition: Precondition::Unconditional };
    let result = update_project(&store, &clock(), command).await;

    assert_eq!(rejection(result), UpdateProjectError::Archived);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn lowering_the_limit_below_the_incomplete_tasks_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    new_task(&store, owner, id, "First task").await;
    new_task(&store, owner, id, "Second task").await;
    let before = snapshot(&store, owner, id).await;

    let command = UpdateProject {
        owner,
        id,
        name: name("Chores"),
        limit: Some(Some(limit(1))),
        precondition: Precondition::Unconditional,
    };
    let result = update_project(&store, &clock(), command).await;

    assert_eq!(rejection(result), UpdateProjectError::LimitBelowIncompleteCount { incomplete: 2, requested: limit(1) });
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn updating_a_missing_foreign_or_deleted_project_is_project_not_found() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let foreign = new_project(&store, UserId::generate(), None).await;
    let deleted = deleted_project(&store, owner).await;
    let outbox = store.outbox_events().await;

    for id in [missing_project(), foreign, deleted] {
        let command =
            UpdateProject { owner, id, name: name("Chores"), limit: None, precondition: Precondition::Unconditional };
        assert_not_found(update_project(&store, &clock(), command).await);
    }

    assert_eq!(store.outbox_events().await, outbox);
}

// ---------------------------------------------------------------------------------
// archive_project

#[tokio::test]
async fn archiving_a_project_whose_tasks_are_all_completed_records_the_archive_time() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let task = new_task(&store, owner, id, "First task").await;
    complete_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await.unwrap();

    let details = archive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await.unwrap();

    assert_eq!(details.archived_at, Some(NOW));
    assert_eq!(ProjectQueries::project(&store, owner, id).await.unwrap(), Some(details));
    let summaries = store.projects_of(owner).await.unwrap();
    assert_eq!(summaries[0].archived_at, Some(NOW));
    assert_eq!(last_event(&store).await.event_type, "projects.ProjectArchived.v1");
}

#[tokio::test]
async fn an_empty_project_can_be_archived() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;

    let details = archive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await.unwrap();

    assert_eq!(details.archived_at, Some(NOW));
}

#[tokio::test]
async fn archiving_a_project_twice_keeps_the_first_archive_time() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let clock = clock();
    let id = new_project(&store, owner, None).await;
    archive_project(&store, &clock, owner, id, &Precondition::Unconditional).await.unwrap();
    let before = snapshot(&store, owner, id).await;

    clock.advance(Duration::hours(1));
    let details = archive_project(&store, &clock, owner, id, &Precondition::Unconditional).await.unwrap();

    assert_eq!(details.archived_at, Some(NOW));
    assert_eq!(snapshot(&store, owner, id).await, before, "nothing written");
}

#[tokio::test]
async fn archiving_a_project_with_incomplete_tasks_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let first = new_task(&store, owner, id, "First task").await;
    new_task(&store, owner, id, "Second task").await;
    new_task(&store, owner, id, "Third task").await;
    complete_task(&store, &clock(), owner, id, first, &Precondition::Unconditional).await.unwrap();
    let before = snapshot(&store, owner, id).await;

    let result = archive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await;

    assert_eq!(rejection(result), ArchiveError::HasIncompleteTasks { incomplete: 2 });
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn archiving_a_missing_foreign_or_deleted_project_is_project_not_found() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let other = UserId::generate();
    let foreign = new_project(&store, other, None).await;
    let deleted = deleted_project(&store, owner).await;
    let outbox = store.outbox_events().await;

    for id in [missing_project(), foreign, deleted] {
        assert_not_found(archive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await);
    }

    assert_eq!(store.outbox_events().await, outbox);
    let foreign_details = ProjectQueries::project(&store, other, foreign).await.unwrap().unwrap();
    assert_eq!(foreign_details.archived_at, None, "the owner's project is untouched");
}

// ---------------------------------------------------------------------------------
// unarchive_project

#[tokio::test]
async fn unarchiving_an_archived_project_makes_it_writable_again() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = archived_project(&store, owner).await;

    let details = unarchive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await.unwrap();

    assert_eq!(details.archived_at, None);
    assert_eq!(ProjectQueries::project(&store, owner, id).await.unwrap(), Some(details));
    assert_eq!(last_event(&store).await.event_type, "projects.ProjectUnarchived.v1");
    assert_eq!(new_task(&store, owner, id, "Fresh task").await, number(2));
}

#[tokio::test]
async fn unarchiving_a_project_that_is_not_archived_returns_it_unchanged_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(4))).await;
    let before = snapshot(&store, owner, id).await;

    let details = unarchive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await.unwrap();

    assert_eq!(Some(details), before.project);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn unarchiving_a_missing_foreign_or_deleted_project_is_project_not_found() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let other = UserId::generate();
    let foreign = archived_project(&store, other).await;
    let deleted = deleted_project(&store, owner).await;
    let outbox = store.outbox_events().await;

    for id in [missing_project(), foreign, deleted] {
        assert_not_found(unarchive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await);
    }

    assert_eq!(store.outbox_events().await, outbox);
    let foreign_details = ProjectQueries::project(&store, other, foreign).await.unwrap().unwrap();
    assert_eq!(foreign_details.archived_at, Some(NOW), "still archived");
}

// ---------------------------------------------------------------------------------
// delete_project

#[tokio::test]
async fn deleting_an_archived_project_hides_it_from_its_owner() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let kept = new_project(&store, owner, None).await;
    let id = archived_project(&store, owner).await;

    delete_project(&store, &clock(), owner, id, &Precondition::Unconditional).await.unwrap();

    assert_eq!(ProjectQueries::project(&store, owner, id).await.unwrap(), None);
    assert_eq!(store.tasks(owner, id).await.unwrap(), None);
    assert_eq!(store.task(owner, id, number(1)).await.unwrap(), None);
    let remaining: Vec<_> = store.projects_of(owner).await.unwrap().into_iter().map(|summary| summary.id).collect();
    assert_eq!(remaining, [kept]);
    let event = last_event(&store).await;
    assert_eq!(event.event_type, "projects.ProjectDeleted.v1");
    assert_eq!(event.aggregate_id, id.to_string());
}

#[tokio::test]
async fn deleting_a_project_that_is_not_archived_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let before = snapshot(&store, owner, id).await;

    let result = delete_project(&store, &clock(), owner, id, &Precondition::Unconditional).await;

    assert_eq!(rejection(result), DeleteError::NotArchived);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn deleting_a_missing_foreign_or_already_deleted_project_is_project_not_found() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let other = UserId::generate();
    let foreign = archived_project(&store, other).await;
    let deleted = deleted_project(&store, owner).await;
    let outbox = store.outbox_events().await;

    for id in [missing_project(), foreign, deleted] {
        assert_not_found(delete_project(&store, &clock(), owner, id, &Precondition::Unconditional).await);
    }

    assert_eq!(store.outbox_events().await, outbox);
    assert!(
        ProjectQueries::project(&store, other, foreign).await.unwrap().is_some(),
        "another user cannot delete the owner's project"
    );
}

// ---------------------------------------------------------------------------------
// add_task

#[tokio::test]
async fn adding_tasks_numbers_them_from_one_and_returns_each_new_task() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;

    let command = |name: &str| AddTask { owner, project: id, name: task_name(name) };
    let first = add_task(&store, &clock(), command("Do the shopping"), None).await.unwrap();
    let second = add_task(&store, &clock(), command("Clean the house"), None).await.unwrap();

    let expected = vec![
        TaskDetails { number: number(1), name: "Do the shopping".into(), completed_at: None },
        TaskDetails { number: number(2), name: "Clean the house".into(), completed_at: None },
    ];
    assert_eq!(vec![first, second], expected);
    assert_eq!(store.tasks(owner, id).await.unwrap(), Some(expected.clone()));
    assert_eq!(store.task(owner, id, number(2)).await.unwrap(), Some(expected[1].clone()));
    assert_eq!(
        outbox_types(&store).await,
        ["projects.ProjectCreated.v1", "projects.TaskAdded.v1", "projects.TaskAdded.v1"]
    );
}

#[tokio::test]
async fn task_numbers_are_counted_per_project() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let first_project = new_project(&store, owner, None).await;
    let second_project = new_project(&store, owner, None).await;

    new_task(&store, owner, first_project, "First task").await;
    new_task(&store, owner, first_project, "Second task").await;

    assert_eq!(new_task(&store, owner, second_project, "Other first").await, number(1));
}

#[tokio::test]
async fn adding_a_task_to_an_archived_project_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = archived_project(&store, owner).await;
    let before = snapshot(&store, owner, id).await;

    let command = AddTask { owner, project: id, name: task_name("Late task") };
    let result = add_task(&store, &clock(), command, None).await;

    assert_eq!(rejection(result), AddTaskError::Archived);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn adding_a_task_when_the_limit_is_reached_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(2))).await;
    new_task(&store, owner, id, "First task").await;
    new_task(&store, owner, id, "Second task").await;
    let before = snapshot(&store, owner, id).await;

    let command = AddTask { owner, project: id, name: task_name("Third task") };
    let result = add_task(&store, &clock(), command, None).await;

    assert_eq!(rejection(result), AddTaskError::LimitReached { limit: limit(2) });
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn completing_a_task_frees_a_slot_under_the_limit_without_reusing_its_number() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(1))).await;
    let first = new_task(&store, owner, id, "First task").await;
    complete_task(&store, &clock(), owner, id, first, &Precondition::Unconditional).await.unwrap();

    assert_eq!(new_task(&store, owner, id, "Second task").await, number(2));
}

#[tokio::test]
async fn adding_a_task_to_a_missing_foreign_or_deleted_project_is_project_not_found() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let other = UserId::generate();
    let foreign = new_project(&store, other, None).await;
    let deleted = deleted_project(&store, owner).await;
    let outbox = store.outbox_events().await;

    for id in [missing_project(), foreign, deleted] {
        let command = AddTask { owner, project: id, name: task_name("Sneaky task") };
        assert_not_found(add_task(&store, &clock(), command, None).await);
    }

    assert_eq!(store.outbox_events().await, outbox);
    assert_eq!(store.tasks(other, foreign).await.unwrap(), Some(vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_additions_all_succeed_with_numbers_one_to_twenty() {
    let store = InMemoryProjects::default();
    let clock = Arc::new(clock());
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;

    let additions: Vec<_> = (1..=20)
        .map(|n| {
            let (store, clock) = (store.clone(), Arc::clone(&clock));
            tokio::spawn(async move {
                let command = AddTask { owner, project: id, name: task_name(&format!("Concurrent task {n}")) };
                add_task(&store, &*clock, command, None).await
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for addition in additions {
        numbers.push(addition.await.unwrap().unwrap().number.get());
    }

    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
    let stored: Vec<_> =
        store.tasks(owner, id).await.unwrap().unwrap().into_iter().map(|task| task.number.get()).collect();
    assert_eq!(stored, (1..=20).collect::<Vec<_>>());
    let added =
        outbox_types(&store).await.into_iter().filter(|event_type| event_type == "projects.TaskAdded.v1").count();
    assert_eq!(added, 20, "one event per task, none from a lost attempt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_additions_never_exceed_the_limit() {
    let store = InMemoryProjects::default();
    let clock = Arc::new(clock());
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(5))).await;

    let additions: Vec<_> = (1..=12)
        .map(|n| {
            let (store, clock) = (store.clone(), Arc::clone(&clock));
            tokio::spawn(async move {
                let command = AddTask { owner, project: id, name: task_name(&format!("Concurrent task {n}")) };
                add_task(&store, &*clock, command, None).await
            })
        })
        .collect();
    let (mut numbers, mut refused) = (Vec::new(), 0);
    for addition in additions {
        match addition.await.unwrap() {
            Ok(task) => numbers.push(task.number.get()),
            Err(CommandError::Rejected(AddTaskError::LimitReached { .. })) => refused += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    assert_eq!(refused, 7);
    assert_eq!(store.tasks(owner, id).await.unwrap().unwrap().len(), 5);
}

// ---------------------------------------------------------------------------------
// complete_task

#[tokio::test]
async fn completing_a_task_records_the_completion_time() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let task = new_task(&store, owner, id, "First task").await;

    let details = complete_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await.unwrap();

    let expected = TaskDetails { number: task, name: "First task".into(), completed_at: Some(NOW) };
    assert_eq!(details, expected);
    assert_eq!(store.task(owner, id, task).await.unwrap(), Some(expected));
    let event = last_event(&store).await;
    assert_eq!(event.event_type, "projects.TaskCompleted.v1");
    assert_eq!(event.payload["number"], 1);
}

#[tokio::test]
async fn completing_a_task_twice_keeps_the_first_completion_time() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let clock = clock();
    let id = new_project(&store, owner, None).await;
    let task = new_task(&store, owner, id, "First task").await;
    complete_task(&store, &clock, owner, id, task, &Precondition::Unconditional).await.unwrap();
    let before = snapshot(&store, owner, id).await;

    clock.advance(Duration::minutes(30));
    let details = complete_task(&store, &clock, owner, id, task, &Precondition::Unconditional).await.unwrap();

    assert_eq!(details.completed_at, Some(NOW));
    assert_eq!(snapshot(&store, owner, id).await, before, "nothing written");
}

#[tokio::test]
async fn completing_an_unknown_task_is_refused_as_task_not_found_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    new_task(&store, owner, id, "First task").await;
    let before = snapshot(&store, owner, id).await;

    let result = complete_task(&store, &clock(), owner, id, number(2), &Precondition::Unconditional).await;

    assert_eq!(rejection(result), CompleteTaskError::TaskNotFound);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn completing_a_task_of_an_archived_project_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = archived_project(&store, owner).await;
    let before = snapshot(&store, owner, id).await;

    let result = complete_task(&store, &clock(), owner, id, number(1), &Precondition::Unconditional).await;

    assert_eq!(rejection(result), CompleteTaskError::Archived);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn completing_a_task_of_a_missing_foreign_or_deleted_project_is_project_not_found() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let other = UserId::generate();
    let foreign = new_project(&store, other, None).await;
    let task = new_task(&store, other, foreign, "Their task").await;
    let deleted = deleted_project(&store, owner).await;
    let outbox = store.outbox_events().await;

    for id in [missing_project(), foreign, deleted] {
        assert_not_found(complete_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await);
    }

    assert_eq!(store.outbox_events().await, outbox);
    let their_task = store.task(other, foreign, task).await.unwrap().unwrap();
    assert_eq!(their_task.completed_at, None);
}

// ---------------------------------------------------------------------------------
// reopen_task

#[tokio::test]
async fn reopening_a_completed_task_makes_it_incomplete_again() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let task = new_task(&store, owner, id, "First task").await;
    complete_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await.unwrap();

    let details = reopen_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await.unwrap();

    let expected = TaskDetails { number: task, name: "First task".into(), completed_at: None };
    assert_eq!(details, expected);
    assert_eq!(store.task(owner, id, task).await.unwrap(), Some(expected));
    assert_eq!(last_event(&store).await.event_type, "projects.TaskReopened.v1");
    assert_eq!(
        rejection(archive_project(&store, &clock(), owner, id, &Precondition::Unconditional).await),
        ArchiveError::HasIncompleteTasks { incomplete: 1 },
        "the reopened task counts as incomplete"
    );
}

#[tokio::test]
async fn reopening_an_incomplete_task_returns_it_unchanged_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(1))).await;
    let task = new_task(&store, owner, id, "First task").await;
    let before = snapshot(&store, owner, id).await;

    let details = reopen_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await.unwrap();

    assert_eq!(details.completed_at, None);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn reopening_an_unknown_task_is_refused_as_task_not_found_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let before = snapshot(&store, owner, id).await;

    let result = reopen_task(&store, &clock(), owner, id, number(1), &Precondition::Unconditional).await;

    assert_eq!(rejection(result), ReopenTaskError::TaskNotFound);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn reopening_a_task_of_an_archived_project_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = archived_project(&store, owner).await;
    let before = snapshot(&store, owner, id).await;

    let result = reopen_task(&store, &clock(), owner, id, number(1), &Precondition::Unconditional).await;

    assert_eq!(rejection(result), ReopenTaskError::Archived);
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn reopening_a_task_when_the_limit_is_reached_is_refused_and_writes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, Some(limit(1))).await;
    let first = new_task(&store, owner, id, "First task").await;
    complete_task(&store, &clock(), owner, id, first, &Precondition::Unconditional).await.unwrap();
    new_task(&store, owner, id, "Second task").await;
    let before = snapshot(&store, owner, id).await;

    let result = reopen_task(&store, &clock(), owner, id, first, &Precondition::Unconditional).await;

    assert_eq!(rejection(result), ReopenTaskError::LimitReached { limit: limit(1) });
    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn reopening_a_task_of_a_missing_foreign_or_deleted_project_is_project_not_found() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let other = UserId::generate();
    let foreign = new_project(&store, other, None).await;
    let task = new_task(&store, other, foreign, "Their task").await;
    complete_task(&store, &clock(), other, foreign, task, &Precondition::Unconditional).await.unwrap();
    let deleted = deleted_project(&store, owner).await;
    let outbox = store.outbox_events().await;

    for id in [missing_project(), foreign, deleted] {
        assert_not_found(reopen_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await);
    }

    assert_eq!(store.outbox_events().await, outbox);
    let their_task = store.task(other, foreign, task).await.unwrap().unwrap();
    assert_eq!(their_task.completed_at, Some(NOW));
}

// ---------------------------------------------------------------------------------
// create_starter_project

#[tokio::test]
async fn a_new_user_gets_a_starter_project_with_sign_up_already_completed() {
    let store = InMemoryProjects::default();
    let user = UserId::generate();
    let event = account_created(user);

    let outcome = create_starter_project(&store, EventId::generate(), &event).await.unwrap();

    assert_eq!(outcome, StarterProjectOutcome::Created);
    let projects = store.projects_of(user).await.unwrap();
    assert_eq!(projects.len(), 1);
    let id = projects[0].id;
    assert_eq!(
        ProjectQueries::project(&store, user, id).await.unwrap(),
        Some(ProjectDetails {
            id,
            name: "My first project".into(),
            maximum_number_of_incomplete_tasks: None,
            archived_at: None,
            version: 1,
        })
    );
    let tasks: Vec<_> = store
        .tasks(user, id)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|task| (task.number.get(), task.name, task.completed_at))
        .collect();
    assert_eq!(
        tasks,
        [
            (1, "Sign up!".to_owned(), Some(event.occurred_at)),
            (2, "Watch the tutorial".to_owned(), None),
            (3, "Start using our awesome app".to_owned(), None),
        ]
    );
    assert_eq!(
        outbox_types(&store).await,
        [
            "projects.ProjectCreated.v1",
            "projects.TaskAdded.v1",
            "projects.TaskAdded.v1",
            "projects.TaskAdded.v1",
            "projects.TaskCompleted.v1",
        ]
    );
}

#[tokio::test]
async fn the_starter_project_is_an_ordinary_project_of_its_owner() {
    let store = InMemoryProjects::default();
    let user = UserId::generate();
    create_starter_project(&store, EventId::generate(), &account_created(user)).await.unwrap();
    let id = store.projects_of(user).await.unwrap()[0].id;

    assert_eq!(new_task(&store, user, id, "Invite a friend").await, number(4));
    assert_eq!(
        rejection(archive_project(&store, &clock(), user, id, &Precondition::Unconditional).await),
        ArchiveError::HasIncompleteTasks { incomplete: 3 }
    );
}

#[tokio::test]
async fn delivering_the_same_event_twice_creates_one_starter_project() {
    let store = InMemoryProjects::default();
    let user = UserId::generate();
    let event = account_created(user);
    let event_id = EventId::generate();
    create_starter_project(&store, event_id, &event).await.unwrap();
    let outbox = store.outbox_events().await;

    let outcome = create_starter_project(&store, event_id, &event).await.unwrap();

    assert_eq!(outcome, StarterProjectOutcome::AlreadyHandled);
    assert_eq!(store.projects_of(user).await.unwrap().len(), 1);
    assert_eq!(store.outbox_events().await, outbox, "nothing written");
}

#[tokio::test]
async fn two_events_for_two_users_create_one_starter_project_each() {
    let store = InMemoryProjects::default();
    let (alice, bob) = (UserId::generate(), UserId::generate());

    let first = create_starter_project(&store, EventId::generate(), &account_created(alice)).await.unwrap();
    let second = create_starter_project(&store, EventId::generate(), &account_created(bob)).await.unwrap();

    assert_eq!(first, StarterProjectOutcome::Created);
    assert_eq!(second, StarterProjectOutcome::Created);
    let alices = store.projects_of(alice).await.unwrap();
    let bobs = store.projects_of(bob).await.unwrap();
    assert_eq!((alices.len(), bobs.len()), (1, 1));
    assert_ne!(alices[0].id, bobs[0].id);
    assert_eq!(bobs[0].name, "My first project");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_the_same_event_create_one_starter_project() {
    let store = InMemoryProjects::default();
    let user = UserId::generate();
    let event = account_created(user);
    let event_id = EventId::generate();

    let deliveries: Vec<_> = (0..8)
        .map(|_| {
            let (store, event) = (store.clone(), event.clone());
            tokio::spawn(async move { create_starter_project(&store, event_id, &event).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for delivery in deliveries {
        outcomes.push(delivery.await.unwrap().unwrap());
    }

    let created = outcomes.iter().filter(|outcome| **outcome == StarterProjectOutcome::Created).count();
    assert_eq!(created, 1, "{outcomes:?}");
    assert_eq!(store.projects_of(user).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------
// erase_projects_of_deleted_account

fn account_deleted(user: UserId) -> taskdeck_kernel::UserAccountDeleted {
    taskdeck_kernel::UserAccountDeleted { user_id: user, occurred_at: datetime!(2026-12-02 10:00:00 UTC) }
}

#[tokio::test]
async fn an_erased_account_loses_every_project_and_task_and_others_keep_theirs() {
    let store = InMemoryProjects::default();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    create_starter_project(&store, EventId::generate(), &account_created(alice)).await.unwrap();
    create_starter_project(&store, EventId::generate(), &account_created(bob)).await.unwrap();
    let clock = clock();
    let created =
        create_project(&store, &clock, CreateProject { owner: alice, name: name("Household"), limit: None }, None);
    let deleted = created.await.unwrap().id;
    archive_project(&store, &clock, alice, deleted, &Precondition::Unconditional).await.unwrap();
    delete_project(&store, &clock, alice, deleted, &Precondition::Unconditional).await.unwrap();

    let outcome = erase_projects_of_deleted_account(&store, EventId::generate(), &account_deleted(alice)).await;

    assert_eq!(outcome.unwrap(), ErasureOutcome::Erased(2), "the soft-deleted project too");
    assert!(store.projects_of(alice).await.unwrap().is_empty());
    assert_eq!(store.projects_of(bob).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_redelivered_erasure_changes_nothing() {
    let store = InMemoryProjects::default();
    let alice = UserId::generate();
    create_starter_project(&store, EventId::generate(), &account_created(alice)).await.unwrap();
    let event_id = EventId::generate();
    erase_projects_of_deleted_account(&store, event_id, &account_deleted(alice)).await.unwrap();

    let again = erase_projects_of_deleted_account(&store, event_id, &account_deleted(alice)).await.unwrap();

    assert_eq!(again, ErasureOutcome::AlreadyHandled);
}

// ---------------------------------------------------------------------------------
// preconditions (If-Match)

fn expecting(tags: &[&EntityTag]) -> Precondition {
    Precondition::OneOf(tags.iter().map(|&tag| tag.clone()).collect())
}

fn assert_precondition_failed<T: Debug, E: Debug>(result: Result<T, CommandError<E>>) {
    match result {
        Err(CommandError::PreconditionFailed) => {}
        other => panic!("expected PreconditionFailed, got {other:?}"),
    }
}

async fn project_tag(store: &InMemoryProjects, owner: UserId, id: ProjectId) -> EntityTag {
    ProjectQueries::project(store, owner, id).await.unwrap().unwrap().entity_tag()
}

async fn task_tag(store: &InMemoryProjects, owner: UserId, id: ProjectId, task: TaskNumber) -> EntityTag {
    store.task(owner, id, task).await.unwrap().unwrap().entity_tag()
}

#[tokio::test]
async fn a_project_command_with_the_current_tag_succeeds_and_answers_the_new_tag() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let read = project_tag(&store, owner, id).await;

    let command = UpdateProject { owner, id, name: name("Chores"), limit: None, precondition: expecting(&[&read]) };
    let details = update_project(&store, &clock(), command).await.unwrap();

    assert_ne!(details.entity_tag(), read);
    assert_eq!(details.entity_tag(), project_tag(&store, owner, id).await);
}

#[tokio::test]
async fn a_project_command_with_a_stale_tag_is_refused_and_changes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let stale = project_tag(&store, owner, id).await;
    let rename =
        UpdateProject { owner, id, name: name("Chores"), limit: None, precondition: Precondition::Unconditional };
    update_project(&store, &clock(), rename).await.unwrap();
    let before = snapshot(&store, owner, id).await;

    let overwrite = UpdateProject { owner, id, name: name("Garden"), limit: None, precondition: expecting(&[&stale]) };
    assert_precondition_failed(update_project(&store, &clock(), overwrite).await);
    assert_precondition_failed(archive_project(&store, &clock(), owner, id, &expecting(&[&stale])).await);
    assert_precondition_failed(unarchive_project(&store, &clock(), owner, id, &expecting(&[&stale])).await);
    assert_precondition_failed(delete_project(&store, &clock(), owner, id, &expecting(&[&stale])).await);
    assert_precondition_failed(archive_project(&store, &clock(), owner, id, &expecting(&[])).await);

    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn any_current_tag_in_the_list_admits_the_command() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let current = project_tag(&store, owner, id).await;

    let precondition = expecting(&[&EntityTag::from_client("elsewhere"), &current]);
    let details = archive_project(&store, &clock(), owner, id, &precondition).await.unwrap();

    assert!(details.archived_at.is_some());
}

#[tokio::test]
async fn a_task_added_moves_the_project_tag_but_not_the_other_tasks_tags() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let first = new_task(&store, owner, id, "First task").await;
    let (project_before, task_before) =
        (project_tag(&store, owner, id).await, task_tag(&store, owner, id, first).await);

    new_task(&store, owner, id, "Second task").await;

    assert_ne!(project_tag(&store, owner, id).await, project_before);
    assert_eq!(task_tag(&store, owner, id, first).await, task_before);
    let completed = complete_task(&store, &clock(), owner, id, first, &expecting(&[&task_before])).await.unwrap();
    assert_ne!(completed.entity_tag(), task_before);
    assert_eq!(completed.entity_tag(), task_tag(&store, owner, id, first).await);
}

#[tokio::test]
async fn a_task_command_with_a_stale_tag_is_refused_and_changes_nothing() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let task = new_task(&store, owner, id, "Water plants").await;
    let stale = task_tag(&store, owner, id, task).await;
    complete_task(&store, &clock(), owner, id, task, &Precondition::Unconditional).await.unwrap();
    let before = snapshot(&store, owner, id).await;

    assert_precondition_failed(reopen_task(&store, &clock(), owner, id, task, &expecting(&[&stale])).await);
    assert_precondition_failed(complete_task(&store, &clock(), owner, id, task, &expecting(&[&stale])).await);

    assert_eq!(snapshot(&store, owner, id).await, before);
}

#[tokio::test]
async fn a_missing_project_or_task_is_not_found_before_any_precondition() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let nothing = expecting(&[]);

    assert_not_found(archive_project(&store, &clock(), owner, missing_project(), &nothing).await);
    assert!(matches!(
        rejection(complete_task(&store, &clock(), owner, id, number(9), &nothing).await),
        CompleteTaskError::TaskNotFound
    ));
}

#[tokio::test]
async fn a_stale_tag_is_refused_before_the_rules_are_asked() {
    let store = InMemoryProjects::default();
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;

    // Not archived: without the precondition this would be the domain's refusal.
    assert_precondition_failed(delete_project(&store, &clock(), owner, id, &expecting(&[])).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_renames_read_at_one_tag_exactly_one_wins() {
    let store = InMemoryProjects::default();
    let clock = Arc::new(clock());
    let owner = UserId::generate();
    let id = new_project(&store, owner, None).await;
    let read = project_tag(&store, owner, id).await;

    let renames: Vec<_> = (1..=20)
        .map(|n| {
            let (store, clock, read) = (store.clone(), Arc::clone(&clock), read.clone());
            tokio::spawn(async move {
                let precondition = Precondition::OneOf(vec![read]);
                let command =
                    UpdateProject { owner, id, name: name(&format!("Rename {n}")), limit: None, precondition };
                update_project(&store, &*clock, command).await
            })
        })
        .collect();
    let (mut won, mut refused) = (0, 0);
    for rename in renames {
        match rename.await.unwrap() {
            Ok(_) => won += 1,
            Err(CommandError::PreconditionFailed) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    assert_eq!((won, refused), (1, 19));
    let updated =
        outbox_types(&store).await.into_iter().filter(|event_type| event_type == "projects.ProjectUpdated.v1").count();
    assert_eq!(updated, 1);
}
