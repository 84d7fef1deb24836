//! Audit records and the purge anchor as documents.
//!
//! A record's position is its `_id` (a `long`, unique by the primary index) and is repeated
//! in `seq`, for two behaviours of the MongoDB-wire test server: it cannot build an index
//! that names `_id` inside a compound key (every insert then fails with "JSON path error
//! near '_id'"), so the compound indexes of the listings use `seq`; and a filter combining a
//! date comparison with an `_id` range compares the `_id`s as text, so the purge bounds
//! `seq`. `detail` is the JSON text exactly as
//! serde_json wrote it (the chain hash covers that text, and a BSON document would not keep
//! it), ids are id strings or `null`, hashes 32-byte generic binary.
//!
//! The anchor collection holds the anchors of purges, one document each (`_id` = the `seq`
//! of the last record deleted, `hash`, `purged_at`), only ever inserted: the anchor is the
//! one with the highest `_id`, and a purge deletes the older ones after inserting its own.

use auth_core::{AuditAnchor, AuditRecord, StoreError, UserId};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{self, Binary};
use serde::{Deserialize, Serialize};

use super::{corrupt, date_from_bson, date_to_bson, id_from_bson, id_to_bson};

/// An audit record as stored. No `Debug`: nothing to hide, but nothing to show either.
#[derive(Serialize, Deserialize)]
pub(crate) struct AuditDoc {
    #[serde(rename = "_id")]
    id: i64,
    seq: i64,
    at: bson::DateTime,
    event: String,
    user_id: Option<String>,
    actor_id: Option<String>,
    session_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: String,
    prev_hash: Binary,
    hash: Binary,
}

impl From<&AuditRecord> for AuditDoc {
    fn from(record: &AuditRecord) -> Self {
        Self {
            id: record.seq,
            seq: record.seq,
            at: date_to_bson(record.at),
            event: record.event.clone(),
            user_id: record.user_id.map(|id| id_to_bson(*id.as_uuid())),
            actor_id: record.actor_id.map(|id| id_to_bson(*id.as_uuid())),
            session_id: record.session_id.map(id_to_bson),
            ip: record.ip.clone(),
            user_agent: record.user_agent.clone(),
            // The text the hash was computed over (`AuditRecord::compute_hash`).
            detail: serde_json::to_string(&record.detail).unwrap_or_default(),
            prev_hash: bytes_to_binary(&record.prev_hash),
            hash: bytes_to_binary(&record.hash),
        }
    }
}

impl TryFrom<AuditDoc> for AuditRecord {
    type Error = StoreError;

    fn try_from(doc: AuditDoc) -> Result<Self, StoreError> {
        let user = |id: Option<String>| {
            id.as_deref()
                .map(id_from_bson)
                .transpose()
                .map(|id| id.map(UserId::from_uuid))
        };
        Ok(Self {
            seq: doc.id,
            at: date_from_bson(doc.at)?,
            event: doc.event,
            user_id: user(doc.user_id)?,
            actor_id: user(doc.actor_id)?,
            session_id: doc.session_id.as_deref().map(id_from_bson).transpose()?,
            ip: doc.ip,
            user_agent: doc.user_agent,
            detail: serde_json::from_str(&doc.detail)
                .map_err(|_| corrupt("audit detail is not JSON"))?,
            prev_hash: binary_to_bytes(&doc.prev_hash)?,
            hash: binary_to_bytes(&doc.hash)?,
        })
    }
}

/// A purge anchor as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct AnchorDoc {
    #[serde(rename = "_id")]
    seq: i64,
    hash: Binary,
    purged_at: bson::DateTime,
}

impl From<&AuditAnchor> for AnchorDoc {
    fn from(anchor: &AuditAnchor) -> Self {
        Self {
            seq: anchor.seq,
            hash: bytes_to_binary(&anchor.hash),
            purged_at: date_to_bson(anchor.purged_at),
        }
    }
}

impl TryFrom<AnchorDoc> for AuditAnchor {
    type Error = StoreError;

    fn try_from(doc: AnchorDoc) -> Result<Self, StoreError> {
        Ok(Self {
            seq: doc.seq,
            hash: binary_to_bytes(&doc.hash)?,
            purged_at: date_from_bson(doc.purged_at)?,
        })
    }
}

fn bytes_to_binary(bytes: &[u8; 32]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

fn binary_to_bytes(binary: &Binary) -> Result<[u8; 32], StoreError> {
    if binary.subtype != BinarySubtype::Generic {
        return Err(corrupt("an audit hash is not generic binary"));
    }
    binary
        .bytes
        .as_slice()
        .try_into()
        .map_err(|_| corrupt("an audit hash is not 32 bytes long"))
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;

    /// The stored text parses back to a value whose text is the same, floats included (one
    /// that the default serde_json parser reads one ULP off), so the hash still matches.
    #[test]
    fn detail_text_round_trips_and_the_hash_still_matches() {
        let event = auth_core::AuditEvent {
            event: "x".to_owned(),
            detail: serde_json::json!({"f": 1.0715660391465826e-75, "g": -1.81996730402717e-179, "n": 3}),
            ..auth_core::AuditEvent::default()
        };
        let record = AuditRecord::chain(None, OffsetDateTime::UNIX_EPOCH, event);
        let read = AuditRecord::try_from(AuditDoc::from(&record)).expect("decodes");
        assert_eq!(read, record);
        assert_eq!(read.compute_hash(), record.hash);
    }
}
