//! The asymmetric algorithms (feature `asymmetric`): Ed25519 (`EdDSA`, RFC 8037), P-256
//! (`ES256`) and RSA PKCS#1 v1.5 with SHA-256 (`RS256`, RFC 7518 §3), on the RustCrypto
//! crates; keys read from PKCS#8 PEM (RFC 5958, RFC 5280 for public keys).
//!
//! Each key type has exactly one algorithm (RFC 8725 §3.1): the type decides, never a token.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use pkcs8::der::Decode as _;
use pkcs8::spki::DecodePublicKey as _;
use pkcs8::{DecodePrivateKey as _, ObjectIdentifier, PrivateKeyInfoRef, SubjectPublicKeyInfoRef};
use rsa::traits::PublicKeyParts as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::key::KeyError;
use crate::config::JwtAlgorithm;

const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// The smallest RSA modulus accepted: 2048 bits (NIST SP 800-57 Part 1 Rev. 5 §5.6.1.1,
/// 112-bit security; RFC 7518 §3.3 requires at least 2048 for RS256).
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// A public key, and the private key when the PEM held one. Private halves sit behind an
/// `Arc`, so cloning a configuration never copies key material.
#[derive(Clone)]
pub(crate) enum AsymmetricKey {
    Ed25519 {
        private: Option<Arc<ed25519_dalek::SigningKey>>,
        public: ed25519_dalek::VerifyingKey,
    },
    P256 {
        private: Option<Arc<p256::ecdsa::SigningKey>>,
        public: p256::ecdsa::VerifyingKey,
    },
    Rsa {
        private: Option<Arc<rsa::pkcs1v15::SigningKey<Sha256>>>,
        public: rsa::pkcs1v15::VerifyingKey<Sha256>,
    },
}

impl fmt::Debug for AsymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())?;
        f.write_str(if self.is_private() {
            " private key"
        } else {
            " public key"
        })
    }
}

/// The public members of a JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2), in the order
/// they are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PublicJwk {
    kty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<String>,
}

impl PublicJwk {
    /// The RFC 7638 thumbprint: SHA-256 over the required members, in lexicographic
    /// order, without whitespace; base64url.
    fn thumbprint(&self) -> String {
        let canonical = match self.kty {
            "RSA" => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                self.e.as_deref().unwrap_or_default(),
                self.n.as_deref().unwrap_or_default()
            ),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                self.crv.unwrap_or_default(),
                self.x.as_deref().unwrap_or_default(),
                self.y.as_deref().unwrap_or_default()
            ),
            // OKP (RFC 8037 §2).
            _ => format!(
                r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
                self.crv.unwrap_or_default(),
                self.kty,
                self.x.as_deref().unwrap_or_default()
            ),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// A JWK as the JWKS publishes it: the public members, `use`, `alg` and `kid`, nothing
/// else — never a private member (RFC 7517 §9.2 leaves their protection to us).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PublishedJwk {
    #[serde(flatten)]
    public: PublicJwk,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: &'static str,
    kid: String,
}

