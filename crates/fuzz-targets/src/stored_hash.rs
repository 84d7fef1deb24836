//! Stored password hashes (PHC strings) as a store hands them back.

use auth_core::fuzzing::{StoredHashCheck, fuzz_stored_hash};

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
        fuzz_stored_hash(stored, password, FUZZ_KIB_PASSES)
    {
        assert!(!verification.needs_rehash || verification.matched);
    }
}

#[cfg(test)]
mod tests {
    use auth_core::Verification;

    use super::*;

    #[test]
    fn the_entry_verifies_our_hashes_and_refuses_the_rest_before_hashing() {
        let ours = crate::seeds::seeds()
            .into_iter()
            .filter(|(target, name, _)| *target == "stored_hash" && name.starts_with("ours"))
            .collect::<Vec<_>>();
        assert_eq!(ours.len(), 3);
        for (_, _, input) in ours {
            let (stored, password) = split_at_byte(&input, b'\n');
            let stored = std::str::from_utf8(stored).unwrap_or_default();
            // Cheaper than today's parameters: a match that asks for a rehash.
            let matched = Verification {
                matched: true,
                needs_rehash: true,
            };
            assert_eq!(
                fuzz_stored_hash(stored, password, FUZZ_KIB_PASSES),
                StoredHashCheck::Verified(matched)
            );
            assert_eq!(
                fuzz_stored_hash(stored, b"wrong", FUZZ_KIB_PASSES),
                StoredHashCheck::Verified(Verification {
                    matched: false,
                    needs_rehash: false
                })
            );
        }
        let today = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg";
        assert_eq!(
            fuzz_stored_hash(today, b"x", FUZZ_KIB_PASSES),
            StoredHashCheck::NotHashed
        );
        assert_eq!(
            fuzz_stored_hash("plain text", b"x", FUZZ_KIB_PASSES),
            StoredHashCheck::Unparsable
        );
    }
}
