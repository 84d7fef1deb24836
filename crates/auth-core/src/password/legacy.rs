//! Password hashes written by other systems, verified so that imported users keep their
//! passwords: bcrypt (`$2a$`, `$2b$`, `$2y$`; passlib's `$bcrypt-sha256$`; Django's
//! `bcrypt$` and `bcrypt_sha256$`), PBKDF2 (passlib's `$pbkdf2-sha256$` and
//! `$pbkdf2-sha512$`, Django's `pbkdf2_sha256$`) and scrypt (passlib's and the PHC
//! `$scrypt$`, Django's `scrypt$`). argon2 in any variant stays with the PHC path of
//! [`super`]; Django's `argon2$` prefix is removed there.
//!
//! The primitives are RustCrypto's (`bcrypt`, `pbkdf2`, `scrypt`); only the string formats
//! are parsed here. Every format is checked against vectors written by the reference
//! implementations (passlib, pyca bcrypt, Django; `testdata/legacy_hashes.json`).
//!
//! Cost is bounded before any work is done: a stored hash that asks for more than the
//! verification budget never matches and costs nothing, whoever wrote it. A match always
//! asks for a rehash: the login path then stores the configured argon2id.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq as _;

use super::{MAX_ARGON2_KIB_PASSES, MAX_ARGON2_MEMORY_KIB};

/// Highest accepted bcrypt cost: 2^14 rounds, about a second on one core. OWASP asks for at
/// least 10; passlib's default is 12.
pub const MAX_BCRYPT_COST: u32 = 14;
/// Most PBKDF2 iterations accepted; OWASP asks for 600 000 with SHA-256, Django 5.2 uses
/// 1 000 000.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Largest scrypt working memory accepted (`128 · r · N` bytes), the argon2 memory ceiling.
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = MAX_ARGON2_MEMORY_KIB as u64 * 1024;
/// Largest scrypt work accepted (`128 · r · N · p` bytes processed), the argon2
/// memory × passes ceiling.
pub const MAX_SCRYPT_WORK_BYTES: u64 = MAX_ARGON2_KIB_PASSES * 1024;

/// Standard base64 that accepts padding or none and non-canonical trailing bits, as the
/// Python encoders write it.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The outcome of a legacy verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A known format, verified: whether the password matched.
    Checked(bool),
    /// A known format that is malformed or over the budget: never matches, nothing computed.
    Refused(&'static str),
    /// Not a format this module knows.
    Unknown,
}

/// Verifies `password` against a hash in one of the legacy formats.
pub(crate) fn verify(stored: &str, password: &[u8]) -> Outcome {
    check(stored, Some(password))
}

/// Whether a stored hash is in a known legacy format and within the budget, without
/// computing anything: `Checked(false)` when it is usable.
pub(crate) fn inspect(stored: &str) -> Outcome {
    check(stored, None)
}

/// Parses `stored`, checks its cost, and — given a password — verifies it.
fn check(stored: &str, password: Option<&[u8]>) -> Outcome {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        bcrypt_plain(stored, password)
    } else if let Some(rest) = stored.strip_prefix("$bcrypt-sha256$") {
        passlib_bcrypt_sha256(rest, password)
    } else if let Some(rest) = stored.strip_prefix("bcrypt_sha256$") {
        // Django's BCryptSHA256PasswordHasher: bcrypt of the hex SHA-256 of the password.
        let key = password.map(|password| hex(&Sha256::digest(password)));
        bcrypt_plain(rest, key.as_deref().map(str::as_bytes))
    } else if let Some(rest) = stored.strip_prefix("bcrypt$") {
        bcrypt_plain(rest, password)
    } else if let Some(rest) = stored.strip_prefix("$pbkdf2-sha256$") {
        passlib_pbkdf2(rest, password, Prf::Sha256)
    } else if let Some(rest) = stored.strip_prefix("$pbkdf2-sha512$") {
        passlib_pbkdf2(rest, password, Prf::Sha512)
    } else if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
        django_pbkdf2(rest, password)
    } else if let Some(rest) = stored.strip_prefix("$scrypt$") {
        phc_scrypt(rest, password)
    } else if let Some(rest) = stored.strip_prefix("scrypt$") {
        django_scrypt(rest, password)
    } else {
        Outcome::Unknown
    }
}

