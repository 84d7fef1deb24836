-- MyAuth: sessions and the revocation feed, abuse counters, the audit log, TOTP and
-- recovery codes.
--
-- Upgrades a database of the first migration in place: existing users get version and
-- epoch 0 and no sessions. Refresh tokens issued before this migration have no session
-- row, so their next rotation ends them (the user signs in again).
--
-- Same encodings as the first migration: ids and hashes are BLOBs, times INTEGER
-- milliseconds since the Unix epoch (UTC), every table STRICT.

-- The two counters of the cut rule (auth_core::SessionRecord), and when token_version was
-- raised last, for revocations_since. versioned_at is NULL until the first raise.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN versioned_at INTEGER;

-- revocations_since: `versioned_at > ?` implies NOT NULL, so the partial index applies.
CREATE INDEX users_versioned_at_idx ON users (versioned_at) WHERE versioned_at IS NOT NULL;

-- One row per login; its refresh tokens are the tokens whose family_id is its id. No
-- foreign key from tokens: refresh tokens from before this migration have no session.
CREATE TABLE sessions (
    id           BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    epoch        INTEGER NOT NULL,
    user_agent   TEXT,
    ip           TEXT
) STRICT;

-- list_user_sessions: one user's sessions, newest first.
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at DESC, id DESC);
-- revocations_since: only ended sessions are indexed.
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
-- purge_expired_sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Abuse counters, keyed by the 32-byte CounterKey and the kind of state:
-- * 'rate': a GCRA token bucket; tat is its theoretical arrival time, expires_at = tat;
-- * 'throttle': the login throttle; failures, blocked_until (0 when not blocked).
-- A state with expires_at <= now counts as absent.
CREATE TABLE counters (
    key           BLOB    NOT NULL CHECK (length(key) = 32),
    kind          TEXT    NOT NULL CHECK (kind IN ('rate', 'throttle')),
    tat           INTEGER,
    failures      INTEGER CHECK (failures IS NULL OR failures >= 0),
    blocked_until INTEGER,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (key, kind),
    CHECK ((kind = 'rate') = (tat IS NOT NULL)),
    CHECK ((kind = 'throttle') = (failures IS NOT NULL AND blocked_until IS NOT NULL))
) STRICT, WITHOUT ROWID;

CREATE INDEX counters_expires_at_idx ON counters (expires_at);

-- The hash-chained audit log, kept exactly as given: seq is the rowid, so it is unique
-- and ordered; detail is serde_json's text of the JSON object, which the hash covers.
-- No foreign keys: the log outlives the accounts it names.
CREATE TABLE audit_records (
    seq        INTEGER NOT NULL PRIMARY KEY,
    at         INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    user_id    BLOB    CHECK (user_id IS NULL OR length(user_id) = 16),
    actor_id   BLOB    CHECK (actor_id IS NULL OR length(actor_id) = 16),
    session_id BLOB    CHECK (session_id IS NULL OR length(session_id) = 16),
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT    NOT NULL CHECK (json_valid(detail)),
    prev_hash  BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash       BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;

-- list_audit_records by user and by event, newest first; purge_audit_records by age.
CREATE INDEX audit_records_user_id_seq_idx ON audit_records (user_id, seq);
CREATE INDEX audit_records_event_seq_idx ON audit_records (event, seq);
CREATE INDEX audit_records_at_idx ON audit_records (at);

-- What the last purge left: the seq and hash of the last record it deleted. One row.
CREATE TABLE audit_anchor (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    hash      BLOB    NOT NULL CHECK (length(hash) = 32),
    purged_at INTEGER NOT NULL
) STRICT;

-- A user's TOTP enrolment, pending (confirmed_at NULL) or confirmed. The secret is
-- encrypted by the service. users.mfa_enabled is not a column: every user read computes
-- it as EXISTS (a confirmed row here), so it can never disagree with this table.
CREATE TABLE totp_enrolments (
    user_id            BLOB    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret             BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    confirmed_at       INTEGER,
    pending_expires_at INTEGER NOT NULL,
    last_used_step     INTEGER
) STRICT;

-- purge_expired_totp: only pending enrolments expire.
CREATE INDEX totp_enrolments_pending_expires_at_idx ON totp_enrolments (pending_expires_at)
    WHERE confirmed_at IS NULL;

-- Recovery codes, as keyed hashes (32 bytes), single use.
CREATE TABLE recovery_codes (
    user_id   BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL CHECK (length(code_hash) = 32),
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;
