//! Every text the pages show, in one place, so an application can translate them.

use serde::Serialize;

use crate::policy::PolicyViolation;

/// The texts of the pages. [`Texts::default`] is English; set the fields for another
/// language (and [`lang`](Self::lang) to its tag) and give them to
/// [`Pages::with_texts`](super::Pages::with_texts). Templates read them as `t.<field>`.
/// `{min}` and `{max}` in the rule texts are replaced by the policy's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Texts {
    /// The page language, a BCP 47 tag (`<html lang>`).
    pub lang: String,
    /// The name shown above every page's title.
    pub site_name: String,
    /// Title of the email-verification form.
    pub verify_title: String,
    /// What the verification form says above its button.
    pub verify_intro: String,
    /// The verification button.
    pub verify_button: String,
    /// Title once the address is verified.
    pub verified_title: String,
    /// Text once the address is verified.
    pub verified_message: String,
    /// Title of the password-reset form.
    pub reset_title: String,
    /// Label of the new-password field.
    pub reset_label: String,
    /// Above the list of rules.
    pub reset_rules_intro: String,
    /// Above the list of failed rules after a refused password.
    pub reset_refused: String,
    /// The reset button.
    pub reset_button: String,
    /// Title once the password is changed.
    pub reset_done_title: String,
    /// Text once the password is changed.
    pub reset_done_message: String,
    /// Title of a link that cannot be used (unknown, malformed, used).
    pub invalid_link_title: String,
    /// Text of a link that cannot be used.
    pub invalid_link_message: String,
    /// Title of an expired link.
    pub expired_link_title: String,
    /// Text of an expired link.
    pub expired_link_message: String,
    /// What to do about an unusable link.
    pub link_hint: String,
    /// Title when a form was sent without a valid form token (too old, or not ours).
    pub form_expired_title: String,
    /// Text when a form was sent without a valid form token.
    pub form_expired_message: String,
    /// Title when a form could not be read (wrong type, too large).
    pub bad_form_title: String,
    /// Text when a form could not be read.
    pub bad_form_message: String,
    /// Title when the service cannot answer now.
    pub unavailable_title: String,
    /// Text when the service cannot answer now.
    pub unavailable_message: String,
    /// Rule: the minimum length (`{min}`).
    pub rule_too_short: String,
    /// Rule: the maximum length (`{max}`).
    pub rule_too_long: String,
    /// Rule: an uppercase letter.
    pub rule_missing_uppercase: String,
    /// Rule: a lowercase letter.
    pub rule_missing_lowercase: String,
    /// Rule: a digit.
    pub rule_missing_digit: String,
    /// Rule: a special character.
    pub rule_missing_special: String,
    /// Rule: not a common password.
    pub rule_common_password: String,
    /// Rule: not the account's own name.
    pub rule_contains_user_info: String,
    /// Rule: not on the application's blocklist.
    pub rule_blocklisted: String,
}

impl Default for Texts {
    fn default() -> Self {
        let s = str::to_owned;
        Self {
            lang: s("en"),
            site_name: s("MyAuth"),
            verify_title: s("Verify your email address"),
            verify_intro: s("Confirm that this email address belongs to you."),
            verify_button: s("Verify my email address"),
            verified_title: s("Email address verified"),
            verified_message: s(
                "Your email address is verified. You can close this page and sign in.",
            ),
            reset_title: s("Choose a new password"),
            reset_label: s("New password"),
            reset_rules_intro: s("Your new password must:"),
            reset_refused: s("That password was not accepted. It must:"),
            reset_button: s("Set my new password"),
            reset_done_title: s("Password changed"),
            reset_done_message: s(
                "Your password is changed and every other session is signed out. You can now sign in with it.",
            ),
            invalid_link_title: s("This link cannot be used"),
            invalid_link_message: s("This link is not valid, or it was already used."),
            expired_link_title: s("This link has expired"),
            expired_link_message: s("This link is too old to be used."),
            link_hint: s("Ask for a new email and use the link in it."),
            form_expired_title: s("This form has expired"),
            form_expired_message: s(
                "The form was open for too long, or did not come from this page. Open the link from your email again.",
            ),
            bad_form_title: s("The form could not be read"),
            bad_form_message: s("Please send the form from this page again."),
            unavailable_title: s("Please try again"),
            unavailable_message: s(
                "The service cannot answer right now. Please try again in a minute.",
            ),
            rule_too_short: s("be at least {min} characters long"),
            rule_too_long: s("be at most {max} characters long"),
            rule_missing_uppercase: s("contain an uppercase letter"),
            rule_missing_lowercase: s("contain a lowercase letter"),
            rule_missing_digit: s("contain a digit"),
            rule_missing_special: s("contain a special character, such as ! or #"),
            rule_common_password: s("not be one of the most common passwords"),
            rule_contains_user_info: s("not contain your username or the name part of your email"),
            rule_blocklisted: s("not be a password this site refuses"),
        }
    }
}

impl Texts {
    /// The text of one password rule.
    pub(crate) fn rule(&self, rule: &PolicyViolation) -> String {
        match rule {
            PolicyViolation::TooShort { min } => {
                self.rule_too_short.replace("{min}", &min.to_string())
            }
            PolicyViolation::TooLong { max } => {
                self.rule_too_long.replace("{max}", &max.to_string())
            }
            PolicyViolation::MissingUppercase => self.rule_missing_uppercase.clone(),
            PolicyViolation::MissingLowercase => self.rule_missing_lowercase.clone(),
            PolicyViolation::MissingDigit => self.rule_missing_digit.clone(),
            PolicyViolation::MissingSpecial => self.rule_missing_special.clone(),
            PolicyViolation::CommonPassword => self.rule_common_password.clone(),
            PolicyViolation::ContainsUserInfo => self.rule_contains_user_info.clone(),
            PolicyViolation::Blocklisted => self.rule_blocklisted.clone(),
        }
    }
}
