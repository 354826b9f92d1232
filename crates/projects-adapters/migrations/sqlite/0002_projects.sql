-- Projects context: projects and their tasks.
--
-- The project row carries the two counters every task rule needs (last task number,
-- incomplete task count), so adding or completing a task reads one project row and at
-- most one task row, whatever the size of the project.
CREATE TABLE projects (
    -- Assigned by the repository inside the write transaction; never reused because
    -- projects are only ever soft-deleted.
    id INTEGER PRIMARY KEY NOT NULL,
    -- The owning user's id. No foreign key to users: the contexts share no tables and
    -- learn about users only through the UserAccountCreated event.
    owner_id BLOB NOT NULL,
    name TEXT NOT NULL,
    -- NULL = no limit on incomplete tasks.
    max_incomplete_tasks INTEGER CHECK (max_incomplete_tasks >= 1),
    archived_at TEXT,
    -- Soft delete: the row stays, every query hides it.
    deleted_at TEXT,
    last_task_number INTEGER NOT NULL DEFAULT 0 CHECK (last_task_number >= 0),
    incomplete_tasks INTEGER NOT NULL DEFAULT 0 CHECK (incomplete_tasks >= 0),
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- "My projects" lists: the owner's live projects in id order.
CREATE INDEX projects_by_owner ON projects (owner_id, id) WHERE deleted_at IS NULL;

CREATE TABLE tasks (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    -- 1, 2, 3… per project; the primary key makes a duplicate number impossible.
    number INTEGER NOT NULL CHECK (number >= 1),
    name TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (project_id, number)
) STRICT, WITHOUT ROWID;
