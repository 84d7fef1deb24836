//! Password hashing: argon2id off the async runtime, bounded in parallelism and in queue.
//!
//! Every hash and verification runs on a blocking thread while holding one of
//! `max_concurrent` permits, so a login storm uses at most that many cores and
//! `max_concurrent × memory` of RAM, and the runtime's worker threads stay free for other
//! requests. At most `max_waiting` jobs may wait for a permit; the next one is refused with
//! [`AuthError::Overloaded`] (503 with `Retry-After`) rather than queued without bound.
//!
//! The argon2 working memory (19 MiB per hash by default) is allocated once per permit and
//! reused: allocating it per hash on whichever blocking thread runs the job lets the
//! allocator keep a freed 19 MiB region per thread arena, and a login storm then grew the
//! process by hundreds of MiB. With reuse, memory stays at `permits × memory_kib`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::{Mutex, PoisonError};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::config::HashingConfig;
use crate::error::{AuthError, ConfigError};
use crate::user::HashedPassword;

mod legacy;

pub use self::legacy::{
    MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_MEMORY_BYTES, MAX_SCRYPT_WORK_BYTES,
};

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// Whether the password matched.
    pub matched: bool,
    /// Whether the stored hash uses other parameters than the configured ones and should be
    /// replaced (only meaningful when `matched`).
    pub needs_rehash: bool,
}

/// argon2id hashing and verification with bounded concurrency.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    #[cfg(feature = "bench-internals")]
    inline: bool,
    memory: Arc<MemoryPool>,
    params: Params,
    permits: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    max_admitted: usize,
    dummy: HashedPassword,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("permits", &self.inner.permits.available_permits())
            .field("in_flight", &self.in_flight())
            .field("max_in_flight", &self.inner.max_admitted)
            .finish()
    }
}

impl PasswordHasher {
    /// A hasher with these parameters and limits. Computes, once, the dummy hash that
    /// unknown emails are verified against, so it takes as long as one hash.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for argon2 parameters out of range.
    pub fn new(config: &HashingConfig) -> Result<Self, ConfigError> {
        if config.max_concurrent == 0 {
            return Err(ConfigError::Invalid(
                "hashing.max_concurrent must be at least 1".to_owned(),
            ));
        }
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| ConfigError::Invalid(format!("argon2 parameters: {e}")))?;
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| ConfigError::Invalid(format!("OS random source failed: {e}")))?;
        let memory = MemoryPool::default();
        let dummy = hash_now(&params, &random, &memory)
            .map_err(|e| ConfigError::Invalid(format!("argon2 failed: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                #[cfg(feature = "bench-internals")]
                inline: false,
                memory: Arc::new(memory),
                params,
                permits: Arc::new(Semaphore::new(config.max_concurrent)),
                admitted: Arc::new(AtomicUsize::new(0)),
                max_admitted: config.max_concurrent.saturating_add(config.max_waiting),
                dummy,
            }),
        })
    }

    /// Runs hashes on the calling task's thread instead of the blocking pool. For
    /// benchmarks only (cargo feature `bench-internals`): it shows what the blocking pool
    /// protects, since a hash then holds a runtime worker thread for its whole duration and
    /// starves every other request.
    #[cfg(feature = "bench-internals")]
    #[must_use]
    pub fn inline(self, inline: bool) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                inline,
                memory: Arc::clone(&inner.memory),
                params: inner.params.clone(),
                permits: Arc::clone(&inner.permits),
                admitted: Arc::clone(&inner.admitted),
                max_admitted: inner.max_admitted,
                dummy: inner.dummy.clone(),
            }),
        }
    }

    /// Hashes a password with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`AuthError::Overloaded`] when the queue is full; [`AuthError::Unavailable`] if
    /// hashing itself fails.
    pub async fn hash(&self, password: &SecretString) -> Result<HashedPassword, AuthError> {
        let password = SecretString::from(password.expose_secret().to_owned());
        let params = self.inner.params.clone();
        let memory = Arc::clone(&self.inner.memory);
        self.run(move || {
            hash_now(&params, password.expose_secret().as_bytes(), &memory)
                .map_err(|e| AuthError::Unavailable(Box::new(e)))
        })
        .await?
    }

    /// Verifies a password against a stored hash, or — when there is no user — against a
    /// dummy hash with the same parameters, so both cases cost the same time
    /// (ASVS 5.0 6.3.8; OWASP Authentication Cheat Sheet).
    ///
    /// # Errors
    ///
    /// [`AuthError::Overloaded`] when the queue is full.
    pub async fn verify(
        &self,
        password: &SecretString,
        hash: Option<&HashedPassword>,
    ) -> Result<Verification, AuthError> {
        let password = SecretString::from(password.expose_secret().to_owned());
        let known = hash.is_some();
        let stored = hash.unwrap_or(&self.inner.dummy).as_str().to_owned();
        let params = self.inner.params.clone();
        let memory = Arc::clone(&self.inner.memory);
        self.run(move || {
            let phc = argon2_phc(&stored);
            if !phc.starts_with("$argon2") {
                return verify_legacy(&stored, password.expose_secret().as_bytes(), known);
            }
            let Ok(parsed) = PasswordHash::new(phc) else {
                tracing::error!("stored password hash is not a PHC string; refusing login");
                return Verification {
                    matched: false,
                    needs_rehash: false,
                };
            };
            // Unknown emails spend the same work on the dummy hash, then are refused
            // whatever it says.
            let matched =
                verify_now(&parsed, password.expose_secret().as_bytes(), &memory) && known;
            Verification {
                matched,
                // Django's prefixed form is rewritten as a plain PHC string too.
                needs_rehash: matched
                    && (phc.len() != stored.len() || !uses_params(&parsed, &params)),
            }
        })
        .await
    }

    /// Jobs waiting for or holding a permit right now.
    pub fn in_flight(&self) -> usize {
        self.inner.admitted.load(Ordering::Acquire)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let ticket = Ticket::admit(&self.inner.admitted, self.inner.max_admitted)
            .ok_or(AuthError::Overloaded)?;
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|e| AuthError::Unavailable(Box::new(e)))?;
        #[cfg(feature = "bench-internals")]
        if self.inner.inline {
            let result = job();
            drop(permit);
            drop(ticket);
            return Ok(result);
        }
        // The permit and the ticket move into the blocking task: if the caller goes away,
        // the hash still finishes and only then frees its slot, so the bounds stay true.
        tokio::task::spawn_blocking(move || {
            let result = job();
            drop(permit);
            drop(ticket);
            result
        })
        .await
        .map_err(|e| AuthError::Unavailable(Box::new(e)))
    }
}

