-- MyAuth: users and their single-use tokens.
--
-- Encodings (see the crate docs):
-- * ids (users.id, tokens.id, tokens.user_id, tokens.family_id): the 16 bytes of the UUID;
-- * tokens.token_hash: the 32 bytes of the SHA-256 of the token, never the token itself;
-- * times: INTEGER milliseconds since the Unix epoch (UTC), so they read back exactly and
--   compare correctly in SQL;
-- * roles: a JSON array of strings; user_settings: a JSON object;
-- * booleans: 0 or 1.
-- STRICT tables make SQLite refuse values of the wrong type instead of storing them.

CREATE TABLE users (
    id            BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    email         TEXT    NOT NULL UNIQUE,
    username      TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    roles         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(roles)),
    user_settings TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(user_settings)),
    is_verified   INTEGER NOT NULL DEFAULT 0 CHECK (is_verified IN (0, 1)),
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- list_users pages in this order.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

CREATE TABLE tokens (
    id                BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    user_id           BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL CHECK (kind IN ('refresh', 'password_reset')),
    token_hash        BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    family_id         BLOB             CHECK (family_id IS NULL OR length(family_id) = 16),
    family_expires_at INTEGER,
    expires_at        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    used_at           INTEGER,
    revoked_at        INTEGER
) STRICT;

CREATE INDEX tokens_user_id_idx ON tokens (user_id);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);
CREATE INDEX tokens_family_id_idx ON tokens (family_id);
