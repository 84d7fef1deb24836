//! A reader for the messages the server receives: headers, multipart bodies, and the two
//! transfer encodings lettre writes (quoted-printable and base64).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// A parsed message: unfolded headers and, for a multipart body, its decoded parts.
#[derive(Debug, Clone)]
pub struct Mime {
    /// The headers in order, folded lines joined, names and values trimmed.
    pub headers: Vec<(String, String)>,
    /// The decoded body of a single-part message or part; empty for a multipart one.
    pub body: String,
    /// The parts of a multipart body, each parsed the same way.
    pub parts: Vec<Mime>,
}

impl Mime {
    /// Parses a message (CRLF line endings) and, recursively, its multipart body.
    pub fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                // Unfolding (RFC 5322 §2.2.3).
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let mut message = Self {
            headers,
            body: String::new(),
            parts: Vec::new(),
        };
        let content_type = message.header("Content-Type").unwrap_or("").to_owned();
        if let Some(boundary) = parameter(&content_type, "boundary") {
            let delimiter = format!("--{boundary}");
            for chunk in body.split(delimiter.as_str()).skip(1) {
                if chunk.starts_with("--") {
                    break;
                }
                let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
                let chunk = chunk.strip_suffix("\r\n").unwrap_or(chunk);
                message.parts.push(Self::parse(chunk));
            }
        } else {
            message.body = match message.header("Content-Transfer-Encoding") {
                Some(encoding) if encoding.eq_ignore_ascii_case("quoted-printable") => {
                    decode_quoted_printable(body)
                }
                Some(encoding) if encoding.eq_ignore_ascii_case("base64") => {
                    decode_base64(&body.replace("\r\n", ""))
                }
                _ => body.to_owned(),
            };
        }
        message
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many headers have this name.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// The part whose content type starts with `content_type` (e.g. `text/html`).
    pub fn part(&self, content_type: &str) -> &Mime {
        self.parts
            .iter()
            .find(|part| {
                part.header("Content-Type")
                    .is_some_and(|value| value.to_ascii_lowercase().starts_with(content_type))
            })
            .unwrap_or_else(|| panic!("no {content_type} part in {:#?}", self.parts))
    }
}

/// A `name=value` or `name="value"` parameter of a header value.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, val) = param.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| val.trim().trim_matches('"').to_owned())
    })
}

/// Decodes quoted-printable (RFC 2045 §6.7): soft line breaks and `=XX` escapes.
fn decode_quoted_printable(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            let hex = std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    // lettre only writes UTF-8; anything else shows up as U+FFFD in the failing assertion.
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes base64 into text; anything undecodable becomes the empty string, which no test
/// expects, so the test that sent it fails on its own assertion.
pub(crate) fn decode_base64(value: &str) -> String {
    String::from_utf8(BASE64.decode(value.trim()).unwrap_or_default()).unwrap_or_default()
}