/// Reusable argon2 working memory: at most one buffer per concurrently running hash.
#[derive(Default)]
struct MemoryPool(Mutex<Vec<Vec<Block>>>);

impl MemoryPool {
    /// Runs `f` with a buffer of exactly `blocks` blocks, taken from the pool or allocated,
    /// and puts it back afterwards.
    fn with<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let reused = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut buffer = match reused {
            Some(mut buffer) => {
                buffer.resize(blocks, Block::default());
                buffer
            }
            None => vec![Block::default(); blocks],
        };
        let result = f(&mut buffer);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
        result
    }
}

/// Length of the hashes we produce (the argon2 and PHC default).
const OUTPUT_LEN: usize = 32;
/// Length of the salts we produce (the PHC recommendation).
const SALT_LEN: usize = 16;

fn hash_now(
    params: &Params,
    password: &[u8],
    memory: &MemoryPool,
) -> Result<HashedPassword, argon2::Error> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|_| argon2::Error::SaltTooShort)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    memory.with(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, &salt, &mut out, blocks)
    })?;
    // The PHC string format (base64 without padding), as the argon2 crate writes it.
    Ok(HashedPassword::new(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    )))
}

/// The most work a stored argon2 hash may ask of one verification, whatever parameters it
/// names: memory × passes at most 512 MiB·passes (the default asks 38), memory at most
/// 256 MiB, at most 16 lanes. A hash beyond it — written by an attacker with database
/// access, or imported from a system with extreme settings — never matches and is logged,
/// instead of costing seconds and gigabytes per login attempt. The configured parameters
/// must stay within it too.
pub const MAX_ARGON2_KIB_PASSES: u64 = 512 * 1024;
/// See [`MAX_ARGON2_KIB_PASSES`].
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// See [`MAX_ARGON2_KIB_PASSES`].
pub const MAX_ARGON2_LANES: u32 = 16;

