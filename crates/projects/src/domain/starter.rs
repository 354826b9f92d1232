//! The project every new user starts with.

use taskdeck_kernel::UserId;
use time::OffsetDateTime;

use super::{Project, ProjectId, ProjectName, TaskName};

pub const STARTER_PROJECT_NAME: &str = "My first project";
const STARTER_TASKS: [&str; 3] = ["Sign up!", "Watch the tutorial", "Start using our awesome app"];

impl Project {
    /// The starter project of a user who registered at `registered_at`: three tasks,
    /// the first ("Sign up!") already completed at registration time.
    #[must_use]
    pub fn starter(id: ProjectId, owner: UserId, registered_at: OffsetDateTime) -> Self {
        let mut project = Self::create(id, owner, starter_name(STARTER_PROJECT_NAME), None, registered_at);
        for name in STARTER_TASKS {
            // Every starter name is valid and the project has no limit: these cannot fail.
            let _ = project.add_task(starter_task(name), registered_at);
        }
        let _ = project.complete_task(super::TaskNumber::FIRST, registered_at);
        project
    }
}

fn starter_name(name: &str) -> ProjectName {
    ProjectName::parse(name).unwrap_or_else(|_| unreachable!("the starter project name is valid"))
}

fn starter_task(name: &str) -> TaskName {
    TaskName::parse(name).unwrap_or_else(|_| unreachable!("starter task names are valid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TaskNumber;
    use time::macros::datetime;

    #[test]
    fn the_starter_project_has_three_tasks_and_sign_up_is_done() {
        let registered_at = datetime!(2026-11-24 10:15:00 UTC);
        let project = Project::starter(ProjectId::new(1).unwrap(), UserId::generate(), registered_at);

        assert_eq!(project.state().name.as_str(), "My first project");
        assert_eq!(project.state().limit, None);
        let tasks: Vec<(i64, &str, Option<OffsetDateTime>)> =
            project.new_tasks().map(|task| (task.number().get(), task.name().as_str(), task.completed_at())).collect();
        assert_eq!(
            tasks,
            vec![
                (1, "Sign up!", Some(registered_at)),
                (2, "Watch the tutorial", None),
                (3, "Start using our awesome app", None),
            ]
        );
        assert_eq!(project.state().incomplete_tasks, 2);
        assert_eq!(project.task(TaskNumber::FIRST).map(|task| task.is_completed()), Some(true));
    }
}
