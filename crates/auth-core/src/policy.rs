//! The password policy: which new passwords are accepted.
//!
//! The default keeps the composition rules of the Python module this project re-imagines
//! (8–128 characters with an uppercase letter, a lowercase letter, a digit and a special
//! character) and adds what NIST SP 800-63B §3.1.1.2 and ASVS 5.0 6.2.4 / 6.2.11 ask for:
//! a password is refused when it is one of the ~100 000 most common passwords (compared
//! case-insensitively; the list of the `passwords` crate, from breach corpora), or when it
//! contains the account's username or the local part of its email (4 characters or more,
//! case-insensitively: NIST's "context-specific words"). A NIST-style policy — length
//! 15+, no composition rules, the same two lists — is one call away:
//! [`PasswordPolicy::nist`]. Every failed rule is reported at once, so a client can show
//! them all.

use std::collections::HashSet;
use std::fmt;

/// Hard upper bound on a password's UTF-8 size, whatever the policy says. Passwords are
/// refused above it before any hashing, which bounds the work one request can cause
/// (OWASP Authentication Cheat Sheet, "long password denial of service").
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Rules a new password must satisfy.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
    require_uppercase: bool,
    require_lowercase: bool,
    require_digit: bool,
    require_special: bool,
    refuse_common: bool,
    refuse_user_info: bool,
    blocklist: HashSet<String>,
}

impl fmt::Debug for PasswordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordPolicy")
            .field("min_chars", &self.min_chars)
            .field("max_chars", &self.max_chars)
            .field("require_uppercase", &self.require_uppercase)
            .field("require_lowercase", &self.require_lowercase)
            .field("require_digit", &self.require_digit)
            .field("require_special", &self.require_special)
            .field("refuse_common", &self.refuse_common)
            .field("refuse_user_info", &self.refuse_user_info)
            .field("blocklist_len", &self.blocklist.len())
            .finish()
    }
}

impl Default for PasswordPolicy {
    /// The seed's policy: 8–128 characters, upper, lower, digit and special required.
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_chars: 128,
            require_uppercase: true,
            require_lowercase: true,
            require_digit: true,
            require_special: true,
            refuse_common: true,
            refuse_user_info: true,
            blocklist: HashSet::new(),
        }
    }
}

/// The shortest username or email local part that a password may not contain: shorter
/// ones ("al", "bob") would refuse too many good passwords.
pub const MIN_CONTEXT_WORD_CHARS: usize = 4;

impl PasswordPolicy {
    /// A NIST SP 800-63B rev. 4 style policy: at least 15 characters, at most 128, no
    /// composition rules; common passwords and the account's own words refused. Add your
    /// own blocklist with [`with_blocklist`](Self::with_blocklist).
    pub fn nist() -> Self {
        Self {
            min_chars: 15,
            require_uppercase: false,
            require_lowercase: false,
            require_digit: false,
            require_special: false,
            ..Self::default()
        }
    }

    /// Minimum length in characters (Unicode scalar values). Default 8 (ASVS 5.0 6.2.1).
    #[must_use]
    pub fn with_min_chars(mut self, min: usize) -> Self {
        self.min_chars = min;
        self
    }

    /// Maximum length in characters. Default 128; it is also capped by
    /// [`MAX_PASSWORD_BYTES`] of UTF-8 (docs/security.md decision 5).
    #[must_use]
    pub fn with_max_chars(mut self, max: usize) -> Self {
        self.max_chars = max;
        self
    }

    /// Require an uppercase letter. Default true (the seed's policy).
    #[must_use]
    pub fn with_require_uppercase(mut self, on: bool) -> Self {
        self.require_uppercase = on;
        self
    }

    /// Require a lowercase letter. Default true (the seed's policy).
    #[must_use]
    pub fn with_require_lowercase(mut self, on: bool) -> Self {
        self.require_lowercase = on;
        self
    }

    /// Require a decimal digit. Default true (the seed's policy).
    #[must_use]
    pub fn with_require_digit(mut self, on: bool) -> Self {
        self.require_digit = on;
        self
    }

    /// Require a character that is neither a letter, a digit nor whitespace. Default true.
    #[must_use]
    pub fn with_require_special(mut self, on: bool) -> Self {
        self.require_special = on;
        self
    }

    /// Refuse the ~100 000 most common passwords (case-insensitively). Default true.
    #[must_use]
    pub fn with_refuse_common(mut self, on: bool) -> Self {
        self.refuse_common = on;
        self
    }

    /// Refuse passwords that contain the account's username or email local part (4+
    /// characters, case-insensitively). Default true.
    #[must_use]
    pub fn with_refuse_user_info(mut self, on: bool) -> Self {
        self.refuse_user_info = on;
        self
    }

    /// Also refuse these passwords (compared case-insensitively, whole password only, as
    /// NIST SP 800-63B asks) — for words of your own service. Default empty.
    #[must_use]
    pub fn with_blocklist<I, S>(mut self, passwords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.blocklist
            .extend(passwords.into_iter().map(|p| p.as_ref().to_lowercase()));
        self
    }

