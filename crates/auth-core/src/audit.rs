//! The audit log: who did what to which account, from where, when — append-only and
//! hash-chained, so that editing, deleting or reordering an entry is detectable.
//!
//! Every record carries the SHA-256 of its predecessor (`prev_hash`) and its own (`hash`),
//! computed here over a canonical encoding ([`AuditRecord::compute_hash`]). Records are
//! numbered 1, 2, 3 … by `seq`, which the store keeps unique: a writer reads the last
//! record, chains the new one to it and inserts it, and a writer that lost a race to the
//! same `seq` (another process appended first) gets [`StoreError::Conflict`] and chains
//! again. One chain, one order, whatever the number of processes.
//!
//! Retention ([`AuditStore::purge_audit_records`])
//! deletes the oldest records and keeps an [`AuditAnchor`] — the `seq` and `hash` of the
//! last deleted one — so the rest still verifies from the anchor. What a hash chain cannot
//! show by itself is the loss of its newest records; publish [`AuditRecord::hash`] of the
//! head somewhere else (a log shipper, a ticket) to witness it.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;
use crate::store::AuditStore;
use crate::user::UserId;

/// The `prev_hash` of the first record of a chain.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1; unique.
    pub seq: i64,
    /// When it happened (whole milliseconds).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened, e.g. `login.succeeded`.
    pub event: String,
    /// The account it happened to, if any.
    pub user_id: Option<UserId>,
    /// Who did it, when not the account itself (the acting admin).
    pub actor_id: Option<UserId>,
    /// The session involved, if any.
    pub session_id: Option<Uuid>,
    /// The client address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// Event-specific details: a JSON object of plain values (never a password, token or
    /// hash). Stores keep its JSON text as written.
    pub detail: serde_json::Value,
    /// The hash of the previous record ([`GENESIS_HASH`] for the first).
    #[serde(serialize_with = "hex")]
    pub prev_hash: [u8; 32],
    /// The hash of this record over all of the above.
    #[serde(serialize_with = "hex")]
    pub hash: [u8; 32],
}

fn hex<S: serde::Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&to_hex(bytes))
}

/// Lower-case hex of a hash.
pub fn to_hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a new record says; [`AuditRecord::chain`] turns it into the next link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEvent {
    /// What happened.
    pub event: String,
    /// The account.
    pub user_id: Option<UserId>,
    /// The acting admin.
    pub actor_id: Option<UserId>,
    /// The session.
    pub session_id: Option<Uuid>,
    /// The client address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// Details (a JSON object; `null` counts as `{}`).
    pub detail: serde_json::Value,
}

impl AuditRecord {
    /// The record that follows `previous` (or starts the chain) with this content.
    pub fn chain(previous: Option<&AuditRecord>, at: OffsetDateTime, event: AuditEvent) -> Self {
        let (seq, prev_hash) = previous.map_or((1, GENESIS_HASH), |p| (p.seq + 1, p.hash));
        let detail = if event.detail.is_null() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            event.detail
        };
        let mut record = Self {
            seq,
            at: crate::clock::truncate_to_millis(at),
            event: event.event,
            user_id: event.user_id,
            actor_id: event.actor_id,
            session_id: event.session_id,
            ip: event.ip,
            user_agent: event.user_agent,
            detail,
            prev_hash,
            hash: [0; 32],
        };
        record.hash = record.compute_hash();
        record
    }

    /// SHA-256 over a canonical encoding of every field but `hash`: a version tag, then
    /// each field length-prefixed (big-endian u32) in declaration order, times as
    /// milliseconds, absent values as a zero-length field distinct from empty text by a
    /// one-byte presence flag, `detail` as serde_json's text (keys sorted).
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"myauth-audit-v1");
        field(&mut hasher, Some(&self.seq.to_be_bytes()));
        field(
            &mut hasher,
            Some(&crate::counter::unix_millis(self.at).to_be_bytes()),
        );
        field(&mut hasher, Some(self.event.as_bytes()));
        field(
            &mut hasher,
            self.user_id
                .map(|u| *u.as_uuid().as_bytes())
                .as_ref()
                .map(|b| &b[..]),
        );
        field(
            &mut hasher,
            self.actor_id
                .map(|u| *u.as_uuid().as_bytes())
                .as_ref()
                .map(|b| &b[..]),
        );
        field(
            &mut hasher,
            self.session_id
                .map(|u| *u.as_bytes())
                .as_ref()
                .map(|b| &b[..]),
        );
        field(&mut hasher, self.ip.as_deref().map(str::as_bytes));
        field(&mut hasher, self.user_agent.as_deref().map(str::as_bytes));
        let detail = serde_json::to_string(&self.detail).unwrap_or_default();
        field(&mut hasher, Some(detail.as_bytes()));
        field(&mut hasher, Some(&self.prev_hash));
        hasher.finalize().into()
    }
}

