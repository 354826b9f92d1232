-- Instance-wide settings shared by every taskdeck instance on this database, such as
-- the generated token signing key: the first instance to start inserts it, the others
-- read the same row.
CREATE TABLE settings (
    key text PRIMARY KEY,
    value text NOT NULL
);
