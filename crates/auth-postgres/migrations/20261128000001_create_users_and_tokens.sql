-- MyAuth tables: users and their opaque tokens (refresh and password reset).
-- Unqualified names: they land in the first schema of the connection's search_path,
-- which PostgresStore sets when it is given a schema.

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    -- Normalised by the service (trimmed, lower case) before it gets here.
    email         text        NOT NULL,
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    roles         text[]      NOT NULL DEFAULT '{}',
    user_settings jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_verified   boolean     NOT NULL DEFAULT false,
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT users_settings_is_object CHECK (jsonb_typeof(user_settings) = 'object')
);

-- One account per normalised email, decided by the database across every process.
CREATE UNIQUE INDEX users_email_key ON users (email);
-- The admin listing pages oldest first, ties by id.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

CREATE TABLE tokens (
    id                uuid        PRIMARY KEY,
    user_id           uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              text        NOT NULL CHECK (kind IN ('refresh', 'password_reset')),
    -- SHA-256 of the token; the token itself is never stored.
    token_hash        bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    family_id         uuid,
    family_expires_at timestamptz,
    expires_at        timestamptz NOT NULL,
    created_at        timestamptz NOT NULL,
    used_at           timestamptz,
    revoked_at        timestamptz
);

CREATE UNIQUE INDEX tokens_token_hash_key ON tokens (token_hash);
CREATE INDEX tokens_user_id_idx ON tokens (user_id);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);
CREATE INDEX tokens_family_id_idx ON tokens (family_id) WHERE family_id IS NOT NULL;