fn field(hasher: &mut Sha256, value: Option<&[u8]>) {
    match value {
        None => hasher.update([0]),
        Some(bytes) => {
            hasher.update([1]);
            hasher.update(u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
            hasher.update(bytes);
        }
    }
}

/// What remains of purged records: the last deleted one's position and hash, where the
/// chain now starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditAnchor {
    /// The `seq` of the last purged record.
    pub seq: i64,
    /// Its hash: the `prev_hash` of the first record kept.
    pub hash: [u8; 32],
    /// When the purge ran.
    pub purged_at: OffsetDateTime,
}

/// A page of the audit log: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only records about this account.
    pub user_id: Option<UserId>,
    /// Only records of this event.
    pub event: Option<String>,
    /// Only records with `seq` below this (the cursor of the next page).
    pub before: Option<i64>,
    /// At most this many (the store may be asked for 1 to 1000).
    pub limit: u32,
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The record's stored hash is not the hash of its content: it was edited.
    Altered {
        /// Its position.
        seq: i64,
    },
    /// The record does not follow its predecessor: one was deleted, inserted or moved
    /// (or the anchor does not match the first record kept).
    Unlinked {
        /// Its position.
        seq: i64,
        /// The `seq` it should have had.
        expected_seq: i64,
    },
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Records checked.
    pub checked: u64,
    /// The hash of the newest record (the genesis hash or the anchor's for an empty chain).
    pub head: [u8; 32],
    /// The first broken link, if any.
    pub broken: Option<ChainBreak>,
}

/// Checks a chain read in ascending order, starting from `anchor` (or from the genesis
/// when nothing was purged), and reports the first broken link.
///
/// # Errors
///
/// The store's errors while reading.
pub async fn verify_chain<F, Fut>(
    anchor: Option<AuditAnchor>,
    mut next_page: F,
) -> Result<ChainReport, StoreError>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<AuditRecord>, StoreError>>,
{
    let (mut seq, mut hash) = anchor.map_or((0, GENESIS_HASH), |a| (a.seq, a.hash));
    let mut checked = 0;
    loop {
        let page = next_page(seq).await?;
        if page.is_empty() {
            return Ok(ChainReport {
                checked,
                head: hash,
                broken: None,
            });
        }
        for record in page {
            if record.seq != seq + 1 || record.prev_hash != hash {
                return Ok(ChainReport {
                    checked,
                    head: hash,
                    broken: Some(ChainBreak::Unlinked {
                        seq: record.seq,
                        expected_seq: seq + 1,
                    }),
                });
            }
            if record.compute_hash() != record.hash {
                return Ok(ChainReport {
                    checked,
                    head: hash,
                    broken: Some(ChainBreak::Altered { seq: record.seq }),
                });
            }
            seq = record.seq;
            hash = record.hash;
            checked += 1;
        }
    }
}

/// How often [`append`] chains again after losing the race for a position.
pub const MAX_APPEND_ATTEMPTS: u32 = 1000;

