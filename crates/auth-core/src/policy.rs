//! The password policy: which new passwords are accepted.
//!
//! The default is the policy of the Python MyAuth module this project re-imagines
//! (docs/security.md, decision 3): 8–128 characters with an uppercase letter, a lowercase
//! letter, a digit and a special character. A NIST SP 800-63B style policy — length only,
//! 15 or more, with a blocklist — is one call away: [`PasswordPolicy::nist`].
//! Every failed rule is reported at once, so a client can show them all.

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
            .field("blocklist_len", &self.blocklist.len())
            .finish()
    }
}

impl Default for PasswordPolicy {
    /// The Python MyAuth module's policy: 8–128 characters, upper, lower, digit and special
    /// required.
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_chars: 128,
            require_uppercase: true,
            require_lowercase: true,
            require_digit: true,
            require_special: true,
            blocklist: HashSet::new(),
        }
    }
}

impl PasswordPolicy {
    /// A NIST SP 800-63B rev. 4 style policy: at least 15 characters, at most 128, no
    /// composition rules. Add a blocklist with [`with_blocklist`](Self::with_blocklist).
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
    /// [`MAX_PASSWORD_BYTES`] of UTF-8 (docs/security.md, decision 5).
    #[must_use]
    pub fn with_max_chars(mut self, max: usize) -> Self {
        self.max_chars = max;
        self
    }

    /// Require an uppercase letter. Default true (docs/security.md, decision 3).
    #[must_use]
    pub fn with_require_uppercase(mut self, on: bool) -> Self {
        self.require_uppercase = on;
        self
    }

    /// Require a lowercase letter. Default true (docs/security.md, decision 3).
    #[must_use]
    pub fn with_require_lowercase(mut self, on: bool) -> Self {
        self.require_lowercase = on;
        self
    }

    /// Require a decimal digit. Default true (docs/security.md, decision 3).
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

    /// Refuse these passwords (compared case-insensitively, whole password only, as
    /// NIST SP 800-63B asks). Default empty. ASVS 5.0 6.2.4 asks for the top 3000.
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
    /// ASVS 5.0 6.2.8) and returns every rule it fails.
    ///
    /// # Errors
    ///
    /// The list of violations, in a stable order, when at least one rule fails.
    pub fn check(&self, password: &str) -> Result<(), Vec<PolicyViolation>> {
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
        if !self.blocklist.is_empty() && self.blocklist.contains(&password.to_lowercase()) {
            violations.push(PolicyViolation::Blocklisted);
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
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
    /// A commonly used or otherwise refused password.
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
            Self::Blocklisted => "is too common, choose another".to_owned(),
        }
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
        let violations = PasswordPolicy::default().check("abc").unwrap_err();
        assert_eq!(
            violations,
            vec![
                PolicyViolation::TooShort { min: 8 },
                PolicyViolation::MissingUppercase,
                PolicyViolation::MissingDigit,
                PolicyViolation::MissingSpecial,
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
            policy.check("short"),
            Err(vec![PolicyViolation::TooShort { min: 15 }])
        );
    }

    #[test]
    fn blocklist_matches_whole_password_case_insensitively() {
        let policy = PasswordPolicy::default().with_blocklist(["Passw0rd!"]);
        assert_eq!(
            policy.check("pASSW0RD!"),
            Err(vec![PolicyViolation::Blocklisted])
        );
        assert_eq!(policy.check("Passw0rd!x"), Ok(()));
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
