//! [`AuditStore`] for [`MongoStore`].
//!
//! Records are only ever inserted; the unique `_id` (the position) makes a second writer at a
//! taken position fail with a duplicate key, which [`auth_core::audit::append`] answers by
//! chaining again. The store never computes a hash.

use auth_core::async_trait;
use auth_core::{AuditAnchor, AuditQuery, AuditRecord, AuditStore, StoreError};
use mongodb::IndexModel;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::codec::audit::{AnchorDoc, AuditDoc};
use crate::codec::{date_to_bson, field, id_to_bson};
use crate::error::store_error;
use crate::store::{MongoStore, index};

/// The indexes of the audit collection, created by [`MongoStore::migrate`]: on
/// `(user_id, seq)` and `(event, seq)` for the filtered listings, newest first, and on `at`
/// for the purge. The position is the `_id`, which needs no index of its own; it is repeated
/// in `seq` for the compound indexes (see [`crate::codec::audit`]).
pub(crate) fn indexes() -> [IndexModel; 3] {
    [
        index(
            doc! { field::USER_ID: 1, field::SEQ: -1 },
            "user_id_seq",
            false,
            None,
        ),
        index(
            doc! { field::EVENT: 1, field::SEQ: -1 },
            "event_seq",
            false,
            None,
        ),
        index(doc! { field::AT: 1 }, "at", false, None),
    ]
}

#[async_trait]
impl AuditStore for MongoStore {
    async fn last_audit_record(&self) -> Result<Option<AuditRecord>, StoreError> {
        let found = self
            .bounded(
                self.audit
                    .0
                    .find_one(Document::new())
                    .sort(doc! { field::ID: -1 }),
            )
            .await?;
        found.map(AuditRecord::try_from).transpose()
    }

    async fn append_audit_record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.bounded(self.audit.0.insert_one(AuditDoc::from(record)))
            .await
            .map(drop)
    }

    async fn list_audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut filter = Document::new();
        if let Some(user) = query.user_id {
            filter.insert(field::USER_ID, id_to_bson(*user.as_uuid()));
        }
        if let Some(event) = &query.event {
            filter.insert(field::EVENT, event.as_str());
        }
        // A filtered listing walks its compound index, on `seq`; the whole log walks the
        // primary index, on `_id`. Both hold the position.
        let position = if filter.is_empty() {
            field::ID
        } else {
            field::SEQ
        };
        if let Some(before) = query.before {
            filter.insert(position, doc! { "$lt": before });
        }
        self.audit_records(filter, doc! { position: -1 }, query.limit)
            .await
    }

    async fn audit_records_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let filter = doc! { field::ID: { "$gt": after } };
        self.audit_records(filter, doc! { field::ID: 1 }, limit)
            .await
    }

    async fn audit_anchor(&self) -> Result<Option<AuditAnchor>, StoreError> {
        let found = self
            .bounded(
                self.audit_anchor
                    .0
                    .find_one(Document::new())
                    .sort(doc! { field::ID: -1 }),
            )
            .await?;
        found.map(AuditAnchor::try_from).transpose()
    }

    async fn purge_audit_records(
        &self,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        // Without a transaction the anchor is stored first, then the records deleted. An
        // interruption in between leaves records the anchor already covers: the chain
        // still verifies (from the anchor on), and the next purge deletes them. The other
        // order could leave a chain with its start deleted and no anchor — a false alarm
        // of tampering.
        let Some(head) = self.last_audit_record().await? else {
            return Ok(0);
        };
        // The last record to delete: the newest old one that is not the head. Two suffice
        // (the head can only be the first).
        let old = doc! { field::AT: { "$lt": date_to_bson(before) } };
        let newest_old = self
            .audit_records(old.clone(), doc! { field::ID: -1 }, 2)
            .await?;
        let Some(last) = newest_old.into_iter().find(|record| record.seq != head.seq) else {
            return Ok(0);
        };
        self.store_anchor(&AuditAnchor {
            seq: last.seq,
            hash: last.hash,
            purged_at: now,
        })
        .await?;
        // The position bound uses `seq`, not `_id`: on the MongoDB-wire test server a filter
        // with a date comparison and an `_id` range compares the `_id`s as text (so 4 > 32).
        let mut deleted = old;
        deleted.insert(field::SEQ, doc! { "$lte": last.seq });
        let result = self.bounded(self.audit.0.delete_many(deleted)).await?;
        Ok(result.deleted_count)
    }
}

impl MongoStore {
    /// Up to `limit` records matching `filter` in the order of `sort`.
    async fn audit_records(
        &self,
        filter: Document,
        sort: Document,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        // The driver reads a limit of 0 as "no limit".
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut cursor = self
            .bounded(self.audit.0.find(filter).sort(sort).limit(i64::from(limit)))
            .await?;
        let mut records = Vec::new();
        while self.bounded(cursor.advance()).await? {
            let doc = cursor.deserialize_current().map_err(store_error)?;
            records.push(AuditRecord::try_from(doc)?);
        }
        Ok(records)
    }

    /// Makes `anchor` the current one unless a purge already stored one at least as far
    /// along: anchors are inserted, never updated (so there is no read-modify-write to
    /// race), the current one is the highest, and the older ones are deleted after. A purge
    /// only deletes anchors below its own, so concurrent purges leave the highest standing.
    ///
    /// Inserting is also the one way this collection can be written on the MongoDB-wire test
    /// server, which fails every update that writes a binary value such as the hash.
    async fn store_anchor(&self, anchor: &AuditAnchor) -> Result<(), StoreError> {
        match self
            .bounded(self.audit_anchor.0.insert_one(AnchorDoc::from(anchor)))
            .await
        {
            // A purge that deleted up to the same record stored this anchor already.
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(error) => return Err(error),
        }
        let older = doc! { field::ID: { "$lt": anchor.seq } };
        self.bounded(self.audit_anchor.0.delete_many(older))
            .await
            .map(drop)
    }
}