    /// The minimum length in characters.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// The maximum length in characters.
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Checks a candidate password exactly as received (no trimming, no normalisation —
    /// ASVS 5.0 6.2.8) and returns every rule it fails. Without an account at hand: the
    /// context rule is not applied; see [`check_for`](Self::check_for).
    ///
    /// # Errors
    ///
    /// The list of violations, in a stable order, when at least one rule fails.
    pub fn check(&self, password: &str) -> Result<(), Vec<PolicyViolation>> {
        self.check_for(password, None, None)
    }

    /// Like [`check`](Self::check), for the account with this username and email.
    ///
    /// # Errors
    ///
    /// The list of violations, in a stable order, when at least one rule fails.
    pub fn check_for(
        &self,
        password: &str,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Result<(), Vec<PolicyViolation>> {
        let mut violations = Vec::new();
        let chars = password.chars().count();
        if chars < self.min_chars {
            violations.push(PolicyViolation::TooShort {
                min: self.min_chars,
            });
        }
        if chars > self.max_chars || password.len() > MAX_PASSWORD_BYTES {
            violations.push(PolicyViolation::TooLong {
                max: self.max_chars,
            });
        }
        if self.require_uppercase && !password.chars().any(char::is_uppercase) {
            violations.push(PolicyViolation::MissingUppercase);
        }
        if self.require_lowercase && !password.chars().any(char::is_lowercase) {
            violations.push(PolicyViolation::MissingLowercase);
        }
        if self.require_digit && !password.chars().any(|c| c.is_ascii_digit()) {
            violations.push(PolicyViolation::MissingDigit);
        }
        if self.require_special
            && !password
                .chars()
                .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
        {
            violations.push(PolicyViolation::MissingSpecial);
        }
        let lower = password.to_lowercase();
        if self.refuse_common && is_common(password, &lower) {
            violations.push(PolicyViolation::CommonPassword);
        }
        if self.refuse_user_info {
            let local = email.and_then(|e| e.split('@').next());
            let words = [username, local];
            let contained = words.into_iter().flatten().any(|word| {
                let word = word.trim().to_lowercase();
                word.chars().count() >= MIN_CONTEXT_WORD_CHARS && lower.contains(&word)
            });
            if contained {
                violations.push(PolicyViolation::ContainsUserInfo);
            }
        }
        if !self.blocklist.is_empty() && self.blocklist.contains(&lower) {
            violations.push(PolicyViolation::Blocklisted);
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// Whether a password is on the common-password list, in any case. The list is mostly
/// lower case; both spellings are looked up.
fn is_common(password: &str, lower: &str) -> bool {
    passwords::analyzer::is_common_password(lower)
        || (lower != password && passwords::analyzer::is_common_password(password))
}

/// One failed password rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer characters than the minimum.
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More characters (or bytes) than the maximum.
    TooLong {
        /// The maximum in characters.
        max: usize,
    },
    /// No uppercase letter.
    MissingUppercase,
    /// No lowercase letter.
    MissingLowercase,
    /// No digit.
    MissingDigit,
    /// No special character.
    MissingSpecial,
    /// One of the most common passwords.
    CommonPassword,
    /// Contains the account's username or email local part.
    ContainsUserInfo,
    /// On the application's own blocklist.
    Blocklisted,
}

impl PolicyViolation {
    /// The machine-readable code, e.g. `missing_uppercase`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::MissingUppercase => "missing_uppercase",
            Self::MissingLowercase => "missing_lowercase",
            Self::MissingDigit => "missing_digit",
            Self::MissingSpecial => "missing_special",
            Self::CommonPassword => "common_password",
            Self::ContainsUserInfo => "contains_user_info",
            Self::Blocklisted => "blocklisted",
        }
    }

    /// Human-readable text.
    pub fn message(&self) -> String {
        match self {
            Self::TooShort { min } => format!("must be at least {min} characters long"),
            Self::TooLong { max } => format!("must be at most {max} characters long"),
            Self::MissingUppercase => "must contain an uppercase letter".to_owned(),
            Self::MissingLowercase => "must contain a lowercase letter".to_owned(),
            Self::MissingDigit => "must contain a digit".to_owned(),
            Self::MissingSpecial => "must contain a special character".to_owned(),
            Self::CommonPassword => {
                "is one of the most common passwords, choose another".to_owned()
            }
            Self::ContainsUserInfo => {
                "must not contain your username or the name part of your email".to_owned()
            }
            Self::Blocklisted => "is not allowed here, choose another".to_owned(),
        }
    }
}

impl PasswordPolicy {
    /// Every rule this policy enforces, each as the violation it reports (a blocklist
    /// counts as one rule): what a form lists before a password is typed.
    pub fn rules(&self) -> Vec<PolicyViolation> {
        let mut rules = vec![
            PolicyViolation::TooShort {
                min: self.min_chars,
            },
            PolicyViolation::TooLong {
                max: self.max_chars,
            },
        ];
        for (on, rule) in [
            (self.require_uppercase, PolicyViolation::MissingUppercase),
            (self.require_lowercase, PolicyViolation::MissingLowercase),
            (self.require_digit, PolicyViolation::MissingDigit),
            (self.require_special, PolicyViolation::MissingSpecial),
            (self.refuse_common, PolicyViolation::CommonPassword),
            (self.refuse_user_info, PolicyViolation::ContainsUserInfo),
            (!self.blocklist.is_empty(), PolicyViolation::Blocklisted),
        ] {
            if on {
                rules.push(rule);
            }
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_policy_accepts_a_password_with_every_class() {
        assert_eq!(PasswordPolicy::default().check("Str0ng!pass"), Ok(()));
    }

    #[test]
    fn every_failed_rule_is_reported_at_once() {
        let violations = PasswordPolicy::default()
            .check_for("abcalice", Some("alice"), None)
            .unwrap_err();
        assert_eq!(
            violations,
            vec![
                PolicyViolation::MissingUppercase,
                PolicyViolation::MissingDigit,
                PolicyViolation::MissingSpecial,
                PolicyViolation::ContainsUserInfo,
            ]
        );
        let violations = PasswordPolicy::default().check("abc").unwrap_err();
        assert_eq!(
            violations,
            vec![
                PolicyViolation::TooShort { min: 8 },
                PolicyViolation::MissingUppercase,
                PolicyViolation::MissingDigit,
                PolicyViolation::MissingSpecial,
                PolicyViolation::CommonPassword,
            ]
        );
    }

    #[test]
    fn length_is_bounded_in_characters_and_in_bytes() {
        let policy = PasswordPolicy::default();
        let at_max = format!("Aa1!{}", "x".repeat(124));
        assert_eq!(policy.check(&at_max), Ok(()));
        let over = format!("Aa1!{}", "x".repeat(125));
        assert_eq!(
            policy.check(&over),
            Err(vec![PolicyViolation::TooLong { max: 128 }])
        );
        // 304 characters, 1204 bytes: a generous character limit does not lift the byte cap.
        let wide = format!("Aa1!{}", "😀".repeat(300));
        let lenient = PasswordPolicy::default().with_max_chars(10_000);
        assert_eq!(
            lenient.check(&wide),
            Err(vec![PolicyViolation::TooLong { max: 10_000 }])
        );
    }

    #[test]
    fn unicode_counts_characters_not_bytes() {
        // Eight characters, sixteen bytes: long enough.
        assert_eq!(
            PasswordPolicy::default()
                .check("Éé1!ßßßß")
                .map_err(|v| v.len()),
            Ok(())
        );
    }

    #[test]
    fn composition_rules_can_be_switched_off() {
        let policy = PasswordPolicy::nist();
        assert_eq!(policy.check("correct horse battery staple"), Ok(()));
        assert_eq!(
            policy.check("kqzvplmx"),
            Err(vec![PolicyViolation::TooShort { min: 15 }])
        );
        assert_eq!(
            policy.check("password12345678"),
            Err(vec![PolicyViolation::CommonPassword]),
            "the NIST preset keeps the common-password list"
        );
    }

    #[test]
    fn blocklist_matches_whole_password_case_insensitively() {
        let policy = PasswordPolicy::default().with_blocklist(["Zebra-Quartz!7"]);
        assert_eq!(
            policy.check("zEBRA-qUARTZ!7"),
            Err(vec![PolicyViolation::Blocklisted])
        );
        assert_eq!(policy.check("Zebra-Quartz!7x"), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        let policy = PasswordPolicy::default();
        for common in [
            "Password1!",
            "PASSWORD1!",
            "P@ssw0rd",
            "Passw0rd!",
            "iloveyou1",
        ] {
            assert!(
                policy
                    .check(common)
                    .unwrap_err()
                    .contains(&PolicyViolation::CommonPassword),
                "{common} passed"
            );
        }
        assert_eq!(policy.check("Str0ng!pass"), Ok(()));
        assert_eq!(
            PasswordPolicy::default()
                .with_refuse_common(false)
                .check("Password1!"),
            Ok(())
        );
    }

    #[test]
    fn the_accounts_own_words_are_refused() {
        let policy = PasswordPolicy::default();
        let refused = |password: &str, username, email| {
            policy
                .check_for(password, username, email)
                .err()
                .is_some_and(|v| v.contains(&PolicyViolation::ContainsUserInfo))
        };
        assert!(refused("Xx1!Alice-2026", Some("alice"), None));
        assert!(refused(
            "Xx1!SMITHjohn9",
            None,
            Some("smithjohn@example.com")
        ));
        assert!(
            !refused("Xx1!Bob-2026-x", Some("bob"), Some("bob@example.com")),
            "shorter than four"
        );
        assert!(!refused(
            "Str0ng!pass",
            Some("alice"),
            Some("alice@example.com")
        ));
    }

    #[test]
    fn passwords_are_not_trimmed() {
        // Leading and trailing spaces count as characters (ASVS 5.0 6.2.8).
        assert_eq!(
            PasswordPolicy::default().check("  Aa1!  "),
            Ok(()),
            "eight characters including spaces"
        );
    }
}
