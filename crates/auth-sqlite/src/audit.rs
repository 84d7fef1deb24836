//! [`AuditStore`] for [`SqliteStore`]: records kept exactly as given, `seq` as the rowid.

use std::time::Instant;

use auth_core::{AuditAnchor, AuditQuery, AuditRecord, AuditStore, StoreError, async_trait};
use sqlx::Row;
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{
    audit_columns, audit_from_row, detail_json, from_millis, to_millis, uuid_bytes,
};
use crate::error::store_error;
use crate::tokens::{MAX_PURGE_PAUSE, PURGE_BATCH};

/// `list_audit_records` with each combination of filters, so that every variant is a
/// plain index range scan (`?1 IS NULL OR user_id = ?1` would defeat the indexes). `?3`
/// is the cursor (`i64::MAX` for none), `?4` the limit.
const LIST: [&str; 4] = [
    concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_records WHERE seq < ?3 ORDER BY seq DESC LIMIT ?4"
    ),
    concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_records WHERE user_id = ?1 AND seq < ?3 ORDER BY seq DESC LIMIT ?4"
    ),
    concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_records WHERE event = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4"
    ),
    concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_records WHERE user_id = ?1 AND event = ?2 AND seq < ?3 ",
        "ORDER BY seq DESC LIMIT ?4"
    ),
];

#[async_trait]
impl AuditStore for SqliteStore {
    async fn last_audit_record(&self) -> Result<Option<AuditRecord>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_records ORDER BY seq DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(audit_from_row)
        .transpose()
    }

    /// A taken `seq` is the primary key's unique violation: `Conflict`.
    async fn append_audit_record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(concat!(
            "INSERT INTO audit_records (",
            audit_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ))
        .bind(record.seq)
        .bind(to_millis(record.at))
        .bind(&record.event)
        .bind(record.user_id.as_ref().map(|id| uuid_bytes(id.as_uuid())))
        .bind(record.actor_id.as_ref().map(|id| uuid_bytes(id.as_uuid())))
        .bind(record.session_id.as_ref().map(uuid_bytes))
        .bind(record.ip.as_deref())
        .bind(record.user_agent.as_deref())
        .bind(detail_json(&record.detail)?)
        .bind(record.prev_hash.as_slice())
        .bind(record.hash.as_slice())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn list_audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let variant = usize::from(query.user_id.is_some()) + 2 * usize::from(query.event.is_some());
        let rows = sqlx::query(LIST[variant])
            .bind(query.user_id.as_ref().map(|id| uuid_bytes(id.as_uuid())))
            .bind(query.event.as_deref())
            .bind(query.before.unwrap_or(i64::MAX))
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn audit_records_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_records WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, StoreError> {
        let Some(row) = sqlx::query("SELECT seq, hash, purged_at FROM audit_anchor WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let hash: &[u8] = row.try_get("hash").map_err(StoreError::corrupt)?;
        Ok(Some(AuditAnchor {
            seq: row.try_get("seq").map_err(StoreError::corrupt)?,
            hash: hash
                .try_into()
                .map_err(|_| StoreError::corrupt("the anchor's hash is not 32 bytes long"))?,
            purged_at: from_millis(row.try_get("purged_at").map_err(StoreError::corrupt)?)?,
        }))
    }

    /// In batches of 1000 records, oldest `seq` first, each batch one `BEGIN IMMEDIATE`
    /// transaction that deletes it and moves the anchor to its last record, so the rest
    /// verifies from the anchor after every batch; pausing between batches as
    /// `purge_expired_tokens` does. The anchor only moves forward, should two purges run
    /// at once.
    async fn purge_audit_records(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let cutoff = to_millis(before);
        let mut purged = 0;
        loop {
            let started = Instant::now();
            let (turn, mut tx) = self.begin_write().await?;
            let deleted = sqlx::query(
                "DELETE FROM audit_records WHERE seq IN (SELECT seq FROM audit_records \
                 WHERE at < ?1 AND seq < (SELECT max(seq) FROM audit_records) \
                 ORDER BY seq LIMIT ?2) RETURNING seq, hash",
            )
            .bind(cutoff)
            .bind(PURGE_BATCH)
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?;
            let mut last: Option<(i64, &[u8])> = None;
            for row in &deleted {
                let seq: i64 = row.try_get("seq").map_err(StoreError::corrupt)?;
                if last.is_none_or(|(highest, _)| seq > highest) {
                    last = Some((seq, row.try_get("hash").map_err(StoreError::corrupt)?));
                }
            }
            let Some((seq, hash)) = last else {
                tx.rollback().await.map_err(store_error)?;
                return Ok(purged);
            };
            sqlx::query(
                "INSERT INTO audit_anchor (id, seq, hash, purged_at) VALUES (1, ?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
                 purged_at = excluded.purged_at WHERE excluded.seq > audit_anchor.seq",
            )
            .bind(seq)
            .bind(hash)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            tx.commit().await.map_err(store_error)?;
            drop(turn);
            let count = u64::try_from(deleted.len()).unwrap_or(u64::MAX);
            purged += count;
            if count < PURGE_BATCH.unsigned_abs() {
                return Ok(purged);
            }
            tokio::time::sleep(started.elapsed().min(MAX_PURGE_PAUSE)).await;
        }
    }
}
