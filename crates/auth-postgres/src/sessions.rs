//! [`SessionStore`] for [`PostgresStore`]: sessions, the one-statement rotation and the
//! feed of cuts.

use std::sync::LazyLock;

use auth_core::async_trait;
use auth_core::{
    ConsumeOutcome, Revocation, RotateOutcome, SessionRecord, SessionStore, StoreError, TokenHash,
    TokenKind, TokenRecord, User, UserId,
};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{
    self, SESSION_INSERT_COLUMNS, TOKEN_INSERT_COLUMNS, session_columns, token_columns,
    user_columns,
};
use crate::error::store_error;
use crate::store::PostgresStore;

/// The session and its first token in one statement, so in one transaction: either both
/// are stored or neither (a unique violation on the session id or the token hash undoes
/// the whole statement). One round trip instead of BEGIN, two INSERTs and COMMIT.
static CREATE_SESSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH session AS (
            INSERT INTO sessions ({SESSION_INSERT_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING id
         )
         INSERT INTO tokens ({TOKEN_INSERT_COLUMNS})
         SELECT $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 FROM session"
    )
});

static SELECT_SESSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM sessions s WHERE s.id = $1",
        session_columns("s", "")
    )
});

/// Both reads in one statement; each side may be missing, so both are LEFT JOINs from the
/// pair of ids asked for (always exactly one row).
static SELECT_USER_AND_SESSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {}
         FROM (SELECT $1::uuid AS user_id, $2::uuid AS session_id) wanted
         LEFT JOIN users u ON u.id = wanted.user_id
         LEFT JOIN sessions s ON s.id = wanted.session_id",
        user_columns("u", "u_"),
        session_columns("s", "s_")
    )
});

/// Live sessions: `SessionRecord::is_live` in SQL, against the user as stored.
static LIST_USER_SESSIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
           AND s.epoch >= u.session_epoch
         ORDER BY s.created_at DESC, s.id DESC",
        session_columns("s", "")
    )
});

/// The whole rotation as ONE statement, so its success path is one round trip and one
/// (autocommit) transaction. Its data-modifying CTEs run in this order of dependence:
///
/// 1. `consumed` marks the presented refresh token used — only if it is unused, unrevoked
///    and not expired.
/// 2. `touched` sets the token's session's `last_used_at` — only if the session is live for
///    the token's user as stored: not revoked, not past its end, `epoch >=
///    users.session_epoch`, owned by that user. It joins `consumed`, so it updates nothing
///    when step 1 did not consume.
/// 3. `successor` inserts the new token, its `expires_at` capped at the session's — one row
///    per row of `touched`, so nothing when the session is not live.
/// 4. The final SELECT returns the consumed token and, when step 2 matched, the session and
///    its owner: no row means "not consumable", a row without a session means "session
///    ended", a full row means "rotated".
///
/// Why this is atomic, under READ COMMITTED and across processes:
///
/// - One statement is one transaction: every effect commits together or not at all. A
///   successor hash that exists already raises a unique violation that undoes the consume
///   and the touch too.
/// - The two conditional UPDATEs take row locks. A concurrent rotation of the same token
///   waits for the winner's lock on the token row; when the winner commits, PostgreSQL
///   re-evaluates the `WHERE` of the waiting UPDATE against the new row version
///   (EvalPlanQual), sees `used_at` set, and consumes nothing: of N rotations exactly one
///   wins. The same re-check on the session row makes a revocation that committed first
///   (`revoked_at` set) stop the rotation, and a rotation that committed first be seen
///   by the revocation.
/// - The users row is read, not locked: the epoch is the one of the statement's snapshot.
///   A cut that commits while the rotation runs is ordered after it; the successor it
///   stored belongs to a session whose epoch is now below the user's, so that successor
///   cannot rotate again, and the access token issued from this rotation carries the old
///   version (see `auth_core::SessionRecord`). No lock on the user is needed for a cut to
///   hold.
static ROTATE_REFRESH_TOKEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH consumed AS (
            UPDATE tokens AS t SET used_at = $2
            WHERE t.token_hash = $1 AND t.kind = 'refresh'
              AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $2
            RETURNING {consumed}
         ),
         touched AS (
            UPDATE sessions AS s SET last_used_at = $2
            FROM consumed c, users u
            WHERE s.id = c.family_id AND u.id = c.user_id AND s.user_id = u.id
              AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.epoch >= u.session_epoch
            RETURNING {session}, {user}
         ),
         successor AS (
            INSERT INTO tokens ({TOKEN_INSERT_COLUMNS})
            SELECT $3, $4, 'refresh', $5, $6, $7, LEAST($8, touched.s_expires_at), $9, $10, $11
            FROM touched
         )
         SELECT {token}, touched.* FROM consumed c LEFT JOIN touched ON true",
        consumed = token_columns("t", ""),
        session = session_columns("s", "s_"),
        user = user_columns("u", "u_"),
        token = token_columns("c", "t_"),
    )
});

