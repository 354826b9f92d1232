-- Projects context: the task list reads number, name and completion straight from the
-- primary key's index (an index-only scan once autovacuum has marked the pages
-- visible) instead of visiting a heap page per task. A completion changes an indexed
-- column either way (the partial indexes of migration 8), so this costs no HOT update.
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey,
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (project_id, number) INCLUDE (name, completed_at);
