//! Multi-factor sign-in: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of
//! skew either way) with single-use recovery codes.
//!
//! - The secret is 160 random bits (RFC 4226 §4 recommends 160), shown once at set-up and
//!   stored only encrypted under the data keys (`crate::data_keys`), bound to its owner.
//! - A code is accepted once: its time step is recorded by one conditional write
//!   ([`MfaStore::use_totp_step`](crate::MfaStore::use_totp_step)), so a replay within the
//!   window — or a race of two requests with one code — has exactly one winner, across
//!   processes (RFC 6238 §5.2).
//! - Recovery codes: 10 of 80 random bits each, shown once, stored as SHA-256 of the code
//!   with the user's id. A fast hash suffices at that entropy (2^80 guesses per code is out
//!   of reach, unlike a password's), and no secret key is involved, so rotating the JWT
//!   secret or the data keys never invalidates them.
//! - A login with the right password answers [`AuthError::MfaRequired`] with a short-lived
//!   MFA token (a JWT of its own `typ` and audience, accepted nowhere else, void after a
//!   password change, spent once); wrong codes count toward the account's login throttle,
//!   which only a completed second step clears.

use secrecy::SecretString;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::AuthService;
use super::admin::AdminAccess;
use super::login::login_key;
use crate::counter::{CounterKey, RateDecision, RateLimit};
use crate::error::{AuthError, FieldError, MfaChallenge};
use crate::events::{AuthEventKind, LoginFailure};
use crate::jwt::Claims;
use crate::mfa::{RecoveryCodeHash, TotpRecord};
use crate::service::TokenPair;
use crate::user::{User, UserId};

