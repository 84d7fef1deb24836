//! Request bodies: the content-type rules, and decoding into named fields with the
//! contract's errors.
//!
//! Bodies are read into a [`Fields`] view — a JSON object, or the pairs of an OAuth 2.0
//! form — and each request type takes its fields by name and type. Decoding is not left to
//! a derived `Deserialize`: serde would read a struct from a JSON array field by field (so
//! `["a@b.co", "alice", "Passw0rd!"]` would register an account) and its messages quote
//! parser positions. Here a wrong type names its field with the stable code `invalid_type`,
//! and anything but an object is refused.

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use super::Problem;
use crate::error::{AuthError, FieldError};

/// How a body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json` or any `application/*+json`.
    Json,
    /// `application/x-www-form-urlencoded` (OAuth 2.0 token requests, HTML forms).
    Form,
}

/// Which body formats an endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// JSON only.
    Json,
    /// JSON, or the OAuth 2.0 form shapes (`/login`, `/refresh`).
    JsonOrForm,
    /// An HTML form only (the pages).
    Form,
}

impl Accepts {
    fn expected(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::JsonOrForm => "application/json or application/x-www-form-urlencoded",
            Self::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// Decides the body format from a `Content-Type` header value.
///
/// # Errors
///
/// 415 `unsupported_media_type` for a type the endpoint does not accept, including a
/// missing header.
#[expect(
    clippy::result_large_err,
    reason = "a problem is built at most once per failed request; boxing it buys nothing"
)]
pub fn body_format(content_type: Option<&str>, accepts: Accepts) -> Result<BodyFormat, Problem> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    let form = essence == "application/x-www-form-urlencoded";
    match accepts {
        Accepts::Json | Accepts::JsonOrForm if json => Ok(BodyFormat::Json),
        Accepts::JsonOrForm | Accepts::Form if form => Ok(BodyFormat::Form),
        _ => Err(Problem::unsupported_media_type(accepts.expected())),
    }
}

/// The `Content-Type` of a request, if it is readable text.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

