-- Instance-wide settings that must survive restarts, such as the generated token
-- signing key (when TASKDECK_JWT_SECRET is not given).
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