/// A `$2a$`/`$2b$`/`$2y$` bcrypt hash. A password longer than bcrypt's 72 bytes never
/// matches: bcrypt would only look at its first 72 bytes, and we verify passwords exactly
/// as received (ASVS 5.0 6.2.8; Kratos refuses them the same way). Such a user resets.
fn bcrypt_plain(stored: &str, password: Option<&[u8]>) -> Outcome {
    let Ok(parts) = stored.parse::<bcrypt::HashParts>() else {
        return Outcome::Refused("malformed bcrypt hash");
    };
    if !(stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$")) {
        return Outcome::Refused("unknown bcrypt version");
    }
    if parts.get_cost() > MAX_BCRYPT_COST {
        return Outcome::Refused("bcrypt cost over the verification budget");
    }
    let Some(password) = password else {
        return Outcome::Checked(false);
    };
    if password.len() > 72 {
        return Outcome::Checked(false);
    }
    match bcrypt::non_truncating_verify(password, stored) {
        Ok(matched) => Outcome::Checked(matched),
        Err(_) => Outcome::Refused("malformed bcrypt hash"),
    }
}

/// passlib's `bcrypt_sha256`: v1 `2b,12$salt$hash` (bcrypt of base64(SHA-256(password))),
/// v2 `v=2,t=2b,r=12$salt$hash` (bcrypt of base64(HMAC-SHA-256(key = salt, password))).
fn passlib_bcrypt_sha256(rest: &str, password: Option<&[u8]>) -> Outcome {
    let mut fields = rest.split('$');
    let (Some(settings), Some(salt), Some(checksum), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Outcome::Refused("malformed bcrypt-sha256 hash");
    };
    let (version, ident, rounds) = if let Some(v2) = settings.strip_prefix("v=2,") {
        let mut ident = None;
        let mut rounds = None;
        for pair in v2.split(',') {
            match pair.split_once('=') {
                Some(("t", t)) => ident = Some(t),
                Some(("r", r)) => rounds = Some(r),
                _ => return Outcome::Refused("malformed bcrypt-sha256 hash"),
            }
        }
        let (Some(ident), Some(rounds)) = (ident, rounds) else {
            return Outcome::Refused("malformed bcrypt-sha256 hash");
        };
        (2, ident, rounds)
    } else if let Some((ident, rounds)) = settings.split_once(',') {
        (1, ident, rounds)
    } else {
        return Outcome::Refused("malformed bcrypt-sha256 hash");
    };
    if !matches!(ident, "2a" | "2b") || rounds.len() > 2 || salt.len() != 22 {
        return Outcome::Refused("malformed bcrypt-sha256 hash");
    }
    let Ok(cost) = rounds.parse::<u32>() else {
        return Outcome::Refused("malformed bcrypt-sha256 hash");
    };
    let reconstructed = format!("${ident}${cost:02}${salt}{checksum}");
    let Some(password) = password else {
        return bcrypt_plain(&reconstructed, None);
    };
    let digest: Vec<u8> = if version == 1 {
        Sha256::digest(password).to_vec()
    } else {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(salt.as_bytes()) else {
            return Outcome::Refused("malformed bcrypt-sha256 hash");
        };
        mac.update(password);
        mac.finalize().into_bytes().to_vec()
    };
    let key = base64::engine::general_purpose::STANDARD.encode(digest);
    bcrypt_plain(&reconstructed, Some(key.as_bytes()))
}

#[derive(Clone, Copy)]
enum Prf {
    Sha256,
    Sha512,
}

impl Prf {
    const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// PBKDF2-HMAC, after checking the budget. The output length may not exceed one block of
/// the hash: each further block would cost the iterations again.
fn pbkdf2_check(
    prf: Prf,
    password: Option<&[u8]>,
    salt: &[u8],
    rounds: u32,
    expected: &[u8],
) -> Outcome {
    if rounds == 0 || salt.is_empty() || expected.len() < 16 || expected.len() > prf.output_len() {
        return Outcome::Refused("malformed pbkdf2 hash");
    }
    if rounds > MAX_PBKDF2_ITERATIONS {
        return Outcome::Refused("pbkdf2 iterations over the verification budget");
    }
    let Some(password) = password else {
        return Outcome::Checked(false);
    };
    let mut out = vec![0u8; expected.len()];
    match prf {
        Prf::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, &mut out),
        Prf::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, &mut out),
    }
    Outcome::Checked(out.ct_eq(expected).into())
}

