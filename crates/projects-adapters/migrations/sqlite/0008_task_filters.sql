-- Projects context: the task list filtered by completion reads only the tasks it
-- shows, in number order, however many tasks of the other kind a project holds.
CREATE INDEX tasks_open ON tasks (project_id, number) WHERE completed_at IS NULL;
CREATE INDEX tasks_done ON tasks (project_id, number) WHERE completed_at IS NOT NULL;
