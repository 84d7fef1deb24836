//! Configuration of the service. `AuthConfig::default()` is the secure configuration.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use time::Duration;

use ipnet::IpNet;

use crate::breaker::BreakerSettings;
use crate::counter::{IpLimits, Throttle};
use crate::error::ConfigError;
use crate::jwt::JwtKey;
use crate::policy::PasswordPolicy;

/// The algorithm that signs JWTs: an HMAC one with the JWT secret, or an asymmetric one
/// with a private key (feature `asymmetric`). Each key is used with one algorithm only
/// (RFC 8725 §3.1); the algorithm named in a token's header is never trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC SHA-256 (default).
    #[default]
    Hs256,
    /// HMAC SHA-384.
    Hs384,
    /// HMAC SHA-512.
    Hs512,
    /// EdDSA with Ed25519 (RFC 8037): small keys and signatures, fast to sign and check.
    EdDsa,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), keys of at least 2048 bits.
    Rs256,
}

impl JwtAlgorithm {
    /// Every algorithm.
    pub const ALL: [Self; 6] = [
        Self::Hs256,
        Self::Hs384,
        Self::Hs512,
        Self::EdDsa,
        Self::Es256,
        Self::Rs256,
    ];

    /// The smallest secret allowed: the hash output size (RFC 7518 §3.2). Under an
    /// asymmetric algorithm the secret still keys the server's own HMAC uses: 32 bytes.
    pub fn min_secret_len(&self) -> usize {
        match self {
            Self::Hs256 | Self::EdDsa | Self::Es256 | Self::Rs256 => 32,
            Self::Hs384 => 48,
            Self::Hs512 => 64,
        }
    }

    /// The JOSE name, as in a token's `alg` header (RFC 7518 §3.1, RFC 8037 §3.1): `HS256`,
    /// `HS384`, `HS512`, `EdDSA`, `ES256`, `RS256`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// The algorithm a configuration value names (`HS256`, `EdDSA`, …; ASCII case is
    /// ignored here — a token's `alg` must match [`name`](Self::name) exactly).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(name))
    }

    /// Whether it is an HMAC algorithm (signed and checked with a shared secret).
    pub fn is_hmac(&self) -> bool {
        matches!(self, Self::Hs256 | Self::Hs384 | Self::Hs512)
    }
}

/// argon2id parameters and the limits on concurrent hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashingConfig {
    /// Memory in KiB. Default 19 456 (19 MiB, OWASP Password Storage Cheat Sheet).
    pub memory_kib: u32,
    /// Iterations. Default 2 (OWASP).
    pub iterations: u32,
    /// Lanes. Default 1 (OWASP).
    pub parallelism: u32,
    /// Hashes computed at once, each on a blocking thread. Default: the number of cores,
    /// so a login storm uses the CPU fully but never more than `permits × memory_kib`.
    pub max_concurrent: usize,
    /// Hash jobs allowed to wait for a permit. Beyond it, login, registration and password
    /// changes answer 503 with `Retry-After` instead of queueing without bound.
    /// Default: 64 per permit.
    pub max_waiting: usize,
}

/// The cores this process may use (1 when the OS does not say).
pub(crate) fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// The pool size the SQL stores default to: 4 connections per core, between 4 and 64 (8 on
/// two cores). Every query holds a connection for a round trip, so a few per core keep the
/// cores busy without crowding them or the database (measured with 1, 2, 4, 8 and 16 on two
/// cores in benches/README.md; 8 was best for both SQLite and PostgreSQL).
pub fn default_pool_size() -> u32 {
    const PER_CORE: u32 = 4;
    u32::try_from(available_cores())
        .unwrap_or(u32::MAX)
        .saturating_mul(PER_CORE)
        .clamp(4, 64)
}

impl Default for HashingConfig {
    fn default() -> Self {
        let cores = available_cores();
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: cores,
            max_waiting: 64 * cores,
        }
    }
}

/// Everything the service needs to know, with secure defaults.
///
/// ```
/// use auth_core::AuthConfig;
/// use time::Duration;
///
/// let config = AuthConfig::new("q3Xv_8Jk-2RtLp9zW4nMb7YcHs0eDf6GuA1iVoQxTyE")
///     .with_access_ttl(Duration::minutes(10))
///     .with_public_url("https://app.example.com");
/// assert!(config.validate().is_ok());
/// assert!(AuthConfig::new("too short").validate().is_err());
/// ```
#[derive(Clone)]
pub struct AuthConfig {
    jwt_secret: SecretString,
    jwt_algorithm: JwtAlgorithm,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
    refresh_absolute_ttl: Duration,
    reset_ttl: Duration,
    verify_ttl: Duration,
    jwt_leeway: Duration,
    require_verified_email: bool,
    public_url: String,
    password_policy: PasswordPolicy,
    hashing: HashingConfig,
    #[cfg(feature = "bench-internals")]
    inline_hashing: bool,
    admin_role: String,
    revocation_poll: Duration,
    revocation_max_staleness: Option<Duration>,
    refresh_reuse_grace: Duration,
    login_throttle: Throttle,
    email_cooldown: Duration,
    ip_limits: Option<IpLimits>,
    trusted_proxies: Vec<IpNet>,
    limits_fail_open: bool,
    jwt_signing_key: Option<JwtKey>,
    jwt_previous_keys: Vec<JwtKey>,
    data_keys: Vec<[u8; 32]>,
    totp_issuer: String,
    store_breaker: Option<BreakerSettings>,
    pub(crate) browser: crate::browser::BrowserConfig,
    audit: crate::audit_config::AuditConfig,
    new_sign_in_email: bool,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("AuthConfig");
        f.field("jwt_secret", &"[redacted]")
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("refresh_absolute_ttl", &self.refresh_absolute_ttl)
            .field("reset_ttl", &self.reset_ttl)
            .field("verify_ttl", &self.verify_ttl)
            .field("jwt_leeway", &self.jwt_leeway)
            .field("require_verified_email", &self.require_verified_email)
            .field("public_url", &self.public_url)
            .field("password_policy", &self.password_policy)
            .field("hashing", &self.hashing);
        #[cfg(feature = "bench-internals")]
        f.field("inline_hashing", &self.inline_hashing);
        f.field("admin_role", &self.admin_role)
            .field("revocation_poll", &self.revocation_poll)
            .field("revocation_max_staleness", &self.revocation_max_staleness)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("login_throttle", &self.login_throttle)
            .field("email_cooldown", &self.email_cooldown)
            .field("ip_limits", &self.ip_limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("limits_fail_open", &self.limits_fail_open)
            .field("jwt_signing_key", &self.jwt_signing_key)
            .field("jwt_previous_keys", &self.jwt_previous_keys)
            .field(
                "data_keys",
                &format_args!("{} [redacted]", self.data_keys.len()),
            )
            .field("totp_issuer", &self.totp_issuer)
            .field("store_breaker", &self.store_breaker)
            .field("browser", &self.browser)
            .field("audit", &self.audit)
            .field("new_sign_in_email", &self.new_sign_in_email)
            .finish()
    }
}