/// Appends `event` at the head of the chain: reads the last record, chains to it, and
/// chains again when another writer (of any process) took the position first.
///
/// # Errors
///
/// The store's errors; [`StoreError::Unavailable`] if the position was lost
/// [`MAX_APPEND_ATTEMPTS`] times in a row.
pub async fn append<S: AuditStore + ?Sized>(
    store: &S,
    at: OffsetDateTime,
    event: AuditEvent,
) -> Result<AuditRecord, StoreError> {
    for attempt in 0..MAX_APPEND_ATTEMPTS {
        let last = store.last_audit_record().await?;
        let record = AuditRecord::chain(last.as_ref(), at, event.clone());
        match store.append_audit_record(&record).await {
            Ok(()) => return Ok(record),
            Err(StoreError::Conflict) => {
                // Writers that collided would collide again in lockstep; a short random
                // pause, growing with the attempts, lets one of them through.
                let mut jitter = [0u8; 1];
                let _ = getrandom::fill(&mut jitter);
                let micros = u64::from(jitter[0]) * u64::from(attempt.min(20) + 1);
                tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
            }
            Err(error) => return Err(error),
        }
    }
    Err(StoreError::unavailable(
        "the audit chain was contended for too long",
    ))
}

/// Checks the whole chain of a store from its anchor ([`verify_chain`]).
///
/// # Errors
///
/// The store's errors while reading.
pub async fn verify<S: AuditStore + ?Sized>(store: &S) -> Result<ChainReport, StoreError> {
    let anchor = store.audit_anchor().await?;
    verify_chain(anchor, |after| store.audit_records_after(after, 500)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> AuditEvent {
        AuditEvent {
            event: name.to_owned(),
            user_id: Some(UserId::new()),
            ip: Some("192.0.2.1".to_owned()),
            detail: serde_json::json!({"b": 1, "a": "x"}),
            ..AuditEvent::default()
        }
    }

    fn chain(n: usize) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let record = AuditRecord::chain(
                records.last(),
                OffsetDateTime::UNIX_EPOCH,
                event(&format!("e{i}")),
            );
            records.push(record);
        }
        records
    }

    async fn verify(records: Vec<AuditRecord>, anchor: Option<AuditAnchor>) -> ChainReport {
        let records = std::sync::Arc::new(records);
        verify_chain(anchor, |after| {
            let records = records.clone();
            async move {
                Ok(records
                    .iter()
                    .filter(|r| r.seq > after)
                    .take(2)
                    .cloned()
                    .collect())
            }
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_untouched_chain_verifies_and_any_edit_is_found() {
        let records = chain(5);
        let report = verify(records.clone(), None).await;
        assert_eq!(report.broken, None);
        assert_eq!((report.checked, report.head), (5, records[4].hash));

        let mut edited = records.clone();
        edited[2].ip = Some("198.51.100.7".to_owned());
        assert_eq!(
            verify(edited, None).await.broken,
            Some(ChainBreak::Altered { seq: 3 })
        );

        let mut deleted = records.clone();
        deleted.remove(1);
        assert_eq!(
            verify(deleted, None).await.broken,
            Some(ChainBreak::Unlinked {
                seq: 3,
                expected_seq: 2
            })
        );

        let mut rehashed = records.clone();
        rehashed[1].event = "forged".to_owned();
        rehashed[1].hash = rehashed[1].compute_hash();
        assert!(matches!(
            verify(rehashed, None).await.broken,
            Some(ChainBreak::Unlinked { seq: 3, .. })
        ));
    }

    #[tokio::test]
    async fn a_purged_chain_verifies_from_its_anchor() {
        let records = chain(4);
        let anchor = AuditAnchor {
            seq: 2,
            hash: records[1].hash,
            purged_at: OffsetDateTime::UNIX_EPOCH,
        };
        let kept = records[2..].to_vec();
        assert_eq!(verify(kept.clone(), Some(anchor)).await.broken, None);
        assert!(verify(kept, None).await.broken.is_some());
    }

    #[test]
    fn the_hash_tells_absent_from_empty_and_covers_every_field() {
        let base = AuditRecord::chain(None, OffsetDateTime::UNIX_EPOCH, event("x"));
        let mut empty_ip = base.clone();
        empty_ip.ip = Some(String::new());
        let mut no_ip = base.clone();
        no_ip.ip = None;
        assert_ne!(empty_ip.compute_hash(), no_ip.compute_hash());
        let mut other_detail = base.clone();
        other_detail.detail = serde_json::json!({"a": "x", "b": 2});
        assert_ne!(other_detail.compute_hash(), base.hash);
    }
}
