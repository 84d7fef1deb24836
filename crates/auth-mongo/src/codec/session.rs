//! Sessions as documents of the sessions collection.
//!
//! `_id` and `user_id` are id strings like everywhere else, times BSON dates, `epoch` a
//! `long`, `user_agent` and `ip` strings or `null`, `revoked_at` a date or `null`.
//! `revoked_by` (absent until then) is store-internal: the id of the
//! [`revoke_user_sessions`](auth_core::SessionStore::revoke_user_sessions) call that ended
//! the session, so that call can tell which sessions it ended itself.

use auth_core::{SessionRecord, StoreError, UserId};
use mongodb::bson;
use serde::{Deserialize, Serialize};

use super::{date_from_bson, date_to_bson, id_from_bson, id_to_bson};

/// A session as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionDoc {
    #[serde(rename = "_id")]
    id: String,
    user_id: String,
    created_at: bson::DateTime,
    last_used_at: bson::DateTime,
    expires_at: bson::DateTime,
    revoked_at: Option<bson::DateTime>,
    epoch: i64,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl From<&SessionRecord> for SessionDoc {
    fn from(session: &SessionRecord) -> Self {
        Self {
            id: id_to_bson(session.id),
            user_id: id_to_bson(*session.user_id.as_uuid()),
            created_at: date_to_bson(session.created_at),
            last_used_at: date_to_bson(session.last_used_at),
            expires_at: date_to_bson(session.expires_at),
            revoked_at: session.revoked_at.map(date_to_bson),
            epoch: session.epoch,
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
        }
    }
}

impl TryFrom<SessionDoc> for SessionRecord {
    type Error = StoreError;

    fn try_from(doc: SessionDoc) -> Result<Self, StoreError> {
        Ok(Self {
            id: id_from_bson(&doc.id)?,
            user_id: UserId::from_uuid(id_from_bson(&doc.user_id)?),
            created_at: date_from_bson(doc.created_at)?,
            last_used_at: date_from_bson(doc.last_used_at)?,
            expires_at: date_from_bson(doc.expires_at)?,
            revoked_at: doc.revoked_at.map(date_from_bson).transpose()?,
            epoch: doc.epoch,
            user_agent: doc.user_agent,
            ip: doc.ip,
        })
    }
}

/// What the revocation feed reads of a user: its id, its version and when it was raised.
#[derive(Deserialize)]
pub(crate) struct VersionDoc {
    #[serde(rename = "_id")]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) token_version: i64,
    pub(crate) versioned_at: bson::DateTime,
}