impl AsymmetricKey {
    /// Reads a PKCS#8 private key (`PRIVATE KEY`) or an X.509 SubjectPublicKeyInfo
    /// (`PUBLIC KEY`) from PEM text.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let label = pem_label(pem).ok_or(KeyError::NotPem)?;
        match label {
            "PRIVATE KEY" => {
                let (_, document) =
                    pkcs8::SecretDocument::from_pem(pem).map_err(|_| KeyError::Malformed)?;
                Self::from_private_der(document.as_bytes())
            }
            "PUBLIC KEY" => {
                let (_, document) =
                    pkcs8::Document::from_pem(pem).map_err(|_| KeyError::Malformed)?;
                Self::from_public_der(document.as_bytes())
            }
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            other => Err(KeyError::NotPkcs8 {
                label: other.to_owned(),
            }),
        }
    }

    fn from_private_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed)?;
        match key_type(info.algorithm.oid, info.algorithm.parameters_oid().ok())? {
            KeyType::Ed25519 => {
                let private = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                    .map_err(|_| KeyError::Malformed)?;
                Ok(Self::Ed25519 {
                    public: private.verifying_key(),
                    private: Some(Arc::new(private)),
                })
            }
            KeyType::P256 => {
                let private = p256::ecdsa::SigningKey::from_pkcs8_der(der)
                    .map_err(|_| KeyError::Malformed)?;
                Ok(Self::P256 {
                    public: *private.verifying_key(),
                    private: Some(Arc::new(private)),
                })
            }
            KeyType::Rsa => {
                let private =
                    rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| KeyError::Malformed)?;
                check_rsa_size(private.size())?;
                let public = rsa::pkcs1v15::VerifyingKey::new(private.to_public_key());
                Ok(Self::Rsa {
                    public,
                    private: Some(Arc::new(rsa::pkcs1v15::SigningKey::new(private))),
                })
            }
        }
    }

    fn from_public_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed)?;
        match key_type(info.algorithm.oid, info.algorithm.parameters_oid().ok())? {
            KeyType::Ed25519 => Ok(Self::Ed25519 {
                public: ed25519_dalek::VerifyingKey::from_public_key_der(der)
                    .map_err(|_| KeyError::Malformed)?,
                private: None,
            }),
            KeyType::P256 => Ok(Self::P256 {
                public: p256::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map_err(|_| KeyError::Malformed)?,
                private: None,
            }),
            KeyType::Rsa => {
                let public =
                    rsa::PublicKey::from_public_key_der(der).map_err(|_| KeyError::Malformed)?;
                check_rsa_size(public.size())?;
                Ok(Self::Rsa {
                    public: rsa::pkcs1v15::VerifyingKey::new(public),
                    private: None,
                })
            }
        }
    }

    /// The same key without its private half: what a verification-only key keeps.
    pub(crate) fn public_only(&self) -> Self {
        match self {
            Self::Ed25519 { public, .. } => Self::Ed25519 {
                private: None,
                public: *public,
            },
            Self::P256 { public, .. } => Self::P256 {
                private: None,
                public: *public,
            },
            Self::Rsa { public, .. } => Self::Rsa {
                private: None,
                public: public.clone(),
            },
        }
    }

    /// The one algorithm this key serves.
    pub(crate) fn algorithm(&self) -> JwtAlgorithm {
        match self {
            Self::Ed25519 { .. } => JwtAlgorithm::EdDsa,
            Self::P256 { .. } => JwtAlgorithm::Es256,
            Self::Rsa { .. } => JwtAlgorithm::Rs256,
        }
    }

    /// `Ed25519`, `P-256` or `RSA-2048` (the modulus size for RSA).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Ed25519 { .. } => "Ed25519",
            Self::P256 { .. } => "P-256",
            Self::Rsa { public, .. } => match public.as_ref().size() * 8 {
                2048 => "RSA-2048",
                3072 => "RSA-3072",
                4096 => "RSA-4096",
                _ => "RSA",
            },
        }
    }

    pub(crate) fn is_private(&self) -> bool {
        match self {
            Self::Ed25519 { private, .. } => private.is_some(),
            Self::P256 { private, .. } => private.is_some(),
            Self::Rsa { private, .. } => private.is_some(),
        }
    }

    /// The public members of its JWK.
    fn public_jwk(&self) -> PublicJwk {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            Self::Ed25519 { public, .. } => PublicJwk {
                kty: "OKP",
                crv: Some("Ed25519"),
                x: Some(b64(public.as_bytes())),
                y: None,
                n: None,
                e: None,
            },
            Self::P256 { public, .. } => {
                let point = public.to_sec1_point(false);
                PublicJwk {
                    kty: "EC",
                    crv: Some("P-256"),
                    x: point.x().map(|x| b64(x)),
                    y: point.y().map(|y| b64(y)),
                    n: None,
                    e: None,
                }
            }
            // Big-endian, without leading zero octets (RFC 7518 §6.3.1).
            Self::Rsa { public, .. } => PublicJwk {
                kty: "RSA",
                crv: None,
                x: None,
                y: None,
                n: Some(b64(&public.as_ref().n_bytes())),
                e: Some(b64(&public.as_ref().e_bytes())),
            },
        }
    }

    /// The key's `kid`: its RFC 7638 thumbprint (of the public key, also for a private one).
    pub(crate) fn thumbprint(&self) -> String {
        self.public_jwk().thumbprint()
    }

    /// The JWK the JWKS publishes for this key.
    pub(crate) fn published_jwk(&self, kid: &str) -> PublishedJwk {
        PublishedJwk {
            public: self.public_jwk(),
            use_: "sig",
            alg: self.algorithm().name(),
            kid: kid.to_owned(),
        }
    }

    /// The longest signature this key makes or accepts, in bytes.
    pub(crate) fn signature_len(&self) -> usize {
        match self {
            Self::Ed25519 { .. } | Self::P256 { .. } => 64,
            Self::Rsa { public, .. } => public.as_ref().size(),
        }
    }

    /// Signs `input`, appending the signature to `out` in base64url. ES256 signatures are
    /// normalised to low S, so each token has one valid form.
    pub(crate) fn sign_into(
        &self,
        input: &[u8],
        out: &mut String,
    ) -> Result<(), ed25519_dalek::SignatureError> {
        match self {
            Self::Ed25519 {
                private: Some(key), ..
            } => {
                let signature: ed25519_dalek::Signature = key.try_sign(input)?;
                URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), out);
            }
            Self::P256 {
                private: Some(key), ..
            } => {
                let signature: p256::ecdsa::Signature = key.try_sign(input)?;
                URL_SAFE_NO_PAD.encode_string(signature.normalize_s().to_bytes(), out);
            }
            Self::Rsa {
                private: Some(key), ..
            } => {
                let signature: rsa::pkcs1v15::Signature = key.try_sign(input)?;
                URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), out);
            }
            _ => return Err(ed25519_dalek::SignatureError::new()),
        }
        Ok(())
    }

    /// Whether `signature` is this key's signature of `input`. Ed25519 is checked strictly
    /// (no small-order keys, canonical encodings); a P-256 signature must have a low S,
    /// as we issue them; an RSA signature must be exactly the modulus long and below it.
    pub(crate) fn verify(&self, input: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Ed25519 { public, .. } => {
                let Ok(bytes) = <&[u8; 64]>::try_from(signature) else {
                    return false;
                };
                public
                    .verify_strict(input, &ed25519_dalek::Signature::from_bytes(bytes))
                    .is_ok()
            }
            Self::P256 { public, .. } => {
                let Ok(signature) = p256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                signature.normalize_s() == signature && public.verify(input, &signature).is_ok()
            }
            Self::Rsa { public, .. } => {
                let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return false;
                };
                public.verify(input, &signature).is_ok()
            }
        }
    }
}