/// Digits of a TOTP code.
pub const TOTP_DIGITS: u8 = 6;
/// Seconds of one TOTP time step.
pub const TOTP_STEP_SECS: u64 = 30;
/// Steps accepted before and after the current one, for clock drift and typing time.
pub const TOTP_SKEW: u16 = 1;
/// Bytes of a TOTP secret (160 bits).
const SECRET_BYTES: usize = 20;
/// How long a set-up may wait for its confirming code.
pub const TOTP_SETUP_TTL: Duration = Duration::minutes(10);
/// How long an MFA token carries a login to its second step.
pub const MFA_TOKEN_TTL: Duration = Duration::minutes(5);
/// Recovery codes per user.
pub const RECOVERY_CODES: usize = 10;
/// Random bytes of a recovery code (80 bits: 16 base32 characters).
const RECOVERY_CODE_BYTES: usize = 10;
/// Longest code text looked at; anything longer is refused unread.
const MAX_CODE_LEN: usize = 64;
/// The base32 alphabet (RFC 4648 §6) in the lower case recovery codes are written in.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// What a TOTP set-up shows the user, once: the secret for manual entry, the `otpauth://`
/// URI authenticator apps read, and that URI as an SVG QR code.
#[derive(Clone, Serialize)]
pub struct TotpSetup {
    /// The secret in base32, without padding.
    pub secret: String,
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER`.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup([redacted])")
    }
}

/// Freshly made recovery codes, shown once.
#[derive(Clone, Serialize)]
pub struct RecoveryCodes {
    /// The codes, `xxxx-xxxx-xxxx-xxxx`; each works once.
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} [redacted])", self.recovery_codes.len())
    }
}

/// A code as typed: a TOTP code or a recovery code.
enum Code {
    Totp(String),
    Recovery(String),
}

fn invalid_code(message: &str) -> AuthError {
    AuthError::Validation(vec![FieldError::new("code", "invalid_format", message)])
}

/// Reads a code: six digits (spaces allowed, as apps group them), or a recovery code in
/// any case with or without its dashes.
fn parse_code(raw: &str) -> Result<Code, AuthError> {
    if raw.len() > MAX_CODE_LEN {
        return Err(invalid_code("too long for a code"));
    }
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.len() == usize::from(TOTP_DIGITS) && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Code::Totp(compact));
    }
    let lower = compact.to_ascii_lowercase();
    if lower.len() == 16 && lower.bytes().all(|b| BASE32.contains(&b)) {
        return Ok(Code::Recovery(lower));
    }
    Err(invalid_code(
        "must be a 6-digit authenticator code or a recovery code",
    ))
}

/// The stored form of a recovery code (normalised: lower case, no dashes).
fn recovery_hash(user_id: UserId, code: &str) -> RecoveryCodeHash {
    let digest = Sha256::new()
        .chain_update(b"myauth/v1/recovery-code\0")
        .chain_update(user_id.as_uuid().as_bytes())
        .chain_update(code.as_bytes())
        .finalize();
    RecoveryCodeHash(digest.into())
}

/// The `xxxx-xxxx-xxxx-xxxx` form of 10 random bytes.
fn format_recovery_code(bytes: &[u8; RECOVERY_CODE_BYTES]) -> String {
    let mut bits: u128 = 0;
    for byte in bytes {
        bits = (bits << 8) | u128::from(*byte);
    }
    let mut code = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let index = (bits >> (75 - 5 * i)) & 31;
        code.push(char::from(BASE32[index as usize]));
    }
    code
}

fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Unavailable(format!("no OS randomness: {e}").into()))?;
    Ok(bytes)
}

/// Unix seconds of a time, 0 before the epoch.
fn unix_secs(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp()).unwrap_or(0)
}

/// An authenticator app's label part: no `:` (it separates issuer and account).
fn label(text: &str) -> String {
    text.replace(':', "_")
}

impl AuthService {
    fn totp(&self, secret: Vec<u8>, account: &str) -> Result<Totp, AuthError> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(TOTP_DIGITS)
            .with_skew(TOTP_SKEW)
            .with_step_duration(TOTP_STEP_SECS)
            .with_secret(Secret::from(secret))
            .with_issuer(Some(label(self.inner.config.totp_issuer())))
            .with_account_name(label(account))
            .build()
            .map_err(|e| AuthError::Unavailable(format!("TOTP parameters refused: {e}").into()))
    }

    /// The decrypted secret of an enrolment.
    fn totp_secret(&self, record: &TotpRecord) -> Result<Vec<u8>, AuthError> {
        self.inner
            .data_keys
            .decrypt(&record.secret, record.user_id.as_uuid().as_bytes())
            .map(|(secret, _)| secret)
            .map_err(|error| {
                tracing::error!(user.id = %record.user_id, %error, "TOTP secret unreadable");
                AuthError::Unavailable(Box::new(error))
            })
    }

    /// The time step a TOTP code is valid for now, if any.
    fn totp_step(
        &self,
        record: &TotpRecord,
        user: &User,
        code: &str,
    ) -> Result<Option<i64>, AuthError> {
        let totp = self.totp(self.totp_secret(record)?, &user.email)?;
        Ok(totp
            .check(code, unix_secs(self.now()))
            .and_then(|step| i64::try_from(step).ok()))
    }

    /// Begins a TOTP set-up for the caller: a new secret, stored encrypted and pending
    /// until confirmed with a first code within [`TOTP_SETUP_TTL`]. A new set-up replaces
    /// a pending one.
    ///
    /// # Errors
    ///
    /// [`AuthError::MfaAlreadyEnabled`] when a confirmed enrolment exists, and the errors
    /// of [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %claims.sub))]
    pub async fn setup_totp(&self, claims: &Claims) -> Result<TotpSetup, AuthError> {
        let user = self.me(claims).await?;
        if user.mfa_enabled {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let secret = random::<SECRET_BYTES>()?;
        let sealed = self
            .inner
            .data_keys
            .encrypt(&secret, user.id.as_uuid().as_bytes())
            .ok_or_else(|| AuthError::Unavailable("no OS randomness for a nonce".into()))?;
        let now = self.now();
        let record = TotpRecord {
            user_id: user.id,
            secret: sealed,
            created_at: now,
            confirmed_at: None,
            pending_expires_at: now + TOTP_SETUP_TTL,
            last_used_step: None,
        };
        if !self.inner.store.put_pending_totp(&record).await? {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let totp = self.totp(secret.to_vec(), &user.email)?;
        let otpauth_uri = totp
            .to_url()
            .map_err(|e| AuthError::Unavailable(format!("otpauth URI: {e}").into()))?;
        let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
            .map_err(|e| AuthError::Unavailable(format!("QR code: {e}").into()))?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        tracing::info!("TOTP set-up started");
        Ok(TotpSetup {
            secret: totp.secret().to_base32(),
            otpauth_uri,
            qr_svg,
        })
    }

    /// Confirms the caller's pending set-up with a first code: TOTP is required at login
    /// from now on, 10 recovery codes are made (shown once), and every other session of
    /// the caller ends.
    ///
    /// # Errors
    ///
    /// [`AuthError::MfaSetupRequired`] without a pending set-up (or after it expired),
    /// [`AuthError::MfaAlreadyEnabled`], [`AuthError::InvalidMfaCode`], 422 for a code that
    /// is not six digits, and the errors of [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %claims.sub))]
    pub async fn confirm_totp(
        &self,
        claims: &Claims,
        code: &str,
    ) -> Result<RecoveryCodes, AuthError> {
        let Code::Totp(code) = parse_code(code)? else {
            return Err(invalid_code(
                "must be the 6-digit code of the authenticator app",
            ));
        };
        let user = self.me(claims).await?;
        let now = self.now();
        let record = match self.inner.store.find_totp(user.id).await? {
            Some(record) if record.is_confirmed() => return Err(AuthError::MfaAlreadyEnabled),
            Some(record) if record.pending_expires_at > now => record,
            _ => return Err(AuthError::MfaSetupRequired),
        };
        let Some(step) = self.totp_step(&record, &user, &code)? else {
            tracing::info!("TOTP confirmation refused: wrong code");
            return Err(AuthError::InvalidMfaCode);
        };
        if !self.inner.store.confirm_totp(user.id, step, now).await? {
            return Err(AuthError::MfaSetupRequired);
        }
        let codes = self.replace_recovery_codes(user.id).await?;
        let ended = self.end_other_sessions(user.id, claims.sid).await?;
        tracing::info!(other_sessions_ended = ended, "TOTP enabled");
        let mut event = self.user_event(AuthEventKind::MfaEnabled, user.id);
        event.session_id = claims.sid;
        self.emit(event).await?;
        Ok(codes)
    }

    /// Turns the caller's second factor off, with their password and a current code (TOTP
    /// or recovery); every other session of the caller ends.
    ///
    /// # Errors
    ///
    /// [`AuthError::MfaNotEnabled`], [`AuthError::InvalidCredentials`],
    /// [`AuthError::InvalidMfaCode`], [`AuthError::TooManyRequests`], and the errors of
    /// [`me`](Self::me).
    #[tracing::instrument(skip_all, fields(user.id = %claims.sub))]
    pub async fn disable_totp(
        &self,
        claims: &Claims,
        password: &SecretString,
        code: &str,
    ) -> Result<(), AuthError> {
        let user = self.me(claims).await?;
        self.check_password_and_code(&user, password, code).await?;
        self.inner.store.delete_totp(user.id).await?;
        let ended = self.end_other_sessions(user.id, claims.sid).await?;
        tracing::info!(other_sessions_ended = ended, "TOTP disabled");
        let mut event = self.user_event(AuthEventKind::MfaDisabled, user.id);
        event.session_id = claims.sid;
        self.emit(event).await
    }

    /// Replaces the caller's recovery codes (every old one stops working), with their
    /// password and a current code.
    ///
    /// # Errors
    ///
    /// As [`disable_totp`](Self::disable_totp).
    #[tracing::instrument(skip_all, fields(user.id = %claims.sub))]
    pub async fn regenerate_recovery_codes(
        &self,
        claims: &Claims,
        password: &SecretString,
        code: &str,
    ) -> Result<RecoveryCodes, AuthError> {
        let user = self.me(claims).await?;
        self.check_password_and_code(&user, password, code).await?;
        let codes = self.replace_recovery_codes(user.id).await?;
        tracing::info!("recovery codes replaced");
        Ok(codes)
    }

    /// Removes a user's second factor (they lost their device) and ends every session of
    /// theirs.
    ///
    /// # Errors
    ///
    /// [`AuthError::UserNotFound`], [`AuthError::Unavailable`].
    #[tracing::instrument(skip_all, fields(admin.id = %access.admin().id, user.id = %id))]
    pub async fn reset_mfa(&self, access: &AdminAccess, id: UserId) -> Result<(), AuthError> {
        let store = &self.inner.store;
        if store.find_user_by_id(id).await?.is_none() {
            return Err(AuthError::UserNotFound);
        }
        let removed = store.delete_totp(id).await?;
        let ended = self.end_other_sessions(id, None).await?;
        tracing::info!(
            removed,
            sessions_ended = ended,
            "second factor reset by an admin"
        );
        self.admin_event(access, AuthEventKind::MfaReset, id, None)
            .await
    }

    /// Finishes a login that answered [`AuthError::MfaRequired`]: the MFA token of that
    /// answer and a TOTP or recovery code. The account's throttle counts the attempt; a
    /// completed step clears it and starts the session.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] / [`AuthError::ExpiredToken`] for an MFA token that is
    /// forged, of another kind, spent, or void since (password change, MFA turned off);
    /// [`AuthError::InvalidMfaCode`]; 422 for a malformed code;
    /// [`AuthError::TooManyRequests`]; [`AuthError::AccountDisabled`].
    #[tracing::instrument(skip_all, fields(user.id))]
    pub async fn login_mfa(&self, mfa_token: &str, code: &str) -> Result<TokenPair, AuthError> {
        let now = self.now();
        let claims = self.inner.jwt.verify_mfa(mfa_token, now)?;
        let code = parse_code(code)?;
        tracing::Span::current().record("user.id", tracing::field::display(claims.sub));
        let user = self
            .inner
            .store
            .find_user_by_id(claims.sub)
            .await?
            .filter(|user| user.mfa_enabled && claims.ver >= user.session_epoch)
            .ok_or(AuthError::InvalidToken)?;
        if !user.is_active {
            return Err(AuthError::AccountDisabled);
        }
        let key = login_key(&user.email);
        self.begin_attempt(&key).await?;
        if let Err(error) = self.check_code(&user, code).await {
            tracing::info!(account = %key.short(), "login second step refused: wrong code");
            if matches!(error, AuthError::InvalidMfaCode) {
                self.login_failed(&user, LoginFailure::WrongMfaCode).await?;
            }
            return Err(error);
        }
        // Spent once: of two requests with one token, the second finds it used.
        let spent = CounterKey::new("mfa-token", &claims.jti.to_string());
        let lifetime = MFA_TOKEN_TTL + self.inner.config.jwt_leeway() + Duration::minutes(1);
        match self
            .inner
            .counters
            .take_rate_token(&spent, RateLimit::new(1, lifetime), now)
            .await
        {
            Ok(RateDecision::Allowed) => {}
            Ok(RateDecision::Limited { .. }) => return Err(AuthError::InvalidToken),
            Err(error) => return Err(error.into()),
        }
        self.clear_attempts(&key).await;
        let (pair, session) = self.start_session_with_id(&user, now).await?;
        tracing::info!("login succeeded with a second factor");
        self.logged_in(&user, session).await?;
        Ok(pair)
    }

    /// The MFA token of a login whose password was right, for an account with a second
    /// factor.
    pub(super) fn mfa_challenge(&self, user: &User) -> AuthError {
        match self.inner.jwt.issue_mfa(user, self.now(), MFA_TOKEN_TTL) {
            Ok(token) => {
                AuthError::MfaRequired(MfaChallenge::new(token, MFA_TOKEN_TTL.whole_seconds()))
            }
            Err(error) => error,
        }
    }

    /// Checks a second factor of a user with a confirmed enrolment, using it up.
    async fn check_code(&self, user: &User, code: Code) -> Result<(), AuthError> {
        let store = &self.inner.store;
        let used = match code {
            Code::Totp(code) => match store.find_totp(user.id).await? {
                Some(record) if record.is_confirmed() => {
                    match self.totp_step(&record, user, &code)? {
                        Some(step) => store.use_totp_step(user.id, step).await?,
                        None => false,
                    }
                }
                _ => false,
            },
            Code::Recovery(code) => {
                store
                    .use_recovery_code(user.id, &recovery_hash(user.id, &code), self.now())
                    .await?
            }
        };
        if used {
            Ok(())
        } else {
            Err(AuthError::InvalidMfaCode)
        }
    }

    /// The password and a current code of the signed-in user, under the account's throttle.
    async fn check_password_and_code(
        &self,
        user: &User,
        password: &SecretString,
        code: &str,
    ) -> Result<(), AuthError> {
        if !user.mfa_enabled {
            return Err(AuthError::MfaNotEnabled);
        }
        let code = parse_code(code)?;
        let key = login_key(&user.email);
        self.begin_attempt(&key).await?;
        let verification = self
            .inner
            .hasher
            .verify(password, Some(&user.password_hash))
            .await?;
        if !verification.matched {
            tracing::info!(account = %key.short(), "second-factor change refused: wrong password");
            return Err(AuthError::InvalidCredentials);
        }
        self.check_code(user, code).await?;
        self.clear_attempts(&key).await;
        Ok(())
    }

    /// Makes and stores a new set of recovery codes, replacing the old ones.
    async fn replace_recovery_codes(&self, user_id: UserId) -> Result<RecoveryCodes, AuthError> {
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        let mut hashes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let code = format_recovery_code(&random::<RECOVERY_CODE_BYTES>()?);
            hashes.push(recovery_hash(user_id, &code.replace('-', "")));
            codes.push(code);
        }
        self.inner
            .store
            .replace_recovery_codes(user_id, &hashes, self.now())
            .await?;
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }
}

/// A TOTP code for `secret` (base32, as shown at set-up) at `at`: what an authenticator app
/// shows. For tests and for clients written in Rust.
///
/// # Errors
///
/// A secret that is not base32 or is shorter than 128 bits.
pub fn totp_code(secret_base32: &str, at: OffsetDateTime) -> Result<String, String> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|e| e.to_string())?;
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS)
        .with_skew(TOTP_SKEW)
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(secret)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(totp.generate(unix_secs(at)).to_string())
}
