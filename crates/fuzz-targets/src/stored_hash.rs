//! Stored password hashes (PHC strings) as a store hands them back.

use auth_core::fuzzing::{StoredHashCheck, check_stored_hash};

use crate::split_at_byte;

/// The most memory × passes (KiB) a fuzz input may make one verification spend: 64 KiB ×
/// 4 passes. Dearer hashes within the real budget are parsed and checked, not run.
const FUZZ_KIB_PASSES: u64 = 256;

/// Target `stored_hash`: the input up to its first newline as a stored hash, the rest as
/// the password tried against it. Whatever the string, the check refuses or verifies
/// without panicking, and a rehash is asked only of a matching hash.
pub(crate) fn stored_hash(data: &[u8]) {
    let (stored, password) = split_at_byte(data, b'\n');
    let Ok(stored) = std::str::from_utf8(stored) else {
        return;
    };
    if let StoredHashCheck::Verified(verification) =
        check_stored_hash(stored, password, FUZZ_KIB_PASSES)
    {
        assert!(!verification.needs_rehash || verification.matched);
    }
}