impl Default for AuthConfig {
    /// The secure defaults with a random JWT secret: tokens then die with the process and
    /// are not shared between processes. Set a secret with [`AuthConfig::new`] for anything
    /// but development.
    fn default() -> Self {
        Self::new(random_secret())
    }
}

impl AuthConfig {
    /// The defaults with this JWT secret (at least 32 bytes for HS256; checked by
    /// [`validate`](Self::validate) and by the service builder).
    pub fn new(jwt_secret: impl Into<String>) -> Self {
        Self {
            jwt_secret: SecretString::from(jwt_secret.into()),
            jwt_algorithm: JwtAlgorithm::Hs256,
            issuer: "myauth".to_owned(),
            audience: "myauth".to_owned(),
            access_ttl: Duration::minutes(30),
            refresh_ttl: Duration::days(7),
            refresh_absolute_ttl: Duration::days(30),
            reset_ttl: Duration::minutes(15),
            verify_ttl: Duration::hours(24),
            jwt_leeway: Duration::seconds(5),
            require_verified_email: true,
            public_url: "http://localhost:3000".to_owned(),
            password_policy: PasswordPolicy::default(),
            hashing: HashingConfig::default(),
            #[cfg(feature = "bench-internals")]
            inline_hashing: false,
            admin_role: "admin".to_owned(),
            revocation_poll: Duration::seconds(5),
            revocation_max_staleness: Some(Duration::seconds(60)),
            refresh_reuse_grace: Duration::ZERO,
            login_throttle: Throttle::default(),
            email_cooldown: Duration::seconds(60),
            ip_limits: Some(IpLimits::default()),
            trusted_proxies: Vec::new(),
            limits_fail_open: false,
            jwt_signing_key: None,
            jwt_previous_keys: Vec::new(),
            data_keys: Vec::new(),
            totp_issuer: "MyAuth".to_owned(),
            store_breaker: Some(BreakerSettings::default()),
            browser: crate::browser::BrowserConfig::default(),
            audit: crate::audit_config::AuditConfig::default(),
            new_sign_in_email: false,
        }
    }

