//! [`AuditStore`] for [`PostgresStore`]: the records exactly as given, `seq` as primary key.

use std::sync::LazyLock;

use auth_core::async_trait;
use auth_core::{AuditAnchor, AuditQuery, AuditRecord, AuditStore, StoreError};
use time::OffsetDateTime;

use crate::codec::{self, AUDIT_COLUMNS};
use crate::error::store_error;
use crate::store::PostgresStore;

static LAST_AUDIT_RECORD: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {AUDIT_COLUMNS} FROM audit_records ORDER BY seq DESC LIMIT 1")
});

/// A plain INSERT: the primary key on `seq` decides between two writers chaining to the
/// same head, and the loser's unique violation is [`StoreError::Conflict`].
static APPEND_AUDIT_RECORD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO audit_records ({AUDIT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
});

/// One statement per combination of filters, rather than `($1 IS NULL OR user_id = $1)`:
/// a prepared statement's generic plan could not use the index of a filter that is
/// sometimes absent. Each walks its index backwards from the cursor (`$1`, the upper bound
/// of `seq`) and stops at the limit (`$2`).
static LIST_ALL: LazyLock<String> = LazyLock::new(|| list_audit_sql(""));
static LIST_BY_USER: LazyLock<String> = LazyLock::new(|| list_audit_sql("AND user_id = $3"));
static LIST_BY_EVENT: LazyLock<String> = LazyLock::new(|| list_audit_sql("AND event = $3"));
static LIST_BY_USER_AND_EVENT: LazyLock<String> =
    LazyLock::new(|| list_audit_sql("AND user_id = $3 AND event = $4"));

fn list_audit_sql(filter: &str) -> String {
    format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_records WHERE seq < $1 {filter}
         ORDER BY seq DESC LIMIT $2"
    )
}

static AUDIT_RECORDS_AFTER: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {AUDIT_COLUMNS} FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2")
});

/// The purge and the anchor in one statement, so in one transaction. The head (highest
/// `seq` in the statement's snapshot) is never deleted; a record appended meanwhile has a
/// higher `seq` and is not touched either. Of two purges racing, the anchor only moves
/// forward (the `WHERE` of the upsert), so it always names the last record deleted.
const PURGE_AUDIT_RECORDS: &str = "WITH head AS (
        SELECT max(seq) AS seq FROM audit_records
     ),
     gone AS (
        DELETE FROM audit_records
        WHERE at < $1 AND seq < (SELECT seq FROM head)
        RETURNING seq, hash
     ),
     last AS (
        SELECT seq, hash FROM gone ORDER BY seq DESC LIMIT 1
     ),
     anchor AS (
        INSERT INTO audit_anchor AS a (id, seq, hash, purged_at)
        SELECT true, seq, hash, $2 FROM last
        ON CONFLICT (id) DO UPDATE SET
            seq = EXCLUDED.seq, hash = EXCLUDED.hash, purged_at = EXCLUDED.purged_at
        WHERE a.seq < EXCLUDED.seq
     )
     SELECT count(*) FROM gone";

#[async_trait]
impl AuditStore for PostgresStore {
    async fn last_audit_record(&self) -> Result<Option<AuditRecord>, StoreError> {
        self.timed(async {
            sqlx::query(&LAST_AUDIT_RECORD)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .map(|row| codec::audit_record(&row))
                .transpose()
        })
        .await
    }

    async fn append_audit_record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        // The exact text the hash was computed over (serde_json's, keys sorted).
        let detail = serde_json::to_string(&record.detail).map_err(StoreError::corrupt)?;
        self.timed(async {
            sqlx::query(&APPEND_AUDIT_RECORD)
                .bind(record.seq)
                .bind(record.at)
                .bind(&record.event)
                .bind(record.user_id.map(|u| *u.as_uuid()))
                .bind(record.actor_id.map(|u| *u.as_uuid()))
                .bind(record.session_id)
                .bind(record.ip.as_deref())
                .bind(record.user_agent.as_deref())
                .bind(&detail)
                .bind(&record.prev_hash[..])
                .bind(&record.hash[..])
                .execute(&self.pool)
                .await
                .map_err(store_error)?;
            Ok(())
        })
        .await
    }

    async fn list_audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let before = query.before.unwrap_or(i64::MAX);
        let limit = i64::from(query.limit);
        let user = query.user_id.map(|u| *u.as_uuid());
        self.timed(async {
            let statement = match (user, query.event.as_deref()) {
                (None, None) => sqlx::query(&LIST_ALL).bind(before).bind(limit),
                (Some(user), None) => sqlx::query(&LIST_BY_USER)
                    .bind(before)
                    .bind(limit)
                    .bind(user),
                (None, Some(event)) => sqlx::query(&LIST_BY_EVENT)
                    .bind(before)
                    .bind(limit)
                    .bind(event),
                (Some(user), Some(event)) => sqlx::query(&LIST_BY_USER_AND_EVENT)
                    .bind(before)
                    .bind(limit)
                    .bind(user)
                    .bind(event),
            };
            statement
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?
                .iter()
                .map(codec::audit_record)
                .collect()
        })
        .await
    }

    async fn audit_records_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.timed(async {
            sqlx::query(&AUDIT_RECORDS_AFTER)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?
                .iter()
                .map(codec::audit_record)
                .collect()
        })
        .await
    }

    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, StoreError> {
        self.timed(async {
            sqlx::query("SELECT seq, hash, purged_at FROM audit_anchor")
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .map(|row| codec::audit_anchor(&row))
                .transpose()
        })
        .await
    }

    async fn purge_audit_records(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.timed(async {
            let purged: i64 = sqlx::query_scalar(PURGE_AUDIT_RECORDS)
                .bind(before)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
            u64::try_from(purged).map_err(StoreError::corrupt)
        })
        .await
    }
}
