-- MyAuth, second migration: user versions, sessions, abuse counters, the audit log and
-- second factors. Existing databases upgrade in place: every existing user starts at
-- token_version 0 and session_epoch 0 with no session, and refresh tokens issued before
-- this migration (their family has no session row) end at their next use.

-- The two counters that only grow (see auth_core::SessionRecord) and the time of the last
-- raise, which feeds revocations_since. versioned_at is internal: it is not part of User.
ALTER TABLE users
    ADD COLUMN token_version bigint      NOT NULL DEFAULT 0,
    ADD COLUMN session_epoch bigint      NOT NULL DEFAULT 0,
    ADD COLUMN versioned_at  timestamptz;

-- revocations_since: users whose token_version was raised after a time.
CREATE INDEX users_versioned_at_idx ON users (versioned_at) WHERE versioned_at IS NOT NULL;

-- One row per login. Its refresh tokens are the tokens with family_id = sessions.id; there
-- is no foreign key from tokens to sessions, because tokens of earlier versions have
-- families without a session row.
CREATE TABLE sessions (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    epoch        bigint      NOT NULL,
    user_agent   text,
    ip           text
);

-- list_user_sessions (newest first) and revoke_user_sessions.
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at DESC, id DESC);
-- revocations_since: sessions ended after a time.
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
-- purge_expired_sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Abuse counters, all times in milliseconds since the Unix epoch. A token bucket (kind
-- 'rate') keeps the GCRA theoretical arrival time in tat and expires at it; a login
-- throttle (kind 'throttle') keeps failures and blocked_until. The kind is part of the key,
-- as the reference store keeps buckets and throttles apart.
CREATE TABLE counters (
    key           bytea   NOT NULL CHECK (octet_length(key) = 32),
    kind          text    NOT NULL CHECK (kind IN ('rate', 'throttle')),
    tat           bigint  NOT NULL DEFAULT 0,
    failures      bigint  NOT NULL DEFAULT 0 CHECK (failures >= 0),
    blocked_until bigint  NOT NULL DEFAULT 0,
    expires_at    bigint  NOT NULL,
    PRIMARY KEY (key, kind)
);

-- purge_expired_counters.
CREATE INDEX counters_expires_at_idx ON counters (expires_at);

-- The hash-chained audit log. The store keeps records exactly as given: detail is the JSON
-- text serde_json wrote (the hash covers that text, so it is not jsonb), hashes are bytes.
-- The primary key on seq is what makes one of two writers racing for a position lose.
-- No foreign keys: the log outlives the accounts and sessions it names.
CREATE TABLE audit_records (
    seq        bigint      PRIMARY KEY,
    at         timestamptz NOT NULL,
    event      text        NOT NULL,
    user_id    uuid,
    actor_id   uuid,
    session_id uuid,
    ip         text,
    user_agent text,
    detail     text        NOT NULL,
    prev_hash  bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash       bytea       NOT NULL CHECK (octet_length(hash) = 32)
);

-- list_audit_records by account and by event, newest first.
CREATE INDEX audit_records_user_id_seq_idx ON audit_records (user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX audit_records_event_seq_idx ON audit_records (event, seq);

-- What the last purge left: at most one row.
CREATE TABLE audit_anchor (
    id        boolean     PRIMARY KEY DEFAULT true CHECK (id),
    seq       bigint      NOT NULL,
    hash      bytea       NOT NULL CHECK (octet_length(hash) = 32),
    purged_at timestamptz NOT NULL
);

-- A user's TOTP enrolment, pending (confirmed_at NULL) or confirmed. The secret arrives
-- encrypted by the service.
CREATE TABLE totp_enrolments (
    user_id            uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret             bytea       NOT NULL,
    created_at         timestamptz NOT NULL,
    confirmed_at       timestamptz,
    pending_expires_at timestamptz NOT NULL,
    last_used_step     bigint
);

-- purge_expired_totp: pending enrolments only.
CREATE INDEX totp_enrolments_pending_idx ON totp_enrolments (pending_expires_at)
    WHERE confirmed_at IS NULL;

-- Recovery codes, as keyed hashes; each usable once.
CREATE TABLE recovery_codes (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL CHECK (octet_length(code_hash) = 32),
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
