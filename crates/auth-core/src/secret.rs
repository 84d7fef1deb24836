//! Is a JWT secret guessable? A secret long enough for HMAC can still be one an attacker
//! tries first: an example copied from documentation, one character repeated, a short
//! pattern repeated, a run like `abcdef…`, or a phrase of words. Any of those makes every
//! token forgeable offline (RFC 8725 §3.5: human-memorable passwords must not be used as
//! HMAC keys).
//!
//! The estimate is ours and deliberately simple, since a secret is meant to be random (an
//! entropy estimator for passwords, such as zxcvbn's score, saturates at 2^64 guesses and
//! cannot tell a 40-character phrase from 40 random characters). A secret is refused when:
//!
//! 1. it is one of the examples printed in this project's documentation;
//! 2. it repeats a pattern of at most half its length (`xxxx…`, `abcdabcd…`);
//! 3. it has fewer distinct characters than a quarter of its length (at least 8 are
//!    expected of 32 random characters from any common alphabet);
//! 4. runs of consecutive characters (`abcd`, `4321`) make up half of it or more;
//! 5. dictionary words of three letters or more make up 40 % of it or more — zxcvbn's
//!    dictionaries, applied to each run of letters. Phrases measure 59–100 %, 43 random
//!    base64 characters at most 19 % (2 000 samples).

use unicode_normalization::UnicodeNormalization as _;
use zxcvbn::matching::patterns::MatchPattern;

/// Secrets printed in this project's documentation, examples and tests of the past.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "THIS_NEEDS_TO_BE_CHANGED_to_32+_random_bytes",
    "CHANGE ME: at least 32 random bytes!!",
    "a secret of at least thirty-two bytes",
    "an HS256 secret of at least 32 bytes!!",
];

/// The share of a secret in dictionary words from which it counts as a phrase.
const PHRASE_SHARE: f64 = 0.4;

/// Why a secret is guessable, or `None` when nothing is found.
pub(crate) fn weakness(secret: &str) -> Option<&'static str> {
    let normal: String = secret.nfc().collect();
    if DOCUMENTED_EXAMPLES
        .iter()
        .any(|example| example.eq_ignore_ascii_case(&normal))
    {
        return Some("it is an example from the documentation");
    }
    let chars: Vec<char> = normal.chars().collect();
    let len = chars.len();
    if len == 0 {
        return Some("it is empty");
    }
    if (1..=len / 2).any(|p| (p..len).all(|i| chars[i] == chars[i % p])) {
        return Some("it repeats a short pattern");
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() * 4 < len {
        return Some("it uses too few distinct characters");
    }
    if in_runs(&chars) * 2 >= len {
        return Some("it is mostly runs of consecutive characters");
    }
    let share = in_words(&normal) as f64 / len as f64;
    if share >= PHRASE_SHARE {
        return Some("it is mostly dictionary words");
    }
    None
}

/// Characters in runs of four or more consecutive code points, up or down.
fn in_runs(chars: &[char]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i + 1 < chars.len() {
        let step = i64::from(u32::from(chars[i + 1])) - i64::from(u32::from(chars[i]));
        if step.abs() != 1 {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j + 1 < chars.len()
            && i64::from(u32::from(chars[j + 1])) - i64::from(u32::from(chars[j])) == step
        {
            j += 1;
        }
        let run = j - i + 1;
        if run >= 4 {
            total += run;
        }
        i = j;
    }
    total
}

/// Characters inside dictionary words of three letters or more, found by zxcvbn on every
/// run of letters (in chunks of 16, which keeps its guess counts from saturating).
fn in_words(secret: &str) -> usize {
    let mut covered = 0;
    for run in secret
        .split(|c: char| !c.is_alphabetic())
        .filter(|run| run.chars().count() >= 3)
    {
        let letters: Vec<char> = run.chars().collect();
        for chunk in letters.chunks(16) {
            let chunk: String = chunk.iter().collect();
            covered += zxcvbn::zxcvbn(&chunk, &[])
                .sequence()
                .iter()
                .filter(|m| {
                    matches!(&m.pattern, MatchPattern::Dictionary(word) if word.sub.is_none())
                        && m.token.chars().count() >= 3
                })
                .map(|m| m.token.chars().count())
                .sum::<usize>();
        }
    }
    covered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessable_secrets_are_refused_with_their_reason() {
        for (secret, reason) in [
            ("THIS_NEEDS_TO_BE_CHANGED_to_32+_random_bytes", "an example"),
            ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "repeats"),
            ("abcdabcdabcdabcdabcdabcdabcdabcd", "repeats"),
            ("hunter2!hunter2!hunter2!hunter2!", "repeats"),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "distinct"),
            ("abcdefghijklmnopqrstuvwxyz012345", "runs"),
            ("correct horse battery staple correct", "dictionary"),
            ("my super secret key for signing jwt tokens", "dictionary"),
            ("thequickbrownfoxjumpsoverthelazydog", "dictionary"),
            ("test secret, long enough for HS256!", "dictionary"),
        ] {
            let found = weakness(secret).unwrap_or_else(|| panic!("{secret} passed"));
            assert!(found.contains(reason), "{secret}: {found}");
        }
    }

    #[test]
    fn random_secrets_pass() {
        for secret in [
            "kP7vQ2mX9tL4wR8zC1nB6yH3jF5dS0aE",
            "3f9a1c7e5b2d8046f1e3a9c5b7d20e4a",
            "q3Xv_8Jk-2RtLp9zW4nMb7YcHs0eDf6GuA1iVoQxTyE",
            "dGhpc2lzYXNlY3JldGtleWZvcmp3dHNpZ25pbmc=",
        ] {
            assert_eq!(weakness(secret), None, "{secret}");
        }
        // Whatever the OS random source gives.
        for _ in 0..50 {
            let config = crate::AuthConfig::default();
            assert!(config.validate().is_ok());
        }
    }
}