/// The fields of a decoded body, by name.
#[derive(Debug)]
pub struct Fields {
    format: BodyFormat,
    values: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    /// Decodes a body of the given format.
    ///
    /// # Errors
    ///
    /// 400 `malformed_body` when the bytes are not JSON (or form data) at all; 422
    /// `validation_failed` when they are JSON but not an object.
    #[expect(
        clippy::result_large_err,
        reason = "a problem is built at most once per failed request; boxing it buys nothing"
    )]
    pub fn decode(format: BodyFormat, bytes: &[u8]) -> Result<Self, Problem> {
        let values = match format {
            BodyFormat::Json => match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(AuthError::Validation(vec![FieldError::new(
                        "body",
                        "invalid_type",
                        "the body must be a JSON object",
                    )])
                    .into());
                }
                // The parser's message quotes line and column: a client needs only this.
                Err(_) => return Err(Problem::malformed_body("body is not valid JSON")),
            },
            BodyFormat::Form => {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
                    .map_err(|_| Problem::malformed_body("body is not valid form data"))?;
                let mut map = Map::new();
                for (key, value) in pairs {
                    // The first occurrence wins; a repeated key cannot override it.
                    map.entry(key).or_insert(Value::String(value));
                }
                map
            }
        };
        Ok(Self {
            format,
            values,
            errors: Vec::new(),
        })
    }

    /// The body's format.
    pub fn format(&self) -> BodyFormat {
        self.format
    }

    /// An optional string field. `null` counts as absent; any other non-string is an
    /// `invalid_type` error of that field.
    pub fn string(&mut self, field: &'static str) -> Option<String> {
        match self.values.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(value)) => Some(value),
            Some(_) => {
                self.invalid_type(field, "must be a string");
                None
            }
        }
    }

    /// A required string field: a missing one is a `required` error of that field.
    pub fn required_string(&mut self, field: &'static str) -> String {
        let errors = self.errors.len();
        match self.string(field) {
            Some(value) => value,
            None => {
                if self.errors.len() == errors {
                    self.errors
                        .push(FieldError::new(field, "required", "this field is required"));
                }
                String::new()
            }
        }
    }

    /// An optional JSON object field.
    pub fn object(&mut self, field: &'static str) -> Option<Map<String, Value>> {
        match self.values.remove(field) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                self.invalid_type(field, "must be a JSON object");
                None
            }
        }
    }

    /// A required array of strings.
    pub fn required_strings(&mut self, field: &'static str) -> Vec<String> {
        match self.values.remove(field) {
            None | Some(Value::Null) => {
                self.errors
                    .push(FieldError::new(field, "required", "this field is required"));
                Vec::new()
            }
            Some(Value::Array(items)) => {
                let mut strings = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => strings.push(s),
                        _ => {
                            self.invalid_type(field, "must be an array of strings");
                            return Vec::new();
                        }
                    }
                }
                strings
            }
            Some(_) => {
                self.invalid_type(field, "must be an array of strings");
                Vec::new()
            }
        }
    }

    /// Records a field error found by the caller.
    pub fn reject(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    fn invalid_type(&mut self, field: &'static str, message: &str) {
        self.errors
            .push(FieldError::new(field, "invalid_type", message));
    }

    /// Ends decoding: the value, or every field error at once.
    ///
    /// # Errors
    ///
    /// 422 `validation_failed` listing every missing or mistyped field.
    pub fn finish<T>(self, value: T) -> Result<T, AuthError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(AuthError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_json_suffix_types_are_json_and_forms_only_where_allowed() {
        assert_eq!(
            body_format(Some("application/json; charset=utf-8"), Accepts::Json),
            Ok(BodyFormat::Json)
        );
        assert_eq!(
            body_format(Some("Application/Merge-Patch+JSON"), Accepts::Json),
            Ok(BodyFormat::Json)
        );
        assert_eq!(
            body_format(
                Some("application/x-www-form-urlencoded"),
                Accepts::JsonOrForm
            ),
            Ok(BodyFormat::Form)
        );
        for (ct, accepts) in [
            (Some("application/x-www-form-urlencoded"), Accepts::Json),
            (Some("application/json"), Accepts::Form),
            (Some("text/plain"), Accepts::JsonOrForm),
            (None, Accepts::JsonOrForm),
        ] {
            assert_eq!(body_format(ct, accepts).map_err(|p| p.status), Err(415));
        }
    }

    #[test]
    fn syntax_errors_are_400_without_parser_positions_and_non_objects_are_422() {
        let bad = Fields::decode(BodyFormat::Json, b"{\"email\": ").unwrap_err();
        assert_eq!((bad.status, bad.code), (400, "malformed_body"));
        assert!(!bad.detail.contains("line"), "{}", bad.detail);
        for body in [&b"[]"[..], b"[null, null]", b"\"text\"", b"5", b"null"] {
            let problem = Fields::decode(BodyFormat::Json, body).unwrap_err();
            assert_eq!(problem.status, 422, "{body:?}");
            assert_eq!(problem.errors[0].code, "invalid_type");
        }
    }

    #[test]
    fn a_mistyped_field_is_named_with_a_stable_code() {
        let mut fields =
            Fields::decode(BodyFormat::Json, br#"{"username": 12345, "email": 5}"#).unwrap();
        let username = fields.required_string("username");
        let email = fields.required_string("email");
        let password = fields.required_string("password");
        let Err(AuthError::Validation(errors)) = fields.finish((username, email, password)) else {
            panic!("mistyped fields accepted");
        };
        let got: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("username", "invalid_type"),
                ("email", "invalid_type"),
                ("password", "required")
            ]
        );
        assert!(errors.iter().all(|e| !e.message.contains("column")));
    }

    #[test]
    fn forms_keep_the_first_value_of_a_repeated_key() {
        let mut fields =
            Fields::decode(BodyFormat::Form, b"grant_type=password&grant_type=other").unwrap();
        assert_eq!(fields.string("grant_type").as_deref(), Some("password"));
    }
}