/// passlib's `$pbkdf2-sha256$rounds$salt$hash`, salt and hash in its "ab64" base64 (`.`
/// for `+`, no padding); the salt is used decoded.
fn passlib_pbkdf2(rest: &str, password: Option<&[u8]>, prf: Prf) -> Outcome {
    let mut fields = rest.split('$');
    let (Some(rounds), Some(salt), Some(checksum), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Outcome::Refused("malformed pbkdf2 hash");
    };
    let (Ok(rounds), Some(salt), Some(expected)) =
        (rounds.parse::<u32>(), ab64(salt), ab64(checksum))
    else {
        return Outcome::Refused("malformed pbkdf2 hash");
    };
    pbkdf2_check(prf, password, &salt, rounds, &expected)
}

/// Django's `pbkdf2_sha256$iterations$salt$hash`: the salt is used as its text, the hash is
/// standard base64.
fn django_pbkdf2(rest: &str, password: Option<&[u8]>) -> Outcome {
    let mut fields = rest.split('$');
    let (Some(rounds), Some(salt), Some(checksum), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Outcome::Refused("malformed pbkdf2 hash");
    };
    let (Ok(rounds), Ok(expected)) = (rounds.parse::<u32>(), LENIENT.decode(checksum)) else {
        return Outcome::Refused("malformed pbkdf2 hash");
    };
    pbkdf2_check(Prf::Sha256, password, salt.as_bytes(), rounds, &expected)
}

/// scrypt after checking the budget: working memory `128 · r · N` and work
/// `128 · r · N · p` within the argon2 ceilings.
fn scrypt_check(
    password: Option<&[u8]>,
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    expected: &[u8],
) -> Outcome {
    if log_n == 0 || log_n >= 64 || r == 0 || p == 0 || expected.len() < 16 || expected.len() > 128
    {
        return Outcome::Refused("malformed scrypt hash");
    }
    let memory = 128u64
        .saturating_mul(u64::from(r))
        .saturating_mul(1u64 << log_n);
    if memory > MAX_SCRYPT_MEMORY_BYTES
        || memory.saturating_mul(u64::from(p)) > MAX_SCRYPT_WORK_BYTES
    {
        return Outcome::Refused("scrypt memory over the verification budget");
    }
    let Ok(params) = scrypt::Params::new(log_n, r, p) else {
        return Outcome::Refused("malformed scrypt hash");
    };
    let Some(password) = password else {
        return Outcome::Checked(false);
    };
    let mut out = vec![0u8; expected.len()];
    match scrypt::scrypt(password, salt, &params, &mut out) {
        Ok(()) => Outcome::Checked(out.ct_eq(expected).into()),
        Err(_) => Outcome::Refused("malformed scrypt hash"),
    }
}

/// `$scrypt$ln=…,r=…,p=…$salt$hash`: passlib writes salt and hash in ab64, the PHC form in
/// standard base64 without padding; the one decoder reads both. The salt is used decoded.
fn phc_scrypt(rest: &str, password: Option<&[u8]>) -> Outcome {
    let mut fields = rest.split('$');
    let (Some(settings), Some(salt), Some(checksum), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Outcome::Refused("malformed scrypt hash");
    };
    let (mut log_n, mut r, mut p) = (None, None, None);
    for pair in settings.split(',') {
        match pair.split_once('=') {
            Some(("ln", v)) => log_n = v.parse::<u8>().ok(),
            Some(("r", v)) => r = v.parse::<u32>().ok(),
            Some(("p", v)) => p = v.parse::<u32>().ok(),
            _ => return Outcome::Refused("malformed scrypt hash"),
        }
    }
    let (Some(log_n), Some(r), Some(p), Some(salt), Some(expected)) =
        (log_n, r, p, ab64(salt), ab64(checksum))
    else {
        return Outcome::Refused("malformed scrypt hash");
    };
    scrypt_check(password, &salt, log_n, r, p, &expected)
}