    /// Reads the `MYAUTH_*` variables of the API contract from the process environment,
    /// and the key files `MYAUTH_JWT_PRIVATE_KEY_FILE` and `MYAUTH_JWT_PREVIOUS_KEYS` name.
    /// Unset variables keep their defaults; an unset `MYAUTH_JWT_SECRET` gives a random
    /// secret and a loud warning.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidVar`] for an unparsable value, [`ConfigError::JwtKey`] for a
    /// key file that cannot be used (naming the variable and the file), or any
    /// [`validate`](Self::validate) error.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` (for tests and
    /// for other configuration sources).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = match lookup("MYAUTH_JWT_SECRET") {
            Some(secret) => Self::new(secret),
            None => {
                tracing::warn!(
                    "MYAUTH_JWT_SECRET is not set: using a random secret; every token dies \
                     when the process stops and other processes will reject them"
                );
                Self::default()
            }
        };
        let secs = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
            lookup(name)
                .map(|raw| {
                    raw.trim()
                        .parse::<u32>()
                        .map(|n| Duration::seconds(i64::from(n)))
                        .map_err(|e| ConfigError::InvalidVar {
                            name,
                            reason: format!("expected a whole number of seconds: {e}"),
                        })
                })
                .transpose()
        };
        let count = |name: &'static str| -> Result<Option<usize>, ConfigError> {
            lookup(name)
                .map(|raw| {
                    raw.trim()
                        .parse::<usize>()
                        .map_err(|e| ConfigError::InvalidVar {
                            name,
                            reason: format!("expected a whole number: {e}"),
                        })
                })
                .transpose()
        };
        if let Some(ttl) = secs("MYAUTH_ACCESS_TTL_SECS")? {
            config.access_ttl = ttl;
        }
        if let Some(ttl) = secs("MYAUTH_REFRESH_TTL_SECS")? {
            config.refresh_ttl = ttl;
        }
        if let Some(ttl) = secs("MYAUTH_REFRESH_ABSOLUTE_TTL_SECS")? {
            config.refresh_absolute_ttl = ttl;
        }
        if let Some(ttl) = secs("MYAUTH_RESET_TTL_SECS")? {
            config.reset_ttl = ttl;
        }
        if let Some(ttl) = secs("MYAUTH_VERIFY_TTL_SECS")? {
            config.verify_ttl = ttl;
        }
        if let Some(leeway) = secs("MYAUTH_JWT_LEEWAY_SECS")? {
            config.jwt_leeway = leeway;
        }
        if let Some(raw) = lookup("MYAUTH_REQUIRE_VERIFIED_EMAIL") {
            config.require_verified_email =
                parse_bool(&raw).ok_or_else(|| ConfigError::InvalidVar {
                    name: "MYAUTH_REQUIRE_VERIFIED_EMAIL",
                    reason: "expected true or false".to_owned(),
                })?;
        }
        if let Some(url) = lookup("MYAUTH_PUBLIC_URL") {
            config.public_url = url;
        }
        if let Some(issuer) = lookup("MYAUTH_JWT_ISSUER") {
            config.issuer = issuer;
        }
        if let Some(audience) = lookup("MYAUTH_JWT_AUDIENCE") {
            config.audience = audience;
        }
        if let Some(n) = count("MYAUTH_HASH_CONCURRENCY")? {
            config.hashing.max_concurrent = n;
        }
        if let Some(n) = count("MYAUTH_HASH_QUEUE")? {
            config.hashing.max_waiting = n;
        }
        if let Some(poll) = secs("MYAUTH_REVOCATION_POLL_SECS")? {
            config.revocation_poll = poll;
        }
        if let Some(grace) = secs("MYAUTH_REFRESH_REUSE_GRACE_SECS")? {
            config.refresh_reuse_grace = grace;
        }
        if let Some(n) = count("MYAUTH_LOGIN_FREE_FAILURES")? {
            config.login_throttle.free_failures = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(cooldown) = secs("MYAUTH_EMAIL_COOLDOWN_SECS")? {
            config.email_cooldown = cooldown;
        }
        if let Some(raw) = lookup("MYAUTH_IP_RATE_LIMITS") {
            let on = parse_bool(&raw).ok_or_else(|| ConfigError::InvalidVar {
                name: "MYAUTH_IP_RATE_LIMITS",
                reason: "expected on or off".to_owned(),
            })?;
            config.ip_limits = on.then(IpLimits::default);
        }
        if let Some(raw) = lookup("MYAUTH_TRUSTED_PROXIES") {
            config.trusted_proxies =
                crate::client::parse_proxies(&raw).map_err(|reason| ConfigError::InvalidVar {
                    name: "MYAUTH_TRUSTED_PROXIES",
                    reason,
                })?;
        }
        if let Some(raw) = lookup("MYAUTH_LIMITS_FAIL_OPEN") {
            config.limits_fail_open = parse_bool(&raw).ok_or_else(|| ConfigError::InvalidVar {
                name: "MYAUTH_LIMITS_FAIL_OPEN",
                reason: "expected true or false".to_owned(),
            })?;
        }
        if let Some(raw) = lookup(INLINE_HASHING_VAR) {
            let inline = parse_bool(&raw).ok_or_else(|| ConfigError::InvalidVar {
                name: INLINE_HASHING_VAR,
                reason: "expected true or false".to_owned(),
            })?;
            #[cfg(feature = "bench-internals")]
            {
                config.inline_hashing = inline;
            }
            // A benchmark that asks for inline hashing from a build that cannot do it would
            // silently measure the default and label it as the other case.
            #[cfg(not(feature = "bench-internals"))]
            if inline {
                return Err(ConfigError::InvalidVar {
                    name: INLINE_HASHING_VAR,
                    reason: "this build has no benchmark switches (cargo feature \
                             `bench-internals`)"
                        .to_owned(),
                });
            }
        }
        if let Some(raw) = lookup("MYAUTH_DATA_KEYS") {
            config.data_keys = parse_data_keys(&raw).map_err(|reason| ConfigError::InvalidVar {
                name: "MYAUTH_DATA_KEYS",
                reason,
            })?;
        }
        if let Some(issuer) = lookup("MYAUTH_TOTP_ISSUER") {
            config.totp_issuer = issuer.trim().to_owned();
        }
        config.browser = crate::browser::BrowserConfig::from_lookup(&lookup)?;
        read_jwt_keys(&mut config, &lookup)?;
        config.audit = config.audit.from_lookup(&lookup)?;
        if let Some(raw) = lookup("MYAUTH_NEW_SIGN_IN_EMAIL") {
            config.new_sign_in_email =
                crate::audit_config::bool_var("MYAUTH_NEW_SIGN_IN_EMAIL", &raw)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value: secret length, positive lifetimes, a usable public URL, sane
    /// hashing parameters.
    ///
    /// # Errors
    ///
    /// The first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let min = self.jwt_algorithm.min_secret_len();
        let actual = self.jwt_secret.expose_secret().len();
        if actual < min {
            return Err(ConfigError::JwtSecretTooShort { min, actual });
        }
        if let Some(reason) = crate::secret::weakness(self.jwt_secret.expose_secret()) {
            return Err(ConfigError::WeakJwtSecret { reason });
        }
        for (name, ttl) in [
            ("access_ttl", self.access_ttl),
            ("refresh_ttl", self.refresh_ttl),
            ("refresh_absolute_ttl", self.refresh_absolute_ttl),
            ("reset_ttl", self.reset_ttl),
            ("verify_ttl", self.verify_ttl),
        ] {
            if ttl <= Duration::ZERO {
                return Err(ConfigError::Invalid(format!("{name} must be positive")));
            }
        }
        if self.jwt_leeway < Duration::ZERO || self.jwt_leeway > Duration::minutes(5) {
            return Err(ConfigError::Invalid(
                "jwt_leeway must be between 0 and 300 seconds".to_owned(),
            ));
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(
                "public_url must start with http:// or https://".to_owned(),
            ));
        }
        if self.totp_issuer.is_empty() || self.totp_issuer.contains(':') {
            return Err(ConfigError::Invalid(
                "the TOTP issuer must be a non-empty name without ':' (MYAUTH_TOTP_ISSUER)"
                    .to_owned(),
            ));
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(ConfigError::Invalid(
                "issuer and audience must not be empty".to_owned(),
            ));
        }
        if self.hashing.max_concurrent == 0 {
            return Err(ConfigError::Invalid(
                "hashing.max_concurrent must be at least 1".to_owned(),
            ));
        }
        if self.password_policy.min_chars() > self.password_policy.max_chars() {
            return Err(ConfigError::Invalid(
                "password policy minimum exceeds its maximum".to_owned(),
            ));
        }
        if self.revocation_poll < Duration::milliseconds(100) {
            return Err(ConfigError::Invalid(
                "revocation_poll must be at least 100 ms".to_owned(),
            ));
        }
        if self.refresh_reuse_grace < Duration::ZERO
            || self.refresh_reuse_grace > Duration::minutes(5)
        {
            return Err(ConfigError::Invalid(
                "refresh_reuse_grace must be between 0 and 300 seconds".to_owned(),
            ));
        }
        if self.login_throttle.max_delay < self.login_throttle.base_delay
            || self.login_throttle.base_delay > Duration::hours(1)
        {
            return Err(ConfigError::Invalid(
                "login throttle: base delay at most 1 hour and not above the maximum".to_owned(),
            ));
        }
        if !crate::password::within_budget(
            self.hashing.memory_kib,
            self.hashing.iterations,
            self.hashing.parallelism,
        ) {
            return Err(ConfigError::Invalid(
                "argon2 parameters exceed the verification budget (512 MiB·passes, 256 MiB, 16 lanes)"
                    .to_owned(),
            ));
        }
        argon2::Params::new(
            self.hashing.memory_kib,
            self.hashing.iterations,
            self.hashing.parallelism,
            None,
        )
        .map_err(|e| ConfigError::Invalid(format!("argon2 parameters: {e}")))?;
        self.validate_jwt_keys()?;
        Ok(())
    }

    /// Replaces the JWT secret.
    #[must_use]
    pub fn with_jwt_secret(mut self, secret: impl Into<String>) -> Self {
        self.jwt_secret = SecretString::from(secret.into());
        self
    }

    /// The signing algorithm. Default HS256 (docs/http-contract.md, Tokens).
    #[must_use]
    pub fn with_jwt_algorithm(mut self, algorithm: JwtAlgorithm) -> Self {
        self.jwt_algorithm = algorithm;
        self
    }

    /// The `iss` of every JWT. Default `myauth`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// The `aud` of access tokens; verification tokens get `{audience}:verify-email`.
    /// Default `myauth`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Access-token lifetime. Default 30 minutes (the Python MyAuth module's default).
    #[must_use]
    pub fn with_access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// Refresh-token lifetime. Default 7 days (the Python MyAuth module's default).
    #[must_use]
    pub fn with_refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// Absolute lifetime of a rotation family from its login. Default 30 days
    /// (NIST SP 800-63B AAL1 reauthentication bound; ASVS 5.0 10.4.8).
    #[must_use]
    pub fn with_refresh_absolute_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_absolute_ttl = ttl;
        self
    }

    /// Password-reset token lifetime. Default 15 minutes (the Python MyAuth module's default).
    #[must_use]
    pub fn with_reset_ttl(mut self, ttl: Duration) -> Self {
        self.reset_ttl = ttl;
        self
    }

    /// Email-verification token lifetime. Default 24 hours.
    #[must_use]
    pub fn with_verify_ttl(mut self, ttl: Duration) -> Self {
        self.verify_ttl = ttl;
        self
    }

    /// Clock leeway when validating JWTs. Default 5 s; 0 allowed (docs/security.md, decision 9).
    #[must_use]
    pub fn with_jwt_leeway(mut self, leeway: Duration) -> Self {
        self.jwt_leeway = leeway;
        self
    }

    /// Whether login needs a verified email. Default true.
    #[must_use]
    pub fn with_require_verified_email(mut self, required: bool) -> Self {
        self.require_verified_email = required;
        self
    }

    /// Base URL of the front end, used in email links; never taken from a request's Host
    /// header (OWASP Forgot Password Cheat Sheet). Default `http://localhost:3000`.
    #[must_use]
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = url.into();
        self
    }

    /// The password policy. Default: [`PasswordPolicy::default`], the Python module's rules.
    #[must_use]
    pub fn with_password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.password_policy = policy;
        self
    }

    /// argon2id parameters and hashing limits. Default: [`HashingConfig::default`].
    #[must_use]
    pub fn with_hashing(mut self, hashing: HashingConfig) -> Self {
        self.hashing = hashing;
        self
    }

    /// Hash passwords on the runtime's worker threads instead of the blocking pool. Default
    /// false. For benchmarks only (`MYAUTH_HASH_INLINE_FOR_BENCHMARKS`, cargo feature
    /// `bench-internals`): it demonstrates why hashing is moved off the runtime — a login
    /// storm then stalls every request. Never in an application.
    #[cfg(feature = "bench-internals")]
    #[must_use]
    pub fn with_inline_hashing_for_benchmarks(mut self, inline: bool) -> Self {
        self.inline_hashing = inline;
        self
    }

    /// Whether hashing runs on the runtime's threads (benchmarks only; cargo feature
    /// `bench-internals`).
    #[cfg(feature = "bench-internals")]
    pub fn inline_hashing(&self) -> bool {
        self.inline_hashing
    }

    /// The role that opens the admin routes. Default `admin`.
    #[must_use]
    pub fn with_admin_role(mut self, role: impl Into<String>) -> Self {
        self.admin_role = role.into();
        self
    }

    /// How often every instance asks the store for cuts made by other instances, so the
    /// stateless extractors refuse a cut access token within this bound. Default 5 s
    /// (`MYAUTH_REVOCATION_POLL_SECS`).
    #[must_use]
    pub fn with_revocation_poll(mut self, poll: Duration) -> Self {
        self.revocation_poll = poll;
        self
    }

    /// How long the stateless extractors keep trusting the revocation view while polls
    /// fail; after that they answer 503 (fail closed). `None`: trust it forever (fail
    /// open). Default 60 s.
    #[must_use]
    pub fn with_revocation_max_staleness(mut self, bound: Option<Duration>) -> Self {
        self.revocation_max_staleness = bound;
        self
    }

    /// Within this long after a rotation, presenting the rotated refresh token again
    /// answers with the same successor instead of revoking the session (parallel tabs,
    /// retried requests). Default 0: strict, as RFC 9700 §4.14.2 recommends
    /// (`MYAUTH_REFRESH_REUSE_GRACE_SECS`, at most 300).
    #[must_use]
    pub fn with_refresh_reuse_grace(mut self, grace: Duration) -> Self {
        self.refresh_reuse_grace = grace;
        self
    }

    /// The per-account login throttle. Default: 10 free failures, then 1 s doubling up to
    /// 15 min (NIST SP 800-63B §5.2.2 allows at most 100 consecutive failures;
    /// `MYAUTH_LOGIN_FREE_FAILURES`).
    #[must_use]
    pub fn with_login_throttle(mut self, throttle: Throttle) -> Self {
        self.login_throttle = throttle;
        self
    }

    /// At most one reset and one verification email per account per this long; 0 turns it
    /// off. Default 60 s (`MYAUTH_EMAIL_COOLDOWN_SECS`).
    #[must_use]
    pub fn with_email_cooldown(mut self, cooldown: Duration) -> Self {
        self.email_cooldown = cooldown;
        self
    }

    /// Per-client-address limits; `None` turns them off (behind a gateway that limits, and
    /// for tests). Default: [`IpLimits::default`] (`MYAUTH_IP_RATE_LIMITS=off`).
    #[must_use]
    pub fn with_ip_limits(mut self, limits: Option<IpLimits>) -> Self {
        self.ip_limits = limits;
        self
    }

    /// Proxies whose `X-Forwarded-For` is believed. Default none: the peer address is the
    /// client (`MYAUTH_TRUSTED_PROXIES`, comma-separated CIDRs).
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: Vec<IpNet>) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// When the counter store (or Redis) fails: `false` (default) refuses with 503, so a
    /// counter outage never turns the limits off; `true` lets requests through and logs
    /// it (`MYAUTH_LIMITS_FAIL_OPEN`).
    #[must_use]
    pub fn with_limits_fail_open(mut self, open: bool) -> Self {
        self.limits_fail_open = open;
        self
    }

    /// The keys that encrypt secrets at rest (TOTP secrets), `MYAUTH_DATA_KEYS`: the first
    /// encrypts, every one decrypts, so keys rotate by putting a new one first and keeping
    /// the old ones until every secret was read once (each read re-encrypts under the first
    /// key). Default: none — one key is derived from the JWT secret (with a warning at
    /// start-up), and rotating that secret then loses every TOTP enrolment.
    #[must_use]
    pub fn with_data_keys(mut self, keys: Vec<[u8; 32]>) -> Self {
        self.data_keys = keys;
        self
    }

    /// The issuer name authenticator apps show beside a TOTP enrolment
    /// (`MYAUTH_TOTP_ISSUER`, default `MyAuth`).
    #[must_use]
    pub fn with_totp_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.totp_issuer = issuer.into();
        self
    }

    /// The configured data keys; empty when they are derived from the JWT secret.
    pub fn data_keys(&self) -> &[[u8; 32]] {
        &self.data_keys
    }

    /// The TOTP issuer name.
    pub fn totp_issuer(&self) -> &str {
        &self.totp_issuer
    }

    /// The store circuit breaker: after `threshold` store failures in a row, requests
    /// that need the store are answered 503 at once (with `Retry-After`) instead of each
    /// waiting out the store's timeouts, until a background probe finds the store again.
    /// `None` turns it off. Default: 3 failures, a probe every second
    /// ([`BreakerSettings::default`]).
    #[must_use]
    pub fn with_store_breaker(mut self, breaker: Option<BreakerSettings>) -> Self {
        self.store_breaker = breaker;
        self
    }

    /// The store circuit breaker's settings, if it is on.
    pub fn store_breaker(&self) -> Option<BreakerSettings> {
        self.store_breaker
    }

    /// The revocation poll interval.
    pub fn revocation_poll(&self) -> Duration {
        self.revocation_poll
    }

    /// How long a revocation view may go without a successful poll.
    pub fn revocation_max_staleness(&self) -> Option<Duration> {
        self.revocation_max_staleness
    }

    /// The refresh-token reuse grace window.
    pub fn refresh_reuse_grace(&self) -> Duration {
        self.refresh_reuse_grace
    }

    /// The per-account login throttle.
    pub fn login_throttle(&self) -> Throttle {
        self.login_throttle
    }

    /// The per-account email cooldown.
    pub fn email_cooldown(&self) -> Duration {
        self.email_cooldown
    }

    /// The per-client-address limits, if on.
    pub fn ip_limits(&self) -> Option<&IpLimits> {
        self.ip_limits.as_ref()
    }

    /// The trusted proxies.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
    }

    /// Whether the limits let requests through when their store fails.
    pub fn limits_fail_open(&self) -> bool {
        self.limits_fail_open
    }

    /// The private key that signs access and verification tokens under an asymmetric
    /// algorithm; sets the algorithm to the key's (`EdDSA` for Ed25519, `ES256` for P-256,
    /// `RS256` for RSA). Default: none — tokens are signed by the JWT secret with HMAC. The
    /// JWT secret stays the server's own HMAC secret either way.
    #[must_use]
    pub fn with_jwt_signing_key(mut self, key: JwtKey) -> Self {
        if let Some(algorithm) = key.algorithm() {
            self.jwt_algorithm = algorithm;
        }
        self.jwt_signing_key = Some(key);
        self
    }

    /// Keys that still verify tokens but never sign: the previous signing keys, kept for one
    /// token lifetime after a rotation so nobody is logged out. A secret verifies under the
    /// configured HMAC algorithm only (and is refused on an asymmetric server); a PEM key
    /// under its type's algorithm. Default: none.
    #[must_use]
    pub fn with_jwt_previous_keys(mut self, keys: impl IntoIterator<Item = JwtKey>) -> Self {
        self.jwt_previous_keys = keys.into_iter().collect();
        self
    }

    /// The asymmetric signing key, if any.
    pub fn jwt_signing_key(&self) -> Option<&JwtKey> {
        self.jwt_signing_key.as_ref()
    }

    /// The verification-only previous keys.
    pub fn jwt_previous_keys(&self) -> &[JwtKey] {
        &self.jwt_previous_keys
    }

    /// The key rules of docs/http-contract.md "Signing keys": an HMAC algorithm signs with the secret and
    /// takes no signing key; an asymmetric one needs a private key of its type; a previous
    /// secret needs an HMAC algorithm and its length.
    pub(crate) fn validate_jwt_keys(&self) -> Result<(), ConfigError> {
        let algorithm = self.jwt_algorithm;
        match (&self.jwt_signing_key, algorithm.is_hmac()) {
            (Some(key), true) => {
                return Err(ConfigError::Invalid(format!(
                    "a JWT signing key ({}) is set but the algorithm is {}, which signs with \
                     the JWT secret",
                    key.describe(),
                    algorithm.name()
                )));
            }
            (None, false) => {
                return Err(ConfigError::Invalid(format!(
                    "{} signs with a private key: give one with with_jwt_signing_key",
                    algorithm.name()
                )));
            }
            (Some(key), false) => {
                key.check_signing(algorithm)
                    .map_err(|source| ConfigError::JwtKey {
                        origin: format!("the JWT signing key {}", key.kid()),
                        source,
                    })?;
            }
            (None, true) => {}
        }
        for (index, key) in self.jwt_previous_keys.iter().enumerate() {
            key.check_verifying(algorithm)
                .map_err(|source| ConfigError::JwtKey {
                    origin: format!("previous JWT key {} ({})", index + 1, key.kid()),
                    source,
                })?;
        }
        Ok(())
    }

    pub(crate) fn jwt_secret(&self) -> &SecretString {
        &self.jwt_secret
    }

    /// The signing algorithm.
    pub fn jwt_algorithm(&self) -> JwtAlgorithm {
        self.jwt_algorithm
    }

    /// The JWT issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The access-token audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Access-token lifetime.
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Refresh-token lifetime.
    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// Absolute lifetime of a rotation family.
    pub fn refresh_absolute_ttl(&self) -> Duration {
        self.refresh_absolute_ttl
    }

    /// Password-reset token lifetime.
    pub fn reset_ttl(&self) -> Duration {
        self.reset_ttl
    }

    /// Email-verification token lifetime.
    pub fn verify_ttl(&self) -> Duration {
        self.verify_ttl
    }

    /// JWT clock leeway.
    pub fn jwt_leeway(&self) -> Duration {
        self.jwt_leeway
    }

    /// Whether login needs a verified email.
    pub fn require_verified_email(&self) -> bool {
        self.require_verified_email
    }

    /// Base URL of email links.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The password policy.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.password_policy
    }

    /// Hashing parameters and limits.
    pub fn hashing(&self) -> &HashingConfig {
        &self.hashing
    }

    /// The admin role name.
    pub fn admin_role(&self) -> &str {
        &self.admin_role
    }
}