/// Whether argon2 parameters are within the verification budget.
pub(crate) fn within_budget(memory_kib: u32, passes: u32, lanes: u32) -> bool {
    memory_kib <= MAX_ARGON2_MEMORY_KIB
        && lanes <= MAX_ARGON2_LANES
        && u64::from(memory_kib) * u64::from(passes) <= MAX_ARGON2_KIB_PASSES
}

/// Verifies with the parameters stored in the hash, in reused memory; compares in
/// constant time. Anything unparsable, unsupported or over the verification budget never
/// matches.
///
/// A hash made with cheaper parameters than today's verifies faster, so the time of a
/// login tells an account not yet upgraded from one that is (the hash is upgraded at its
/// first successful login, which closes the gap account by account).
fn verify_now(hash: &PasswordHash, password: &[u8], memory: &MemoryPool) -> bool {
    let (Ok(algorithm), Ok(version), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::new(hash.algorithm.as_str()),
        hash.version.map_or(Ok(Version::V0x13), Version::try_from),
        Params::try_from(hash),
        hash.salt.as_ref(),
        hash.hash.as_ref(),
    ) else {
        return false;
    };
    if !within_budget(params.m_cost(), params.t_cost(), params.p_cost()) {
        tracing::error!(
            m_cost = params.m_cost(),
            t_cost = params.t_cost(),
            p_cost = params.p_cost(),
            "stored password hash exceeds the verification budget; refusing the login"
        );
        return false;
    }
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = memory.with(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, salt.as_ref(), &mut out, blocks)
    });
    computed.is_ok() && bool::from(out.as_slice().ct_eq(expected))
}

/// The PHC string of a stored hash: Django writes argon2 as `argon2` + the PHC string, and
/// every other form is returned as it is.
fn argon2_phc(stored: &str) -> &str {
    stored
        .strip_prefix("argon2")
        .filter(|rest| rest.starts_with("$argon2"))
        .unwrap_or(stored)
}

/// Checks, without computing anything, that a stored password hash is one the hasher can
/// verify: an argon2 PHC string (Django's `argon2$` form too) or a legacy bcrypt, PBKDF2 or
/// scrypt hash, within the verification budget. For importers: a hash refused here would
/// never let its user log in.
///
/// # Errors
///
/// A short reason (no part of the hash): unknown format, malformed, or over the budget.
pub fn check_stored_hash(stored: &str) -> Result<(), &'static str> {
    let phc = argon2_phc(stored);
    if !phc.starts_with("$argon2") {
        return match legacy::inspect(stored) {
            legacy::Outcome::Checked(_) => Ok(()),
            legacy::Outcome::Refused(reason) => Err(reason),
            legacy::Outcome::Unknown => Err("unknown password hash format"),
        };
    }
    let parsed = PasswordHash::new(phc).map_err(|_| "malformed argon2 hash")?;
    let (Ok(_), Ok(_), Ok(params), Some(_), Some(_)) = (
        Algorithm::new(parsed.algorithm.as_str()),
        parsed.version.map_or(Ok(Version::V0x13), Version::try_from),
        Params::try_from(&parsed),
        parsed.salt.as_ref(),
        parsed.hash.as_ref(),
    ) else {
        return Err("malformed argon2 hash");
    };
    if within_budget(params.m_cost(), params.t_cost(), params.p_cost()) {
        Ok(())
    } else {
        Err("argon2 parameters over the verification budget")
    }
}

/// Verifies a hash written by another system (see [`legacy`]); a match always asks for the
/// configured argon2id.
fn verify_legacy(stored: &str, password: &[u8], known: bool) -> Verification {
    let matched = match legacy::verify(stored, password) {
        legacy::Outcome::Checked(matched) => matched,
        legacy::Outcome::Refused(reason) => {
            tracing::error!(
                reason,
                "stored password hash is unusable; refusing the login"
            );
            false
        }
        legacy::Outcome::Unknown => {
            tracing::error!("stored password hash is in no known format; refusing the login");
            false
        }
    } && known;
    Verification {
        matched,
        needs_rehash: matched,
    }
}

