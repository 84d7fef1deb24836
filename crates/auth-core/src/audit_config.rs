//! [`AuditConfig`]: whether the audit log is written, whether a failed write fails the
//! request, and how long records are kept; and the `MYAUTH_AUDIT*` variables.

use time::Duration;

use crate::error::ConfigError;

/// Longest retention accepted: 100 years (a larger value is surely a typo).
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 36_500;

/// How the audit log is kept. [`AuditConfig::default`]: on, not strict, kept forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditConfig {
    enabled: bool,
    strict: bool,
    retention: Option<Duration>,
}

impl Default for AuditConfig {
    /// On (its cost per login is measured in benches/README.md, "Audit log"), not strict,
    /// no retention limit.
    fn default() -> Self {
        Self {
            enabled: true,
            strict: false,
            retention: None,
        }
    }
}

impl AuditConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether events are appended to the audit log (`MYAUTH_AUDIT`, default on). Off, the
    /// hooks still fire and `GET /admin/audit` shows what was written before.
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Whether a failed audit write fails the request (`MYAUTH_AUDIT_STRICT`, default
    /// off). Strict, the service awaits each write before answering, and a failure answers
    /// 503 — the change the event reports stays stored, but no tokens are handed out for
    /// it. Not strict, the write runs after the answer and a failure is logged and counted
    /// ([`AuthService::audit_failures`](crate::AuthService::audit_failures)). Events that
    /// happen after the answer anyway (a reset link issued in the background) are only
    /// logged and counted either way.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// How long records are kept (`MYAUTH_AUDIT_RETENTION_DAYS`, default forever): the
    /// purge ([`AuthService::purge_expired_tokens`](crate::AuthService::purge_expired_tokens),
    /// hourly in the reference server) deletes older ones, keeping an anchor so the rest
    /// still verifies. `None` or a non-positive duration keeps everything.
    #[must_use]
    pub fn with_retention(mut self, retention: Option<Duration>) -> Self {
        self.retention = retention.filter(|r| r.is_positive());
        self
    }

    /// Whether the audit log is written.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether a failed write fails the request.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// How long records are kept, if limited.
    pub fn retention(&self) -> Option<Duration> {
        self.retention
    }

    /// Reads `MYAUTH_AUDIT`, `MYAUTH_AUDIT_STRICT` and `MYAUTH_AUDIT_RETENTION_DAYS` over
    /// these defaults.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidVar`] for a value that is not a boolean or a day count.
    pub fn from_lookup(
        mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if let Some(raw) = lookup("MYAUTH_AUDIT") {
            self.enabled = bool_var("MYAUTH_AUDIT", &raw)?;
        }
        if let Some(raw) = lookup("MYAUTH_AUDIT_STRICT") {
            self.strict = bool_var("MYAUTH_AUDIT_STRICT", &raw)?;
        }
        if let Some(raw) = lookup("MYAUTH_AUDIT_RETENTION_DAYS") {
            const NAME: &str = "MYAUTH_AUDIT_RETENTION_DAYS";
            let days = raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|days| *days <= MAX_AUDIT_RETENTION_DAYS)
                .ok_or_else(|| ConfigError::InvalidVar {
                    name: NAME,
                    reason: format!(
                        "expected a whole number of days up to {MAX_AUDIT_RETENTION_DAYS} \
                         (0 keeps everything)"
                    ),
                })?;
            self = self.with_retention(Some(Duration::days(i64::from(days))));
        }
        Ok(self)
    }
}

/// A boolean variable: `true`/`false`, `on`/`off`, `1`/`0`, `yes`/`no`.
pub(crate) fn bool_var(name: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::InvalidVar {
            name,
            reason: "expected true or false".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_variables_override_the_defaults_and_bad_values_are_named() {
        let config = AuditConfig::default()
            .from_lookup(&lookup(&[
                ("MYAUTH_AUDIT", "off"),
                ("MYAUTH_AUDIT_STRICT", "true"),
                ("MYAUTH_AUDIT_RETENTION_DAYS", "90"),
            ]))
            .unwrap();
        assert!(!config.enabled());
        assert!(config.strict());
        assert_eq!(config.retention(), Some(Duration::days(90)));
        let keep = AuditConfig::default()
            .from_lookup(&lookup(&[("MYAUTH_AUDIT_RETENTION_DAYS", "0")]))
            .unwrap();
        assert_eq!(keep.retention(), None);
        for (name, value) in [
            ("MYAUTH_AUDIT", "maybe"),
            ("MYAUTH_AUDIT_RETENTION_DAYS", "-1"),
            ("MYAUTH_AUDIT_RETENTION_DAYS", "99999"),
        ] {
            let error = AuditConfig::default()
                .from_lookup(&lookup(&[(name, value)]))
                .unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
        assert_eq!(
            AuditConfig::default().from_lookup(&lookup(&[])).unwrap(),
            AuditConfig::default()
        );
    }
}