/// The benchmark switch of [`AuthConfig::with_inline_hashing_for_benchmarks`]; read by
/// `from_env` in every build, so that a build without the switch refuses it instead of
/// ignoring it.
const INLINE_HASHING_VAR: &str = "MYAUTH_HASH_INLINE_FOR_BENCHMARKS";

/// `MYAUTH_JWT_ALGORITHM`, `MYAUTH_JWT_PRIVATE_KEY_FILE` and `MYAUTH_JWT_PREVIOUS_KEYS`
/// (docs/http-contract.md, Signing keys). Every error names the variable and the file (never a secret).
fn read_jwt_keys(
    config: &mut AuthConfig,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    const ALGORITHM: &str = "MYAUTH_JWT_ALGORITHM";
    const KEY_FILE: &str = "MYAUTH_JWT_PRIVATE_KEY_FILE";
    const PREVIOUS: &str = "MYAUTH_JWT_PREVIOUS_KEYS";
    let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    if let Some(raw) = set(ALGORITHM) {
        config.jwt_algorithm =
            JwtAlgorithm::from_name(raw.trim()).ok_or_else(|| ConfigError::InvalidVar {
                name: ALGORITHM,
                reason: format!(
                    "expected HS256, HS384, HS512, EdDSA, ES256 or RS256, not {:?}",
                    raw.trim()
                ),
            })?;
    }
    let algorithm = config.jwt_algorithm;
    match set(KEY_FILE) {
        Some(path) => {
            let path = path.trim();
            let origin = || format!("{KEY_FILE} ({path})");
            let key = JwtKey::from_pem_file(path).map_err(|source| ConfigError::JwtKey {
                origin: origin(),
                source,
            })?;
            if algorithm.is_hmac() {
                let suggestion = key
                    .algorithm()
                    .map_or_else(String::new, |a| format!(": set {ALGORITHM}={}", a.name()));
                return Err(ConfigError::InvalidVar {
                    name: ALGORITHM,
                    reason: format!(
                        "{} signs with the JWT secret, but {} holds {}{suggestion}",
                        algorithm.name(),
                        origin(),
                        key.describe()
                    ),
                });
            }
            key.check_signing(algorithm)
                .map_err(|source| ConfigError::JwtKey {
                    origin: origin(),
                    source,
                })?;
            config.jwt_signing_key = Some(key);
        }
        None if !algorithm.is_hmac() => {
            return Err(ConfigError::InvalidVar {
                name: KEY_FILE,
                reason: format!(
                    "{ALGORITHM}={} signs with a private key: set {KEY_FILE} to a PKCS#8 PEM file",
                    algorithm.name()
                ),
            });
        }
        None => {}
    }
    if let Some(raw) = set(PREVIOUS) {
        let mut keys = Vec::new();
        for (index, entry) in raw.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (origin, key) = if is_pem_path(entry) {
                let origin = format!("{PREVIOUS} entry {} ({entry})", index + 1);
                let key = JwtKey::from_pem_file(entry);
                (origin, key)
            } else {
                let origin = format!("{PREVIOUS} entry {} (a secret)", index + 1);
                (origin, Ok(JwtKey::secret(entry)))
            };
            let key = key
                .and_then(|key| key.check_verifying(algorithm).map(|()| key))
                .map_err(|source| ConfigError::JwtKey { origin, source })?;
            keys.push(key);
        }
        config.jwt_previous_keys = keys;
    }
    Ok(())
}

