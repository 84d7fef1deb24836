//! [`SessionStore`] for [`SqliteStore`].

use std::time::Instant;

use auth_core::{
    ConsumeOutcome, Revocation, RotateOutcome, SessionRecord, SessionStore, StoreError, TokenHash,
    TokenRecord, User, UserId, async_trait,
};
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;
use crate::codec::{
    from_millis, optional_session_from_row, optional_user_from_row, session_columns,
    session_from_row, to_millis, token_columns, token_from_row, user_columns, user_from_row,
    uuid_bytes, uuid_from_bytes,
};
use crate::error::store_error;
use crate::tokens::{MAX_PURGE_PAUSE, PURGE_BATCH, insert_token_with};

#[async_trait]
impl SessionStore for SqliteStore {
    /// One `BEGIN IMMEDIATE` transaction: the session and its first token, or neither.
    async fn create_session(
        &self,
        session: &SessionRecord,
        first_token: &TokenRecord,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
             revoked_at, epoch, user_agent, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(uuid_bytes(&session.id))
        .bind(uuid_bytes(session.user_id.as_uuid()))
        .bind(to_millis(session.created_at))
        .bind(to_millis(session.last_used_at))
        .bind(to_millis(session.expires_at))
        .bind(session.revoked_at.map(to_millis))
        .bind(session.epoch)
        .bind(session.user_agent.as_deref())
        .bind(session.ip.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        insert_token_with(&mut *tx, first_token).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = ?1"
        ))
        .bind(uuid_bytes(&id))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(session_from_row)
        .transpose()
    }

    /// One read: a one-row table outer-joined to the user and to the session, so that
    /// either may be missing.
    async fn find_user_and_session(
        &self,
        user_id: UserId,
        session_id: Uuid,
    ) -> Result<(Option<User>, Option<SessionRecord>), StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", ",
            session_columns!(),
            " FROM (SELECT 1) AS one ",
            "LEFT JOIN users ON users.id = ?1 ",
            "LEFT JOIN sessions ON sessions.id = ?2"
        ))
        .bind(uuid_bytes(user_id.as_uuid()))
        .bind(uuid_bytes(&session_id))
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        Ok((
            optional_user_from_row(&row)?,
            optional_session_from_row(&row)?,
        ))
    }

    async fn list_user_sessions(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        // SessionRecord::is_live, in SQL: the join to the owner supplies the epoch.
        let rows = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions JOIN users ON users.id = sessions.user_id ",
            "WHERE sessions.user_id = ?1 AND sessions.revoked_at IS NULL ",
            "AND sessions.expires_at > ?2 AND sessions.epoch >= users.session_epoch ",
            "ORDER BY sessions.created_at DESC, sessions.id DESC"
        ))
        .bind(uuid_bytes(user_id.as_uuid()))
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(session_from_row).collect()
    }

    /// One `BEGIN IMMEDIATE` transaction on one connection. With the write queue on (the
    /// default, [`SqliteStoreOptions::with_serialized_writes`](crate::SqliteStoreOptions::with_serialized_writes)), concurrent rotations of
    /// this process share one such transaction and its commit: the answer comes once the
    /// commit is done.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        successor: &TokenRecord,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        if let Some(queue) = &self.writes {
            let (presented, successor) = (*presented, successor.clone());
            return queue
                .batched(&self.pool, move |conn| {
                    Box::pin(async move { rotate_on(conn, &presented, &successor, now).await })
                })
                .await;
        }
        let (_turn, mut tx) = self.begin_write().await?;
        let outcome = rotate_on(&mut tx, presented, successor, now).await?;
        if matches!(outcome, RotateOutcome::Rotated { .. }) {
            tx.commit().await.map_err(store_error)?;
        } else {
            tx.rollback().await.map_err(store_error)?;
        }
        Ok(outcome)
    }

    async fn revoke_session(
        &self,
        id: Uuid,
        owner: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let result = sqlx::query(
            "UPDATE sessions SET revoked_at = ?3 \
             WHERE id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR user_id = ?2)",
        )
        .bind(uuid_bytes(&id))
        .bind(owner.as_ref().map(|owner| uuid_bytes(owner.as_uuid())))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Vec<Uuid>, StoreError> {
        let _turn = self.write_turn().await;
        let rows = sqlx::query(
            "UPDATE sessions SET revoked_at = ?3 \
             WHERE user_id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR id <> ?2) \
             RETURNING id",
        )
        .bind(uuid_bytes(user_id.as_uuid()))
        .bind(keep.as_ref().map(uuid_bytes))
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| uuid_from_bytes(row.try_get("id").map_err(StoreError::corrupt)?))
            .collect()
    }

    /// One statement, a `UNION ALL` of two index range scans: ended sessions by
    /// `revoked_at`, raised users by `versioned_at` (both partial indexes).
    async fn revocations_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StoreError> {
        let rows = sqlx::query(
            "SELECT id AS session_id, user_id, revoked_at AS at, NULL AS token_version \
             FROM sessions WHERE revoked_at > ?1 \
             UNION ALL \
             SELECT NULL, id, versioned_at, token_version \
             FROM users WHERE versioned_at > ?1",
        )
        .bind(to_millis(since))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let get_err = StoreError::corrupt;
                let user_id =
                    UserId::from_uuid(uuid_from_bytes(row.try_get("user_id").map_err(get_err)?)?);
                let at = from_millis(row.try_get("at").map_err(get_err)?)?;
                let session: Option<&[u8]> = row.try_get("session_id").map_err(get_err)?;
                Ok(match session {
                    Some(id) => Revocation::Session {
                        id: uuid_from_bytes(id)?,
                        user_id,
                        at,
                    },
                    None => Revocation::User {
                        user_id,
                        token_version: row.try_get("token_version").map_err(get_err)?,
                        at,
                    },
                })
            })
            .collect()
    }

    /// In batches of 1000 sessions, each batch (the sessions and their refresh tokens)
    /// one short `BEGIN IMMEDIATE` transaction, pausing between them as long as the batch
    /// took, like `purge_expired_tokens`: SQLite has one writer.
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let cutoff = to_millis(now);
        let mut purged = 0;
        loop {
            let started = Instant::now();
            let (turn, mut tx) = self.begin_write().await?;
            // The same batch twice: ordered by the index itself (expires_at, then rowid),
            // and nothing else writes while the transaction holds the lock.
            sqlx::query(
                "DELETE FROM tokens WHERE family_id IN (SELECT id FROM sessions \
                 WHERE expires_at <= ?1 ORDER BY expires_at, rowid LIMIT ?2)",
            )
            .bind(cutoff)
            .bind(PURGE_BATCH)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            let deleted = sqlx::query(
                "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions \
                 WHERE expires_at <= ?1 ORDER BY expires_at, rowid LIMIT ?2)",
            )
            .bind(cutoff)
            .bind(PURGE_BATCH)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();
            tx.commit().await.map_err(store_error)?;
            drop(turn);
            purged += deleted;
            if deleted < PURGE_BATCH.unsigned_abs() {
                return Ok(purged);
            }
            tokio::time::sleep(started.elapsed().min(MAX_PURGE_PAUSE)).await;
        }
    }
}