/// Every cut after a time: ended sessions, raised versions. One indexed range scan each
/// (`sessions_revoked_at_idx`, `users_versioned_at_idx`).
const REVOCATIONS_SINCE: &str = "SELECT s.id AS session_id, s.user_id, s.revoked_at AS at,
        NULL::bigint AS token_version
     FROM sessions s WHERE s.revoked_at > $1
     UNION ALL
     SELECT NULL::uuid, u.id, u.versioned_at, u.token_version
     FROM users u WHERE u.versioned_at > $1";

/// Expired sessions and, in the same statement, their refresh tokens.
const PURGE_EXPIRED_SESSIONS: &str = "WITH gone AS (
        DELETE FROM sessions WHERE expires_at <= $1 RETURNING id
     ),
     gone_tokens AS (
        DELETE FROM tokens t USING gone WHERE t.family_id = gone.id
     )
     SELECT count(*) FROM gone";

#[async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &TokenRecord,
    ) -> Result<(), StoreError> {
        self.timed(async {
            sqlx::query(&CREATE_SESSION)
                .bind(session.id)
                .bind(session.user_id.as_uuid())
                .bind(session.created_at)
                .bind(session.last_used_at)
                .bind(session.expires_at)
                .bind(session.revoked_at)
                .bind(session.epoch)
                .bind(session.user_agent.as_deref())
                .bind(session.ip.as_deref())
                .bind(first_token.id)
                .bind(first_token.user_id.as_uuid())
                .bind(first_token.kind.as_str())
                .bind(&first_token.token_hash.as_bytes()[..])
                .bind(first_token.family_id)
                .bind(first_token.family_expires_at)
                .bind(first_token.expires_at)
                .bind(first_token.created_at)
                .bind(first_token.used_at)
                .bind(first_token.revoked_at)
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(())
        })
        .await
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        self.timed(async {
            sqlx::query(&SELECT_SESSION)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .map(|row| codec::session(&row, ""))
                .transpose()
        })
        .await
    }

    async fn find_user_and_session(
        &self,
        user_id: UserId,
        session_id: Uuid,
    ) -> Result<(Option<User>, Option<SessionRecord>), StoreError> {
        self.timed(async {
            let row = sqlx::query(&SELECT_USER_AND_SESSION)
                .bind(user_id.as_uuid())
                .bind(session_id)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
            Ok((
                codec::optional_user(&row, "u_")?,
                codec::optional_session(&row, "s_")?,
            ))
        })
        .await
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.timed(async {
            sqlx::query(&LIST_USER_SESSIONS)
                .bind(user_id.as_uuid())
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?
                .iter()
                .map(|row| codec::session(row, ""))
                .collect()
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        self.timed(async {
            let row = sqlx::query(&ROTATE_REFRESH_TOKEN)
                .bind(&presented.as_bytes()[..])
                .bind(now)
                .bind(successor.id)
                .bind(successor.user_id.as_uuid())
                .bind(&successor.token_hash.as_bytes()[..])
                .bind(successor.family_id)
                .bind(successor.family_expires_at)
                .bind(successor.expires_at)
                .bind(successor.created_at)
                .bind(successor.used_at)
                .bind(successor.revoked_at)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            let Some(row) = row else {
                // Not consumed: read the token only to say why. The decision was the
                // statement's; this read may see a later state, which `classify` reports
                // conservatively.
                let record = self.fetch_token(presented, TokenKind::Refresh).await?;
                return Ok(RotateOutcome::Refused(ConsumeOutcome::classify(
                    record, now,
                )));
            };
            match codec::optional_session(&row, "s_")? {
                Some(session) => Ok(RotateOutcome::Rotated {
                    session,
                    user: codec::user(&row, "u_")?,
                }),
                None => Ok(RotateOutcome::SessionEnded(codec::token(&row, "t_")?)),
            }
        })
        .await
    }

    async fn revoke_session(
        &self,
        id: Uuid,
        owner: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.timed(async {
            let done = sqlx::query(
                "UPDATE sessions SET revoked_at = $3
                 WHERE id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR user_id = $2)",
            )
            .bind(id)
            .bind(owner.map(|o| *o.as_uuid()))
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.timed(async {
            sqlx::query_scalar(
                "UPDATE sessions SET revoked_at = $3
                 WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
                 RETURNING id",
            )
            .bind(user_id.as_uuid())
            .bind(keep)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)
        })
        .await
    }

    async fn revocations_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StoreError> {
        self.timed(async {
            let rows = sqlx::query(REVOCATIONS_SINCE)
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
            rows.iter()
                .map(|row| {
                    let session: Option<Uuid> = row.try_get("session_id")?;
                    let user_id = UserId::from_uuid(row.try_get("user_id")?);
                    let at: OffsetDateTime = row.try_get("at")?;
                    Ok(match session {
                        Some(id) => Revocation::Session { id, user_id, at },
                        None => Revocation::User {
                            user_id,
                            token_version: row.try_get("token_version")?,
                            at,
                        },
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(store_error)
        })
        .await
    }

    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.timed(async {
            let purged: i64 = sqlx::query_scalar(PURGE_EXPIRED_SESSIONS)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
            u64::try_from(purged).map_err(StoreError::corrupt)
        })
        .await
    }
}