/// Whether an entry of `MYAUTH_JWT_PREVIOUS_KEYS` names a PEM file rather than being a
/// secret: it ends in `.pem`, or it is the path of an existing file.
fn is_pem_path(entry: &str) -> bool {
    entry.to_ascii_lowercase().ends_with(".pem") || Path::new(entry).is_file()
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `MYAUTH_DATA_KEYS`: comma-separated base64 (standard or URL-safe, padded or not) keys of
/// exactly 32 bytes.
fn parse_data_keys(raw: &str) -> Result<Vec<[u8; 32]>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
    let mut keys = Vec::new();
    for (i, entry) in raw.split(',').map(str::trim).enumerate() {
        if entry.is_empty() {
            continue;
        }
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(entry).ok())
            .ok_or_else(|| format!("key {} is not base64", i + 1))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "key {} is {} bytes; each key must be 32 random bytes \
                 (openssl rand -base64 32)",
                i + 1,
                bytes.len()
            )
        })?;
        if keys.contains(&key) {
            return Err(format!("key {} is listed twice", i + 1));
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err("no key given".to_owned());
    }
    Ok(keys)
}

fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    // Without OS randomness nothing else in the service can work either; an all-zero
    // secret would be a silent disaster, so fall back to a secret that fails validation.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The audit log and the security notifications.
