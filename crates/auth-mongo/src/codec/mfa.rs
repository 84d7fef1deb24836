//! The TOTP enrolment and the recovery codes, as fields of the user document.
//!
//! Keeping them in the user document makes every MFA rule a single-document write, which
//! MongoDB applies atomically without a transaction: confirming or deleting the enrolment
//! sets `mfa_enabled` in the same write, deleting it drops the codes with it, replacing the
//! codes is one `$set`, using a code one `$pull` whose match is the condition. Users' reads
//! leave these fields out ([`user_projection`](super::user_projection)).
//!
//! - `totp`: embedded document `{secret, created_at, pending_expires_at, confirmed_at?,
//!   last_used_step?}`; `confirmed_at` and `last_used_step` are absent until set (never
//!   `null`: the conditions test `$exists`, which MongoDB and the test server read alike).
//! - `recovery_codes`: array of the unused code hashes; `recovery_codes_used`: array of
//!   `{code_hash, used_at}`, the codes used since the last replacement.
//!
//! The secret and the code hashes are lower-case hex strings, not binary: the MongoDB-wire
//! test server fails every update that writes a binary value ("Object of type bytes is not
//! JSON serializable"), and these fields are only ever written by updates. MongoDB reads
//! either; hex costs twice the bytes of values that are a few dozen bytes long.

use auth_core::{RecoveryCodeHash, StoreError, TotpRecord, UserId};
use mongodb::bson::{self, Document, doc};
use serde::Deserialize;

use super::{corrupt, date_from_bson, date_to_bson, field};

/// A TOTP enrolment as read from `users.totp`. No `Debug`: it holds the (encrypted) secret.
#[derive(Deserialize)]
pub(crate) struct TotpDoc {
    secret: String,
    created_at: bson::DateTime,
    pending_expires_at: bson::DateTime,
    #[serde(default)]
    confirmed_at: Option<bson::DateTime>,
    #[serde(default)]
    last_used_step: Option<i64>,
}

impl TotpDoc {
    /// The `totp` document of a pending enrolment for `record`: `confirmed_at` left out (a
    /// put never confirms), `last_used_step` only when set.
    pub(crate) fn pending(record: &TotpRecord) -> Document {
        let mut pending = doc! {
            "secret": to_hex(&record.secret),
            field::CREATED_AT: date_to_bson(record.created_at),
            "pending_expires_at": date_to_bson(record.pending_expires_at),
        };
        if let Some(step) = record.last_used_step {
            pending.insert("last_used_step", step);
        }
        pending
    }

    pub(crate) fn into_record(self, user_id: UserId) -> Result<TotpRecord, StoreError> {
        Ok(TotpRecord {
            user_id,
            secret: from_hex(&self.secret).ok_or_else(|| corrupt("totp secret is not hex"))?,
            created_at: date_from_bson(self.created_at)?,
            confirmed_at: self.confirmed_at.map(date_from_bson).transpose()?,
            pending_expires_at: date_from_bson(self.pending_expires_at)?,
            last_used_step: self.last_used_step,
        })
    }
}

/// The MFA fields of a user document, as the MFA reads project them.
#[derive(Deserialize)]
pub(crate) struct MfaDoc {
    pub(crate) totp: Option<TotpDoc>,
    #[serde(default)]
    pub(crate) recovery_codes: Vec<String>,
}

/// The stored form of a recovery code hash.
pub(crate) fn code_to_hex(code: &RecoveryCodeHash) -> String {
    to_hex(&code.0)
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_malformed_text() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff, 0x10];
        assert_eq!(to_hex(&bytes), "000fa5ff10");
        assert_eq!(from_hex("000fa5ff10").as_deref(), Some(&bytes[..]));
        assert_eq!(from_hex("").as_deref(), Some(&[][..]));
        for bad in ["0", "0g", "AB", "zz"] {
            assert_eq!(from_hex(bad), None, "{bad}");
        }
    }
}