enum KeyType {
    Ed25519,
    P256,
    Rsa,
}

/// The key type an algorithm identifier names, or why it is not one we take.
fn key_type(
    oid: ObjectIdentifier,
    parameters: Option<ObjectIdentifier>,
) -> Result<KeyType, KeyError> {
    let unsupported = |what: &'static str| Err(KeyError::Unsupported { what });
    match (oid, parameters) {
        (ED25519, _) => Ok(KeyType::Ed25519),
        (RSA, _) => Ok(KeyType::Rsa),
        (EC_PUBLIC_KEY, Some(P256)) => Ok(KeyType::P256),
        (EC_PUBLIC_KEY, Some(P384)) => unsupported("a P-384 key (ES384 is not supported)"),
        (EC_PUBLIC_KEY, Some(P521)) => unsupported("a P-521 key (ES512 is not supported)"),
        (EC_PUBLIC_KEY, _) => unsupported("an elliptic-curve key on a curve other than P-256"),
        (ED448, _) => unsupported("an Ed448 key"),
        (RSA_PSS, _) => unsupported("an RSA-PSS key (PS256 is not supported)"),
        _ => unsupported("a key of an unknown type"),
    }
}

fn check_rsa_size(bytes: usize) -> Result<(), KeyError> {
    let bits = bytes * 8;
    if bits < MIN_RSA_BITS {
        return Err(KeyError::RsaTooShort { bits });
    }
    Ok(())
}