/// Django's `scrypt$N$salt$r$p$hash`: N a power of two, the salt used as its text, the hash
/// (64 bytes) in standard base64.
fn django_scrypt(rest: &str, password: Option<&[u8]>) -> Outcome {
    let fields: Vec<&str> = rest.split('$').collect();
    let [n, salt, r, p, checksum] = fields.as_slice() else {
        return Outcome::Refused("malformed scrypt hash");
    };
    let (Ok(n), Ok(r), Ok(p), Ok(expected)) = (
        n.parse::<u64>(),
        r.parse::<u32>(),
        p.parse::<u32>(),
        LENIENT.decode(checksum),
    ) else {
        return Outcome::Refused("malformed scrypt hash");
    };
    if !n.is_power_of_two() || n < 2 {
        return Outcome::Refused("malformed scrypt hash");
    }
    let Ok(log_n) = u8::try_from(n.trailing_zeros()) else {
        return Outcome::Refused("malformed scrypt hash");
    };
    scrypt_check(password, salt.as_bytes(), log_n, r, p, &expected)
}

/// passlib's "adapted base64": the standard alphabet with `.` for `+`, no padding.
fn ab64(text: &str) -> Option<Vec<u8>> {
    LENIENT.decode(text.replace('.', "+")).ok()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        scheme: String,
        source: String,
        password: String,
        hash: String,
    }

    fn vectors() -> Vec<Vector> {
        let text = include_str!("../../testdata/legacy_hashes.json");
        serde_json::from_str::<Vectors>(text).unwrap().vectors
    }

    #[test]
    fn every_reference_vector_verifies_and_a_wrong_password_does_not() {
        let mut checked = 0;
        for v in vectors().iter().filter(|v| !v.scheme.contains("argon2")) {
            assert_eq!(
                verify(&v.hash, v.password.as_bytes()),
                Outcome::Checked(true),
                "{} ({}) did not verify",
                v.scheme,
                v.source
            );
            let wrong = format!("{}!", v.password);
            assert_eq!(
                verify(&v.hash, wrong.as_bytes()),
                Outcome::Checked(false),
                "{} ({}) matched a wrong password",
                v.scheme,
                v.source
            );
            // No case change or trimming (ASVS 5.0 6.2.8).
            let upper = v.password.to_uppercase();
            assert_ne!(verify(&v.hash, upper.as_bytes()), Outcome::Checked(true));
            checked += 1;
        }
        for scheme in [
            "bcrypt",
            "bcrypt-sha256",
            "django-bcrypt",
            "django-bcrypt-sha256",
            "pbkdf2-sha256",
            "pbkdf2-sha512",
            "django-pbkdf2-sha256",
            "scrypt",
            "scrypt-phc",
            "django-scrypt",
        ] {
            assert!(
                vectors().iter().any(|v| v.scheme == scheme),
                "no vector for {scheme}"
            );
        }
        assert!(checked >= 40, "only {checked} vectors");
    }

    #[test]
    fn inspection_accepts_every_vector_without_a_password() {
        for v in vectors().iter().filter(|v| !v.scheme.contains("argon2")) {
            assert_eq!(inspect(&v.hash), Outcome::Checked(false), "{}", v.source);
        }
        assert!(matches!(
            inspect("$2b$31$CpiAL.NTz6cSCDNEG7YULeiuHpII29ABm2Mrop9lzchUUMD9QyrDC"),
            Outcome::Refused(_)
        ));
        assert_eq!(inspect("plaintext"), Outcome::Unknown);
    }

    #[test]
    fn bcrypt_prefixes_2a_2b_2y_all_verify() {
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            assert!(
                vectors().iter().any(|v| v.hash.starts_with(prefix)
                    && verify(&v.hash, v.password.as_bytes()) == Outcome::Checked(true)),
                "{prefix}"
            );
        }
    }

    #[test]
    fn bcrypt_never_matches_a_password_past_72_bytes_that_shares_the_prefix() {
        // bcrypt itself only reads 72 bytes; passlib and pyca truncate silently. We verify
        // the password exactly as given, so a longer one never matches.
        let v = vectors()
            .into_iter()
            .find(|v| v.hash.starts_with("$2b$"))
            .unwrap();
        let padded = format!("{}{}", v.password, "y".repeat(80));
        assert_eq!(verify(&v.hash, padded.as_bytes()), Outcome::Checked(false));
    }

    fn refused_fast(hash: &str) {
        let started = Instant::now();
        assert!(matches!(inspect(hash), Outcome::Refused(_)), "{hash}");
        assert!(
            matches!(verify(hash, b"anything"), Outcome::Refused(_)),
            "{hash} was not refused"
        );
        assert!(started.elapsed() < Duration::from_millis(50), "{hash}");
    }

    #[test]
    fn hashes_over_the_budget_are_refused_without_work() {
        // Syntactically valid hashes whose parameters would cost minutes or gigabytes.
        refused_fast("$2b$15$CpiAL.NTz6cSCDNEG7YULeiuHpII29ABm2Mrop9lzchUUMD9QyrDC");
        refused_fast("$2y$31$CpiAL.NTz6cSCDNEG7YULeiuHpII29ABm2Mrop9lzchUUMD9QyrDC");
        refused_fast(
            "$bcrypt-sha256$v=2,t=2b,r=20$CqTdLu9p3KWHksJ1lNq4GO$1ToAJ234G9FEsBfYlCm2YwTL33hIzPm",
        );
        refused_fast(
            "$pbkdf2-sha256$10000001$AUBI6d2bE.K8N.bc.///Xw$cT1uGW5yXyXjPG4G2tBS3yCImy7MuI4.LlGLeSEaVxo",
        );
        refused_fast("pbkdf2_sha256$4000000000$salt$iAesbmkWm2zMU1y7DiBvWYq8tvHlFUygaJ63hwYqx0k=");
        // 1 GiB of scrypt memory; and 64 MiB × 16 lanes of work.
        refused_fast(
            "$scrypt$ln=20,r=8,p=1$7h3DuJfSupcyhhDCWAuBEA$53Xl7SJXWxDCq2TlKiZksDH8sbeXBJGB7u0SkxvuWB4",
        );
        refused_fast(
            "$scrypt$ln=16,r=8,p=16$7h3DuJfSupcyhhDCWAuBEA$53Xl7SJXWxDCq2TlKiZksDH8sbeXBJGB7u0SkxvuWB4",
        );
        refused_fast(
            "scrypt$1048576$salt$8$1$VI49w3+hbrzY81rp7SoskTPdUiet5TX5QVk1xln2JwwwRapTqw0WS9dMiY1kWw2uezCuQnX+6WK79/KlfbcObg==",
        );
        // A PBKDF2 output of several blocks would multiply the iterations.
        refused_fast(&format!(
            "$pbkdf2-sha256$1000$AUBI6d2bE.K8N.bc.///Xw${}",
            "A".repeat(200)
        ));
    }

    #[test]
    fn malformed_hashes_are_refused_and_unknown_ones_are_unknown() {
        for hash in [
            "$2b$04$short",
            "$2b$xx$CpiAL.NTz6cSCDNEG7YULeiuHpII29ABm2Mrop9lzchUUMD9QyrDC",
            "$bcrypt-sha256$v=2,t=2b$salt$hash",
            "$pbkdf2-sha256$abc$salt$hash",
            "$pbkdf2-sha512$1000$!!!$hash",
            "pbkdf2_sha256$1000$salt",
            "$scrypt$ln=x,r=8,p=1$salt$hash",
            "$scrypt$ln=10,r=0,p=1$7h3DuJfSupcyhhDCWAuBEA$53Xl7SJXWxDCq2TlKiZksDH8sbeXBJGB7u0SkxvuWB4",
            "scrypt$1000$salt$8$1$aGFzaGhhc2hoYXNoaGFzaGhhc2g=",
        ] {
            refused_fast(hash);
        }
        for hash in [
            "plaintext",
            "",
            "$1$md5crypt$x",
            "sha1$salt$hash",
            "$argon2id$v=19$x",
        ] {
            assert_eq!(verify(hash, b"x"), Outcome::Unknown, "{hash}");
        }
    }
}
