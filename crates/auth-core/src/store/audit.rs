//! [`AuditStore`]: the append-only, hash-chained audit log.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditAnchor, AuditQuery, AuditRecord};
use crate::error::StoreError;

/// Persistence of the audit log (see [`crate::audit`]). The store keeps records exactly as
/// given — it never computes or changes a hash — and `seq` unique.
#[async_trait]
pub trait AuditStore: Debug + Send + Sync + 'static {
    /// The record with the highest `seq`, if any.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn last_audit_record(&self) -> Result<Option<AuditRecord>, StoreError>;

    /// Appends a record.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when a record with this `seq` exists (another writer
    /// appended first: chain again and retry).
    async fn append_audit_record(&self, record: &AuditRecord) -> Result<(), StoreError>;

    /// Records matching `query`, newest (highest `seq`) first.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn list_audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;

    /// Up to `limit` records with `seq > after`, in ascending order: for verification.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn audit_records_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// The anchor left by the last purge, if any.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, StoreError>;

    /// Deletes every record with `at < before` except the newest record of all (a chain
    /// keeps its head), and, in the same write where the backend can, replaces the anchor
    /// with the `seq` and `hash` of the last record deleted. Returns how many were deleted.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn purge_audit_records(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}