/// The rotation's statements, on a connection inside a write transaction (or a savepoint
/// of one) that already holds SQLite's write lock, so that what they read cannot change
/// before the commit, in this process or any other: consume the token (the conditional
/// `UPDATE … RETURNING` of `consume_token`), read its session joined to its owner, and —
/// only if [`SessionRecord::is_live`] — touch the session and insert the successor.
///
/// Leaves writes only on [`RotateOutcome::Rotated`]: a token whose session ended is
/// consumed and put back (`used_at` was NULL, or the consume would not have matched), so
/// such a call stores nothing at all, even in a transaction shared with other rotations.
/// An error may leave part of the work written: the caller rolls back.
async fn rotate_on(
    conn: &mut SqliteConnection,
    presented: &TokenHash,
    successor: &TokenRecord,
    now: OffsetDateTime,
) -> Result<RotateOutcome, StoreError> {
    let at = to_millis(now);
    let consumed = sqlx::query(concat!(
        "UPDATE tokens SET used_at = ?1 ",
        "WHERE token_hash = ?2 AND kind = 'refresh' ",
        "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1 ",
        "RETURNING ",
        token_columns!()
    ))
    .bind(at)
    .bind(presented.as_bytes().as_slice())
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_error)?;
    let Some(consumed) = consumed else {
        // Nothing was written: read the token under the same lock to say why.
        let record = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM tokens WHERE token_hash = ?1 AND kind = 'refresh'"
        ))
        .bind(presented.as_bytes().as_slice())
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(token_from_row)
        .transpose()?;
        return Ok(RotateOutcome::Refused(ConsumeOutcome::classify(
            record, now,
        )));
    };
    let token = token_from_row(&consumed)?;
    let live = match token.family_id {
        None => None,
        Some(family) => {
            let row = sqlx::query(concat!(
                "SELECT ",
                session_columns!(),
                ", ",
                user_columns!(),
                " FROM sessions JOIN users ON users.id = ?2 WHERE sessions.id = ?1"
            ))
            .bind(uuid_bytes(&family))
            .bind(uuid_bytes(token.user_id.as_uuid()))
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
            match row {
                None => None,
                Some(row) => {
                    let session = session_from_row(&row)?;
                    let user = user_from_row(&row)?;
                    session.is_live(&user, now).then_some((session, user))
                }
            }
        }
    };
    let Some((mut session, user)) = live else {
        // The session is over, or there is none (a token from before sessions): undo the
        // consume, and report the token as it stays.
        sqlx::query("UPDATE tokens SET used_at = NULL WHERE token_hash = ?1")
            .bind(presented.as_bytes().as_slice())
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        return Ok(RotateOutcome::SessionEnded(TokenRecord {
            used_at: None,
            ..token
        }));
    };
    sqlx::query("UPDATE sessions SET last_used_at = ?2 WHERE id = ?1")
        .bind(uuid_bytes(&session.id))
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    session.last_used_at = now;
    let mut successor = successor.clone();
    successor.expires_at = successor.expires_at.min(session.expires_at);
    insert_token_with(&mut *conn, &successor).await?;
    Ok(RotateOutcome::Rotated { session, user })
}