fn uses_params(hash: &PasswordHash, params: &Params) -> bool {
    if hash.algorithm.as_str() != Algorithm::Argon2id.as_str()
        || hash.version != Some(Version::V0x13.into())
    {
        return false;
    }
    Params::try_from(hash).is_ok_and(|stored| {
        stored.m_cost() == params.m_cost()
            && stored.t_cost() == params.t_cost()
            && stored.p_cost() == params.p_cost()
    })
}

/// One admitted hashing job; leaving frees its place in the queue.
struct Ticket {
    admitted: Arc<AtomicUsize>,
}

impl Ticket {
    fn admit(admitted: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self {
                admitted: Arc::clone(admitted),
            })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What [`fuzz_stored_hash`] found (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredHashCheck {
    /// Not a PHC string: the login is refused before any work.
    Unparsable,
    /// Within the verification budget but dearer than the fuzz budget: parsed and
    /// checked, not hashed.
    NotHashed,
    /// Verified: whether it matched, and whether it would be rehashed.
    Verified(Verification),
}

/// The check [`PasswordHasher::verify`] runs on a stored hash, synchronously, with the
/// default parameters as today's: PHC parsing, parameter and budget checks, and the argon2
/// verification itself when the stored parameters ask at most `max_kib_passes`
/// memory × passes (a fuzzer cannot spend seconds per input; anything over the real budget
/// is refused before hashing either way, and is checked). Feature `fuzzing` only.
#[cfg(feature = "fuzzing")]
pub fn fuzz_stored_hash(stored: &str, password: &[u8], max_kib_passes: u64) -> StoredHashCheck {
    thread_local! {
        static MEMORY: MemoryPool = MemoryPool::default();
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return StoredHashCheck::Unparsable;
    };
    if let Ok(params) = Params::try_from(&parsed)
        && within_budget(params.m_cost(), params.t_cost(), params.p_cost())
        && u64::from(params.m_cost()) * u64::from(params.t_cost()) > max_kib_passes
    {
        return StoredHashCheck::NotHashed;
    }
    let today = HashingConfig::default();
    let params = Params::new(today.memory_kib, today.iterations, today.parallelism, None)
        .unwrap_or_default();
    let matched = MEMORY.with(|memory| verify_now(&parsed, password, memory));
    StoredHashCheck::Verified(Verification {
        matched,
        needs_rehash: matched && !uses_params(&parsed, &params),
    })
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn a_hash_over_the_budget_never_matches_and_costs_nothing() {
        let memory = MemoryPool::default();
        // Valid argon2id parameters far beyond the budget: 4 GiB × 10 passes.
        let hostile = "$argon2id$v=19$m=4194304,t=10,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg";
        let parsed = PasswordHash::new(hostile).unwrap();
        let started = std::time::Instant::now();
        assert!(!verify_now(&parsed, b"anything", &memory));
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
        assert!(within_budget(19 * 1024, 2, 1));
        assert!(!within_budget(257 * 1024, 1, 1));
        assert!(!within_budget(128 * 1024, 5, 1));
        assert!(!within_budget(1024, 1, 17));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Small parameters so tests stay fast; the defaults are tested in `config`.
    pub(crate) fn fast() -> HashingConfig {
        HashingConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            max_waiting: 8,
        }
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_the_configured_parameters() {
        let hasher = PasswordHasher::new(&HashingConfig::default()).unwrap();
        let hash = hasher.hash(&secret("Str0ng!pass")).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        let other = hasher.hash(&secret("Str0ng!pass")).await.unwrap();
        assert_ne!(hash, other, "salts must differ");
    }

    #[tokio::test]
    async fn verification_accepts_the_password_exactly_as_given() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let hash = hasher.hash(&secret(" Str0ng!pass ")).await.unwrap();
        let ok = hasher
            .verify(&secret(" Str0ng!pass "), Some(&hash))
            .await
            .unwrap();
        assert!(ok.matched);
        assert!(!ok.needs_rehash);
        for wrong in ["Str0ng!pass", " str0ng!pass ", " Str0ng!pas"] {
            let v = hasher.verify(&secret(wrong), Some(&hash)).await.unwrap();
            assert!(!v.matched, "{wrong:?} matched");
        }
    }

    #[tokio::test]
    async fn unknown_user_costs_a_full_verification_and_never_matches() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let v = hasher.verify(&secret("anything"), None).await.unwrap();
        assert_eq!(
            v,
            Verification {
                matched: false,
                needs_rehash: false
            }
        );
        // The dummy is a real argon2id hash with the configured parameters.
        assert!(
            hasher
                .inner
                .dummy
                .as_str()
                .starts_with("$argon2id$v=19$m=64,t=1,p=1$")
        );
    }

    #[tokio::test]
    async fn hashes_with_older_parameters_ask_for_a_rehash() {
        let old = PasswordHasher::new(&fast()).unwrap();
        let hash = old.hash(&secret("Str0ng!pass")).await.unwrap();
        let current = PasswordHasher::new(&HashingConfig {
            memory_kib: 128,
            ..fast()
        })
        .unwrap();
        let v = current
            .verify(&secret("Str0ng!pass"), Some(&hash))
            .await
            .unwrap();
        assert!(v.matched);
        assert!(v.needs_rehash);
        let wrong = current.verify(&secret("wrong"), Some(&hash)).await.unwrap();
        assert!(!wrong.needs_rehash, "only successful logins rehash");
    }

    #[tokio::test]
    async fn hashes_from_the_argon2_crate_and_other_variants_verify() {
        use argon2::password_hash::PasswordHasher as _;
        // A PHC string written by the reference implementation's API, e.g. by another tool
        // or an earlier version of this library.
        let foreign = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"Str0ng!pass")
        .unwrap()
        .to_string();
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let stored = HashedPassword::new(foreign);
        let ok = hasher
            .verify(&secret("Str0ng!pass"), Some(&stored))
            .await
            .unwrap();
        assert!(ok.matched);
        assert!(ok.needs_rehash, "argon2i is upgraded to argon2id");
        let wrong = hasher.verify(&secret("nope"), Some(&stored)).await.unwrap();
        assert!(!wrong.matched);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn working_memory_is_reused_not_reallocated_per_hash() {
        // fast(): 2 permits and 8 waiting, so all 10 are admitted.
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let jobs: Vec<_> = (0..10)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.hash(&secret("Str0ng!pass")).await })
            })
            .collect();
        for result in futures_join(jobs).await {
            assert!(result.unwrap().is_ok());
        }
        let buffers = hasher.inner.memory.0.lock().unwrap().len();
        assert!(
            (1..=2).contains(&buffers),
            "{buffers} buffers kept for 2 permits"
        );
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_never_matches() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let v = hasher
            .verify(&secret("x"), Some(&HashedPassword::new("plaintext")))
            .await
            .unwrap();
        assert!(!v.matched);
    }

    #[tokio::test]
    async fn a_hash_with_an_unknown_argon2_version_never_matches() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let good = hasher.hash(&secret("Str0ng!pass")).await.unwrap();
        assert!(good.as_str().contains("$v=19$"));
        let unknown = HashedPassword::new(good.as_str().replace("$v=19$", "$v=99$"));
        let v = hasher
            .verify(&secret("Str0ng!pass"), Some(&unknown))
            .await
            .unwrap();
        assert!(!v.matched, "version 99 was read as 19");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hashing_runs_off_the_runtime() {
        // On a single-threaded runtime a ticking interval only advances if the hashes run
        // elsewhere: on blocking threads, never on the runtime's own thread.
        let hasher = PasswordHasher::new(&HashingConfig {
            memory_kib: 8 * 1024,
            iterations: 3,
            max_concurrent: 1,
            max_waiting: 16,
            ..fast()
        })
        .unwrap();
        let jobs: Vec<_> = (0..6)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.hash(&secret("Str0ng!pass")).await })
            })
            .collect();
        let mut ticks = 0u32;
        let mut interval = tokio::time::interval(Duration::from_millis(2));
        let all = futures_join(jobs);
        tokio::pin!(all);
        loop {
            tokio::select! {
                results = &mut all => {
                    for r in results { assert!(r.unwrap().is_ok()); }
                    break;
                }
                _ = interval.tick() => ticks += 1,
            }
        }
        assert!(ticks >= 5, "runtime starved: only {ticks} ticks");
        assert_eq!(hasher.inner.permits.available_permits(), 1);
        assert_eq!(hasher.in_flight(), 0);
    }

    #[cfg(feature = "bench-internals")]
    #[tokio::test(flavor = "current_thread")]
    async fn the_inline_switch_hashes_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let inline = PasswordHasher::new(&fast()).unwrap().inline(true);
        let ran_on = inline.run(|| std::thread::current().id()).await.unwrap();
        assert_eq!(ran_on, caller);
        let pooled = inline.inline(false);
        let ran_on = pooled.run(|| std::thread::current().id()).await.unwrap();
        assert_ne!(ran_on, caller);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_there_are_permits() {
        let hasher = PasswordHasher::new(&fast()).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (hasher, running, peak) =
                    (hasher.clone(), Arc::clone(&running), Arc::clone(&peak));
                tokio::spawn(async move {
                    hasher
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for result in futures_join(jobs).await {
            assert!(result.unwrap().is_ok());
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2, "fast() has 2 permits");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_overloaded_instead_of_waiting() {
        let hasher = PasswordHasher::new(&HashingConfig {
            memory_kib: 4 * 1024,
            iterations: 4,
            max_concurrent: 1,
            max_waiting: 2,
            ..fast()
        })
        .unwrap();
        // 1 running + 2 waiting are admitted; the other 5 are refused at once.
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.hash(&secret("Str0ng!pass")).await })
            })
            .collect();
        let results = futures_join(jobs).await;
        let ok = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        let overloaded = results
            .iter()
            .filter(|r| matches!(r, Ok(Err(AuthError::Overloaded))))
            .count();
        assert_eq!(ok + overloaded, 8);
        assert!(overloaded >= 1, "queue bound not enforced");
        assert!(ok >= 3, "admitted jobs must complete, got {ok}");
        assert_eq!(hasher.in_flight(), 0, "tickets leaked");
        // Once drained, new work is admitted again.
        assert!(hasher.hash(&secret("Str0ng!pass")).await.is_ok());
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        scheme: String,
        source: String,
        password: String,
        hash: String,
    }

    fn reference_vectors() -> Vec<Vector> {
        #[derive(serde::Deserialize)]
        struct Vectors {
            vectors: Vec<Vector>,
        }
        let text = include_str!("../testdata/legacy_hashes.json");
        serde_json::from_str::<Vectors>(text).unwrap().vectors
    }

    #[tokio::test]
    async fn every_reference_vector_verifies_through_the_hasher_and_asks_for_argon2id() {
        // Parameters no vector uses, so every match asks for a rehash.
        let hasher = PasswordHasher::new(&HashingConfig {
            memory_kib: 72,
            ..fast()
        })
        .unwrap();
        let vectors = reference_vectors();
        for prefix in ["$argon2i$", "$argon2d$", "$argon2id$", "argon2$argon2id$"] {
            assert!(
                vectors.iter().any(|v| v.hash.starts_with(prefix)),
                "{prefix}"
            );
        }
        for v in &vectors {
            let stored = HashedPassword::new(v.hash.clone());
            let ok = hasher
                .verify(&secret(&v.password), Some(&stored))
                .await
                .unwrap();
            assert!(ok.matched, "{} ({})", v.scheme, v.source);
            assert!(ok.needs_rehash, "{} ({})", v.scheme, v.source);
            let wrong = hasher
                .verify(&secret(&format!("{}x", v.password)), Some(&stored))
                .await
                .unwrap();
            assert!(!wrong.matched, "{} ({})", v.scheme, v.source);
            assert_eq!(check_stored_hash(&v.hash), Ok(()), "{}", v.source);
        }
    }

    #[test]
    fn stored_hash_check_refuses_unknown_malformed_and_costly_hashes() {
        for bad in [
            "plaintext",
            "",
            "$argon2id$v=19$m=4194304,t=10,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg",
            "$argon2id$v=99$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg",
            "$argon2id$garbage",
            "$2b$15$CpiAL.NTz6cSCDNEG7YULeiuHpII29ABm2Mrop9lzchUUMD9QyrDC",
        ] {
            assert!(check_stored_hash(bad).is_err(), "{bad}");
        }
    }

    async fn futures_join<T>(
        handles: Vec<tokio::task::JoinHandle<T>>,
    ) -> Vec<Result<T, tokio::task::JoinError>> {
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            out.push(handle.await);
        }
        out
    }
}