impl AuthConfig {
    /// How the audit log is kept. Default: [`AuditConfig::default`](crate::AuditConfig)
    /// (on, not strict, kept forever; `MYAUTH_AUDIT`, `MYAUTH_AUDIT_STRICT`,
    /// `MYAUTH_AUDIT_RETENTION_DAYS`).
    #[must_use]
    pub fn with_audit(mut self, audit: crate::audit_config::AuditConfig) -> Self {
        self.audit = audit;
        self
    }

    /// How the audit log is kept.
    pub fn audit(&self) -> &crate::audit_config::AuditConfig {
        &self.audit
    }

    /// Whether each login also emails the account a "new sign-in" notice (ASVS 5.0
    /// 6.3.7 leaves it optional; `MYAUTH_NEW_SIGN_IN_EMAIL`, default off). The "password
    /// changed" notice after a change or reset is always sent.
    #[must_use]
    pub fn with_new_sign_in_email(mut self, send: bool) -> Self {
        self.new_sign_in_email = send;
        self
    }

    /// Whether each login emails a "new sign-in" notice.
    pub fn new_sign_in_email(&self) -> bool {
        self.new_sign_in_email
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const SECRET: &str = "VZw4kZyeuxBawMEGalKaU-5EjSXfWjksuqcoPFBhj2f";

    #[test]
    fn the_default_pool_is_four_connections_per_core_within_bounds() {
        let cores = u32::try_from(available_cores()).unwrap();
        let size = default_pool_size();
        assert_eq!(size, (cores * 4).clamp(4, 64));
        assert!((4..=64).contains(&size));
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = AuthConfig::new(SECRET);
        assert_eq!(config.access_ttl(), Duration::seconds(1800));
        assert_eq!(config.refresh_ttl(), Duration::seconds(604_800));
        assert_eq!(config.reset_ttl(), Duration::seconds(900));
        assert_eq!(config.verify_ttl(), Duration::seconds(86_400));
        assert_eq!(config.refresh_absolute_ttl(), Duration::seconds(2_592_000));
        assert_eq!(config.jwt_leeway(), Duration::seconds(5));
        assert!(config.require_verified_email());
        assert_eq!(config.public_url(), "http://localhost:3000");
        assert_eq!(config.hashing().memory_kib, 19_456);
        assert_eq!(config.hashing().iterations, 2);
        assert_eq!(config.hashing().parallelism, 1);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn a_secret_under_32_bytes_is_a_config_error() {
        let short = "x".repeat(31);
        assert!(matches!(
            AuthConfig::new(short).validate(),
            Err(ConfigError::JwtSecretTooShort {
                min: 32,
                actual: 31
            })
        ));
        assert!(matches!(
            AuthConfig::new(SECRET)
                .with_jwt_algorithm(JwtAlgorithm::Hs512)
                .validate(),
            Err(ConfigError::JwtSecretTooShort { min: 64, .. })
        ));
        assert!(matches!(
            AuthConfig::from_lookup(lookup(&[("MYAUTH_JWT_SECRET", "short")])),
            Err(ConfigError::JwtSecretTooShort { .. })
        ));
    }

    #[test]
    fn default_secret_is_random_and_long_enough() {
        let a = AuthConfig::default();
        let b = AuthConfig::default();
        assert!(a.validate().is_ok());
        assert_ne!(
            a.jwt_secret().expose_secret(),
            b.jwt_secret().expose_secret()
        );
    }

    #[test]
    fn environment_names_of_the_contract_are_read() {
        let config = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_ACCESS_TTL_SECS", "60"),
            ("MYAUTH_REFRESH_TTL_SECS", "120"),
            ("MYAUTH_RESET_TTL_SECS", "30"),
            ("MYAUTH_VERIFY_TTL_SECS", "40"),
            ("MYAUTH_REFRESH_ABSOLUTE_TTL_SECS", "600"),
            ("MYAUTH_JWT_LEEWAY_SECS", "0"),
            ("MYAUTH_REQUIRE_VERIFIED_EMAIL", "false"),
            ("MYAUTH_PUBLIC_URL", "https://app.example.com"),
            ("MYAUTH_HASH_CONCURRENCY", "3"),
            ("MYAUTH_HASH_QUEUE", "7"),
        ]))
        .unwrap();
        assert_eq!(config.jwt_secret().expose_secret(), SECRET);
        assert_eq!(config.access_ttl(), Duration::seconds(60));
        assert_eq!(config.refresh_ttl(), Duration::seconds(120));
        assert_eq!(config.reset_ttl(), Duration::seconds(30));
        assert_eq!(config.verify_ttl(), Duration::seconds(40));
        assert_eq!(config.refresh_absolute_ttl(), Duration::seconds(600));
        assert_eq!(config.jwt_leeway(), Duration::ZERO);
        assert!(!config.require_verified_email());
        assert_eq!(config.public_url(), "https://app.example.com");
        assert_eq!(config.hashing().max_concurrent, 3);
        assert_eq!(config.hashing().max_waiting, 7);
    }

    #[cfg(feature = "bench-internals")]
    #[test]
    fn the_inline_hashing_switch_is_read_and_off_by_default() {
        let config = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_HASH_INLINE_FOR_BENCHMARKS", "true"),
        ]))
        .unwrap();
        assert!(config.inline_hashing());
        assert!(!AuthConfig::new(SECRET).inline_hashing(), "off by default");
    }

    #[cfg(not(feature = "bench-internals"))]
    #[test]
    fn the_inline_hashing_switch_is_refused_by_a_build_without_it() {
        let error = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_HASH_INLINE_FOR_BENCHMARKS", "true"),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("bench-internals"), "{error}");
        // Asking for the default is harmless.
        assert!(
            AuthConfig::from_lookup(lookup(&[
                ("MYAUTH_JWT_SECRET", SECRET),
                ("MYAUTH_HASH_INLINE_FOR_BENCHMARKS", "false"),
            ]))
            .is_ok()
        );
    }

    #[test]
    fn unparsable_variables_name_themselves() {
        let error = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_ACCESS_TTL_SECS", "soon"),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("MYAUTH_ACCESS_TTL_SECS"),
            "{error}"
        );
        let error = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_REQUIRE_VERIFIED_EMAIL", "maybe"),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("MYAUTH_REQUIRE_VERIFIED_EMAIL"));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let debug = format!("{:?}", AuthConfig::new(SECRET));
        assert!(!debug.contains(SECRET), "{debug}");
    }

    fn test_key(name: &str) -> String {
        format!("{}/testdata/keys/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn data_keys_are_32_byte_base64_keys_in_order() {
        let a = STANDARD_FOR_TESTS.encode([1u8; 32]);
        let b = URL_SAFE_NO_PAD.encode([2u8; 32]);
        let config = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_DATA_KEYS", &format!(" {a} , {b} ")),
            ("MYAUTH_TOTP_ISSUER", "Example App"),
        ]))
        .unwrap();
        assert_eq!(config.data_keys(), &[[1u8; 32], [2u8; 32]]);
        assert_eq!(config.totp_issuer(), "Example App");
        assert!(!format!("{config:?}").contains(&a), "keys never in Debug");
        let short = STANDARD_FOR_TESTS.encode([1u8; 16]);
        for bad in ["not base64!", &short, &format!("{a},{a}"), ","] {
            let error = AuthConfig::from_lookup(lookup(&[
                ("MYAUTH_JWT_SECRET", SECRET),
                ("MYAUTH_DATA_KEYS", bad),
            ]))
            .unwrap_err();
            assert!(error.to_string().contains("MYAUTH_DATA_KEYS"), "{error}");
            assert!(!error.to_string().contains(&a), "{error}");
        }
        let error = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_TOTP_ISSUER", "a:b"),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("MYAUTH_TOTP_ISSUER"), "{error}");
    }

    const STANDARD_FOR_TESTS: base64::engine::GeneralPurpose =
        base64::engine::general_purpose::STANDARD;

    #[test]
    fn the_jwt_algorithm_is_read_and_unknown_names_are_refused() {
        for (raw, algorithm) in [
            ("HS384", JwtAlgorithm::Hs384),
            (" hs512 ", JwtAlgorithm::Hs512),
        ] {
            let secret = format!("{}{}", random_secret(), random_secret());
            let config = AuthConfig::from_lookup(lookup(&[
                ("MYAUTH_JWT_SECRET", &secret),
                ("MYAUTH_JWT_ALGORITHM", raw),
            ]))
            .unwrap();
            assert_eq!(config.jwt_algorithm(), algorithm);
        }
        for raw in ["none", "HS257", "ES384"] {
            let error = AuthConfig::from_lookup(lookup(&[
                ("MYAUTH_JWT_SECRET", SECRET),
                ("MYAUTH_JWT_ALGORITHM", raw),
            ]))
            .unwrap_err();
            assert!(
                error.to_string().contains("MYAUTH_JWT_ALGORITHM"),
                "{error}"
            );
        }
        for algorithm in JwtAlgorithm::ALL {
            assert_eq!(JwtAlgorithm::from_name(algorithm.name()), Some(algorithm));
        }
    }

    #[test]
    fn an_asymmetric_algorithm_needs_a_key_file_and_a_key_file_its_algorithm() {
        let error = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_JWT_ALGORITHM", "EdDSA"),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("MYAUTH_JWT_PRIVATE_KEY_FILE"),
            "{error}"
        );
        assert!(
            AuthConfig::new(SECRET)
                .with_jwt_algorithm(JwtAlgorithm::EdDsa)
                .validate()
                .is_err()
        );
        let previous = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            (
                "MYAUTH_JWT_PREVIOUS_KEYS",
                "an old secret of at least 32 bytes!!, ,",
            ),
        ]))
        .unwrap();
        assert_eq!(previous.jwt_previous_keys().len(), 1);
        assert!(previous.jwt_previous_keys()[0].is_secret());
        // A short previous secret is refused without being quoted.
        let error = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_JWT_PREVIOUS_KEYS", "a-short-old-secret"),
        ]))
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("MYAUTH_JWT_PREVIOUS_KEYS entry 1 (a secret)"),
            "{message}"
        );
        assert!(!message.contains("a-short-old-secret"), "{message}");
    }

    #[cfg(not(feature = "asymmetric"))]
    #[test]
    fn without_the_asymmetric_feature_a_key_file_is_a_clear_error() {
        let error = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_JWT_ALGORITHM", "EdDSA"),
            ("MYAUTH_JWT_PRIVATE_KEY_FILE", &test_key("ed25519.pem")),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::JwtKey {
                    source: crate::jwt::KeyError::AsymmetricDisabled,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[cfg(feature = "asymmetric")]
    #[test]
    fn key_files_are_read_and_bad_ones_are_one_line_naming_the_variable_and_the_file() {
        let ed25519 = test_key("ed25519.pem");
        let config = AuthConfig::from_lookup(lookup(&[
            ("MYAUTH_JWT_SECRET", SECRET),
            ("MYAUTH_JWT_ALGORITHM", "EdDSA"),
            ("MYAUTH_JWT_PRIVATE_KEY_FILE", &ed25519),
            (
                "MYAUTH_JWT_PREVIOUS_KEYS",
                &format!("{}, {}", test_key("p256.pub.pem"), test_key("rsa2048.pem")),
            ),
        ]))
        .unwrap();
        assert_eq!(config.jwt_algorithm(), JwtAlgorithm::EdDsa);
        assert!(config.jwt_signing_key().is_some_and(JwtKey::is_private));
        assert_eq!(config.jwt_previous_keys().len(), 2);
        // The secret stays the server's own, next to the key.
        assert_eq!(config.jwt_secret().expose_secret(), SECRET);
        assert!(!format!("{config:?}").contains(SECRET));

        let previous_secret = "an old secret of at least 32 bytes!!";
        let var = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        let key_file = |algorithm: &str, file: &str| {
            vec![
                var("MYAUTH_JWT_ALGORITHM", algorithm),
                var("MYAUTH_JWT_PRIVATE_KEY_FILE", &test_key(file)),
            ]
        };
        // (variables, what the message names, the file it names)
        let mut cases = vec![
            (
                key_file("ES256", "missing.pem"),
                "MYAUTH_JWT_PRIVATE_KEY_FILE",
                "missing.pem",
            ),
            (
                key_file("ES256", "ed25519.pem"),
                "MYAUTH_JWT_PRIVATE_KEY_FILE",
                "ed25519.pem",
            ),
            (
                key_file("EdDSA", "ed25519.pub.pem"),
                "MYAUTH_JWT_PRIVATE_KEY_FILE",
                "ed25519.pub.pem",
            ),
            (
                vec![var("MYAUTH_JWT_PRIVATE_KEY_FILE", &ed25519)],
                "MYAUTH_JWT_ALGORITHM=EdDSA",
                "ed25519.pem",
            ),
            (
                [
                    key_file("EdDSA", "ed25519.pem"),
                    vec![var("MYAUTH_JWT_PREVIOUS_KEYS", previous_secret)],
                ]
                .concat(),
                "MYAUTH_JWT_PREVIOUS_KEYS entry 1 (a secret)",
                "HMAC",
            ),
        ];
        for (file, algorithm) in [
            ("ed25519-encrypted.pem", "EdDSA"),
            ("rsa2048-pkcs1.pem", "RS256"),
            ("p384.pem", "ES256"),
            ("ed448.pem", "EdDSA"),
            ("rsa1024.pem", "RS256"),
        ] {
            cases.push((
                key_file(algorithm, file),
                "MYAUTH_JWT_PRIVATE_KEY_FILE",
                file,
            ));
            let previous = format!("{previous_secret},{}", test_key(file));
            cases.push((
                vec![var("MYAUTH_JWT_PREVIOUS_KEYS", &previous)],
                "MYAUTH_JWT_PREVIOUS_KEYS entry 2",
                file,
            ));
        }
        for (vars, named, file) in cases {
            let mut all = vec![var("MYAUTH_JWT_SECRET", SECRET)];
            all.extend(vars.iter().cloned());
            let all: Vec<(&str, &str)> =
                all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let message = AuthConfig::from_lookup(lookup(&all))
                .unwrap_err()
                .to_string();
            assert!(
                message.contains(named) && message.contains(file),
                "{vars:?}: {message}"
            );
            assert!(!message.contains('\n'), "{message}");
            assert!(
                !message.contains(SECRET) && !message.contains(previous_secret),
                "{message}"
            );
        }
    }

    #[test]
    fn nonsense_values_are_refused() {
        assert!(
            AuthConfig::new(SECRET)
                .with_access_ttl(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(
            AuthConfig::new(SECRET)
                .with_public_url("localhost")
                .validate()
                .is_err()
        );
        let hashing = HashingConfig {
            max_concurrent: 0,
            ..HashingConfig::default()
        };
        assert!(
            AuthConfig::new(SECRET)
                .with_hashing(hashing)
                .validate()
                .is_err()
        );
    }
}
