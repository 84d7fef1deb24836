//! [`AuditStore`] for [`MemoryStore`].

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStore;
use crate::audit::{AuditAnchor, AuditQuery, AuditRecord};
use crate::error::StoreError;
use crate::store::AuditStore;

#[async_trait]
impl AuditStore for MemoryStore {
    async fn last_audit_record(&self) -> Result<Option<AuditRecord>, StoreError> {
        Ok(self.lock().audit.values().next_back().cloned())
    }

    async fn append_audit_record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.audit.contains_key(&record.seq) {
            return Err(StoreError::Conflict);
        }
        inner.audit.insert(record.seq, record.clone());
        Ok(())
    }

    async fn list_audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .audit
            .values()
            .rev()
            .filter(|r| query.before.is_none_or(|before| r.seq < before))
            .filter(|r| query.user_id.is_none_or(|u| r.user_id == Some(u)))
            .filter(|r| query.event.as_ref().is_none_or(|e| &r.event == e))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn audit_records_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .audit
            .range(after.saturating_add(1)..)
            .take(limit as usize)
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, StoreError> {
        Ok(self.lock().audit_anchor)
    }

    async fn purge_audit_records(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let Some(head) = inner.audit.keys().next_back().copied() else {
            return Ok(0);
        };
        let doomed: Vec<i64> = inner
            .audit
            .values()
            .filter(|r| r.at < before && r.seq != head)
            .map(|r| r.seq)
            .collect();
        let Some(last) = doomed.iter().max().and_then(|seq| inner.audit.get(seq)) else {
            return Ok(0);
        };
        let anchor = AuditAnchor {
            seq: last.seq,
            hash: last.hash,
            purged_at: now,
        };
        // Records are appended in time order, so the deleted ones are a prefix.
        for seq in &doomed {
            inner.audit.remove(seq);
        }
        inner.audit_anchor = Some(anchor);
        Ok(doomed.len() as u64)
    }
}

#[cfg(any(test, feature = "testing"))]
impl MemoryStore {
    /// Edits a stored audit record in place, bypassing the chain — what an intruder with
    /// access to the store would do. For tamper tests only (feature `testing`). Returns
    /// whether a record has this `seq`.
    pub fn tamper_audit_record(&self, seq: i64, edit: impl FnOnce(&mut AuditRecord)) -> bool {
        match self.lock().audit.get_mut(&seq) {
            Some(record) => {
                edit(record);
                true
            }
            None => false,
        }
    }
}
