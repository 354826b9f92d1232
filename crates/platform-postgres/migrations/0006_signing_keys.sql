-- The Ed25519 keys that sign access tokens when no secret is configured. The newest
-- generation signs; a rotation marks the one it replaces superseded, which still
-- verifies its tokens until they have expired. Anyone who can read this table can
-- sign tokens: protect the database (or keep the key in TASKDECK_SIGNING_KEY_FILE).
CREATE TABLE signing_keys (
    -- 1, 2, 3…: instances racing to store the first key, or two rotations at once,
    -- collide here and only one wins.
    generation bigint PRIMARY KEY,
    -- The RFC 7638 thumbprint of the public key: the `kid` of its tokens.
    kid text NOT NULL UNIQUE,
    -- The 32-byte Ed25519 seed and public key.
    private_key bytea NOT NULL,
    public_key bytea NOT NULL,
    created_at timestamptz NOT NULL,
    superseded_at timestamptz
);

-- v1 signed with a generated HS256 secret kept in settings. Nothing verifies with it
-- any more (v1 tokens name no session), so it goes rather than linger as a secret.
DELETE FROM settings WHERE key = 'jwt_secret';