/// The label of the first PEM block (`-----BEGIN LABEL-----`), if the text has one.
fn pem_label(pem: &str) -> Option<&str> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = pem[start..].find("-----")?;
    Some(&pem[start..start + end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::JwtKey;

    macro_rules! pem {
        ($name:literal) => {
            include_str!(concat!("../../testdata/keys/", $name))
        };
    }

    #[test]
    fn thumbprints_match_the_rfc_examples() {
        // RFC 7638 §3.1.
        let rsa = PublicJwk {
            kty: "RSA",
            crv: None,
            x: None,
            y: None,
            n: Some("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".to_owned()),
            e: Some("AQAB".to_owned()),
        };
        assert_eq!(
            rsa.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // RFC 8037 §A.3.
        let ed25519 = PublicJwk {
            kty: "OKP",
            crv: Some("Ed25519"),
            x: Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".to_owned()),
            y: None,
            n: None,
            e: None,
        };
        assert_eq!(
            ed25519.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn private_and_public_pem_of_each_type_read_with_one_kid() {
        for (private, public, algorithm, jwk_members) in [
            (
                pem!("ed25519.pem"),
                pem!("ed25519.pub.pem"),
                JwtAlgorithm::EdDsa,
                ["kty", "crv", "x"].as_slice(),
            ),
            (
                pem!("p256.pem"),
                pem!("p256.pub.pem"),
                JwtAlgorithm::Es256,
                &["kty", "crv", "x", "y"],
            ),
            (
                pem!("rsa2048.pem"),
                pem!("rsa2048.pub.pem"),
                JwtAlgorithm::Rs256,
                &["kty", "n", "e"],
            ),
        ] {
            let private = JwtKey::from_pem(private).unwrap();
            let public = JwtKey::from_pem(public).unwrap();
            assert_eq!(private.kid(), public.kid());
            assert_eq!(private.kid().len(), 43);
            assert_eq!(private.algorithm(), Some(algorithm));
            assert!(private.is_private() && !public.is_private());
            assert!(!private.is_secret());
            let jwk = private.to_public_jwk().unwrap();
            assert_eq!(jwk, public.to_public_jwk().unwrap());
            for member in jwk_members {
                assert!(jwk[member].is_string(), "{member} missing in {jwk}");
            }
            assert_eq!(jwk["alg"], algorithm.name());
            assert_eq!(jwk["kid"], private.kid());
        }
    }

    #[test]
    fn unusable_pem_says_why_without_quoting_it() {
        type Expected = fn(&KeyError) -> bool;
        let cases: [(&str, Expected); 8] = [
            (pem!("ed25519-encrypted.pem"), |e| {
                matches!(e, KeyError::Encrypted)
            }),
            (
                pem!("rsa2048-pkcs1.pem"),
                |e| matches!(e, KeyError::NotPkcs8 { label } if label == "RSA PRIVATE KEY"),
            ),
            (
                pem!("p256-sec1.pem"),
                |e| matches!(e, KeyError::NotPkcs8 { label } if label == "EC PRIVATE KEY"),
            ),
            (pem!("p384.pem"), |e| {
                matches!(e, KeyError::Unsupported { .. })
            }),
            (pem!("ed448.pem"), |e| {
                matches!(e, KeyError::Unsupported { .. })
            }),
            (pem!("rsa1024.pem"), |e| {
                matches!(e, KeyError::RsaTooShort { bits: 1024 })
            }),
            ("not a key at all", |e| matches!(e, KeyError::NotPem)),
            (
                "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
                |e| matches!(e, KeyError::Malformed),
            ),
        ];
        for (pem, expected) in cases {
            let error = JwtKey::from_pem(pem).unwrap_err();
            assert!(expected(&error), "{error:?} for {pem}");
            let message = error.to_string();
            let body = pem.lines().nth(1).unwrap_or(pem);
            assert!(!message.contains(&body[..body.len().min(12)]), "{message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
        // The messages say how to fix it.
        let encrypted = JwtKey::from_pem(pem!("ed25519-encrypted.pem")).unwrap_err();
        assert!(
            encrypted
                .to_string()
                .contains("openssl pkcs8 -topk8 -nocrypt")
        );
    }

    #[test]
    fn a_key_serves_only_its_types_algorithm() {
        let ed25519 = JwtKey::from_pem(pem!("ed25519.pem")).unwrap();
        assert!(ed25519.check_signing(JwtAlgorithm::EdDsa).is_ok());
        for other in [
            JwtAlgorithm::Es256,
            JwtAlgorithm::Rs256,
            JwtAlgorithm::Hs256,
        ] {
            assert!(matches!(
                ed25519.check_signing(other),
                Err(KeyError::WrongAlgorithm { key: "Ed25519", .. })
            ));
        }
        let public = JwtKey::from_pem(pem!("ed25519.pub.pem")).unwrap();
        assert!(matches!(
            public.check_signing(JwtAlgorithm::EdDsa),
            Err(KeyError::NotPrivate)
        ));
    }
}
