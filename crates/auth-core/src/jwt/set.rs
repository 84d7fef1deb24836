//! The key set: one signing key and the verification-only previous keys, each with its
//! `kid`, its one algorithm and the exact headers we issue with it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;

#[cfg(feature = "asymmetric")]
use super::asymmetric::AsymmetricKey;
use super::key::{JwtKey, Material};
use super::mac::MacKey;
use crate::config::{AuthConfig, JwtAlgorithm};
use crate::error::{AuthError, ConfigError};

/// The header `typ` of each token kind, by [`Kind::index`](super::Kind).
pub(super) const KIND_TYPS: [&str; 3] = [
    super::ACCESS_TOKEN_TYP,
    super::VERIFY_TOKEN_TYP,
    super::MFA_TOKEN_TYP,
];

/// The longest MAC (HS512); Ed25519 and ES256 signatures have the same length.
const MAX_MAC_LEN: usize = 64;

/// What signs and checks with one key.
pub(super) enum Crypto {
    Mac(MacKey),
    #[cfg(feature = "asymmetric")]
    Asymmetric(AsymmetricKey),
}

impl Crypto {
    /// Appends the base64url signature of `input` to `out`.
    fn sign_into(&self, input: &[u8], out: &mut String) -> Result<(), AuthError> {
        match self {
            Self::Mac(mac) => {
                mac.sign_into(input, out);
                Ok(())
            }
            #[cfg(feature = "asymmetric")]
            Self::Asymmetric(key) => key
                .sign_into(input, out)
                .map_err(|e| AuthError::Unavailable(Box::new(e))),
        }
    }

    /// Whether `encoded` (base64url) is this key's signature of `input`. A MAC is decoded
    /// on the stack and compared in constant time.
    #[inline]
    pub(super) fn verify(&self, input: &[u8], encoded: &str) -> bool {
        match self {
            Self::Mac(mac) => {
                let mut tag = [0u8; MAX_MAC_LEN + 3];
                match URL_SAFE_NO_PAD.decode_slice(encoded, &mut tag) {
                    Ok(len) => mac.verify(input, &tag[..len]),
                    Err(_) => false,
                }
            }
            #[cfg(feature = "asymmetric")]
            Self::Asymmetric(key) => {
                // At most the key's signature length: a longer text is refused undecoded.
                if encoded.len() > key.signature_len().div_ceil(3) * 4 {
                    return false;
                }
                match URL_SAFE_NO_PAD.decode(encoded) {
                    Ok(signature) => key.verify(input, &signature),
                    Err(_) => false,
                }
            }
        }
    }

    /// Length of the base64url signature, for buffer sizes.
    fn encoded_len(&self) -> usize {
        let bytes = match self {
            Self::Mac(mac) => mac.tag_len(),
            #[cfg(feature = "asymmetric")]
            Self::Asymmetric(key) => key.signature_len(),
        };
        (bytes * 4).div_ceil(3)
    }
}

/// One key of the set.
pub(super) struct SetKey {
    pub(super) kid: String,
    /// Its one algorithm: the configured one for a secret, its type's for a PEM key.
    pub(super) algorithm: JwtAlgorithm,
    pub(super) crypto: Crypto,
    /// The encoded headers we issue with this key, by kind: a token whose header is
    /// exactly one of these needs no header parsing.
    pub(super) headers: [String; 3],
}

impl SetKey {
    /// The set's entry for `key`; `signs` says whether it is the signing key (a previous
    /// key keeps only its public half: it never signs).
    fn new(key: &JwtKey, configured: JwtAlgorithm, signs: bool) -> Result<Self, ConfigError> {
        let (algorithm, crypto) = match key.material() {
            Material::Secret(secret) => (
                configured,
                Crypto::Mac(MacKey::new(configured, secret.expose_secret().as_bytes())?),
            ),
            #[cfg(feature = "asymmetric")]
            Material::Asymmetric(asymmetric) => (
                asymmetric.algorithm(),
                Crypto::Asymmetric(if signs {
                    asymmetric.clone()
                } else {
                    asymmetric.public_only()
                }),
            ),
        };
        #[cfg(not(feature = "asymmetric"))]
        let _ = signs;
        let kid = key.kid().to_owned();
        let headers = KIND_TYPS.map(|typ| {
            encoded_header(&serde_json::json!({ "alg": algorithm.name(), "kid": kid, "typ": typ }))
        });
        Ok(Self {
            kid,
            algorithm,
            crypto,
            headers,
        })
    }

    /// Signs `input`: the third part of a token.
    pub(super) fn sign(&self, input: &[u8]) -> Result<String, AuthError> {
        let mut tag = String::with_capacity(self.crypto.encoded_len());
        self.crypto.sign_into(input, &mut tag)?;
        Ok(tag)
    }
}

fn encoded_header(header: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// The signing key first, then the previous keys; one `kid` each.
pub(super) struct KeySet {
    keys: Vec<SetKey>,
    /// The headers of tokens from before every token had a `kid`: checked against the
    /// signing key, as the contract says for a token without `kid`.
    kidless_headers: [String; 3],
    jwks: String,
}

impl KeySet {
    /// The set a validated configuration describes: the JWT secret signs under an HMAC
    /// algorithm, the private key under an asymmetric one; previous keys only verify.
    pub(super) fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let algorithm = config.jwt_algorithm();
        config.validate_jwt_keys()?;
        let signing = if algorithm.is_hmac() {
            JwtKey::secret(config.jwt_secret().expose_secret())
        } else {
            config.jwt_signing_key().cloned().ok_or_else(|| {
                ConfigError::Invalid(format!("{} needs a signing key", algorithm.name()))
            })?
        };
        let mut keys = vec![SetKey::new(&signing, algorithm, true)?];
        for key in config.jwt_previous_keys() {
            // The same key twice (or the signing key again) adds nothing.
            if keys.iter().any(|k| k.kid == key.kid()) {
                continue;
            }
            keys.push(SetKey::new(key, algorithm, false)?);
        }
        let kidless_headers = KIND_TYPS
            .map(|typ| encoded_header(&serde_json::json!({ "alg": algorithm.name(), "typ": typ })));
        let jwks = jwks_json(config);
        Ok(Self {
            keys,
            kidless_headers,
            jwks,
        })
    }

    /// The key that signs.
    #[inline]
    pub(super) fn signing(&self) -> &SetKey {
        &self.keys[0]
    }

    /// The key whose issued header `header` is, byte for byte (the fast path).
    #[inline]
    pub(super) fn by_header(&self, header: &str, kind: usize) -> Option<&SetKey> {
        // The signing key first: it issued nearly every token presented.
        let signing = self.signing();
        if signing.headers[kind] == header {
            return Some(signing);
        }
        self.keys[1..]
            .iter()
            .find(|key| key.headers[kind] == header)
            .or_else(|| (self.kidless_headers[kind] == header).then_some(signing))
    }

    /// The key a `kid` names; without one, the signing key.
    pub(super) fn by_kid(&self, kid: Option<&str>) -> Option<&SetKey> {
        match kid {
            None => Some(self.signing()),
            Some(kid) => self.keys.iter().find(|key| key.kid == kid),
        }
    }

    /// The kids of the set, signing key first.
    pub(super) fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.kid.as_str())
    }

    /// The JWK Set (RFC 7517 §5) of the public keys, as JSON text.
    pub(super) fn jwks(&self) -> &str {
        &self.jwks
    }
}

/// `{"keys": [...]}` with the public JWK of every asymmetric key of the set, the signing
/// key first; a secret is never published.
fn jwks_json(config: &AuthConfig) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut keys = Vec::new();
    let signing = config
        .jwt_signing_key()
        .filter(|_| !config.jwt_algorithm().is_hmac());
    for key in signing.into_iter().chain(config.jwt_previous_keys()) {
        if seen.contains(&key.kid()) {
            continue;
        }
        seen.push(key.kid());
        if let Some(jwk) = key.to_public_jwk() {
            keys.push(jwk);
        }
    }
    serde_json::json!({ "keys": keys }).to_string()
}

#[cfg(test)]
#[cfg(feature = "asymmetric")]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, KeyInit as _};
    use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use sha2::Sha256;
    use time::{Duration, OffsetDateTime};
    use uuid::Uuid;

    use super::super::tests::user;
    use crate::config::{AuthConfig, JwtAlgorithm};
    use crate::error::AuthError;
    use crate::jwt::{ACCESS_TOKEN_TYP, Claims, JwtKey, JwtKeys, VERIFY_TOKEN_TYP};
    use crate::user::UserId;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn pem(name: &str) -> &'static str {
        match name {
            "ed25519" => include_str!("../../testdata/keys/ed25519.pem"),
            "ed25519-2" => include_str!("../../testdata/keys/ed25519-2.pem"),
            "ed25519.pub" => include_str!("../../testdata/keys/ed25519.pub.pem"),
            "p256" => include_str!("../../testdata/keys/p256.pem"),
            "p256.pub" => include_str!("../../testdata/keys/p256.pub.pem"),
            "rsa2048" => include_str!("../../testdata/keys/rsa2048.pem"),
            "rsa2048.pub" => include_str!("../../testdata/keys/rsa2048.pub.pem"),
            other => panic!("no test key {other}"),
        }
    }

    fn key(name: &str) -> JwtKey {
        JwtKey::from_pem(pem(name)).unwrap()
    }

    /// The three asymmetric algorithms with their private key's name and jsonwebtoken's
    /// name for them.
    const ASYMMETRIC: [(JwtAlgorithm, &str, Algorithm); 3] = [
        (JwtAlgorithm::EdDsa, "ed25519", Algorithm::EdDSA),
        (JwtAlgorithm::Es256, "p256", Algorithm::ES256),
        (JwtAlgorithm::Rs256, "rsa2048", Algorithm::RS256),
    ];

    fn signing(name: &str) -> AuthConfig {
        AuthConfig::new(SECRET).with_jwt_signing_key(key(name))
    }

    fn keys(config: &AuthConfig) -> JwtKeys {
        JwtKeys::new(config).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn access(keys: &JwtKeys) -> String {
        keys.issue_access(&user(), Some(Uuid::now_v7()), now(), Duration::minutes(5))
            .unwrap()
    }

    fn header_of(token: &str) -> serde_json::Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    fn claims_json() -> String {
        let t = now().unix_timestamp();
        serde_json::json!({
            "sub": UserId::new(), "iat": t, "exp": t + 60, "jti": Uuid::now_v7(),
            "iss": "myauth", "aud": "myauth", "token_use": "access", "roles": ["admin"]
        })
        .to_string()
    }

    /// `header.claims` MAC'd by HS256 with `key`, both parts given as JSON text.
    fn hs256(header: &str, claims: &str, key: &[u8]) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        hmac::Mac::update(&mut mac, signed.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(mac).into_bytes());
        format!("{signed}.{tag}")
    }

    fn refused(keys: &JwtKeys, token: &str) -> bool {
        matches!(
            keys.verify_access(token, now()),
            Err(AuthError::InvalidToken)
        )
    }

    fn validation(algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&["myauth"]);
        validation.set_issuer(&["myauth"]);
        validation
    }

    #[test]
    fn each_algorithm_signs_with_its_kid_and_jsonwebtoken_verifies_from_our_jwks() {
        for (algorithm, name, theirs) in ASYMMETRIC {
            let config = signing(name);
            assert_eq!(config.jwt_algorithm(), algorithm);
            let keys = keys(&config);
            let token = access(&keys);
            let header = header_of(&token);
            let kid = key(name).kid().to_owned();
            assert_eq!(header["alg"], algorithm.name());
            assert_eq!(header["typ"], ACCESS_TOKEN_TYP);
            assert_eq!(header["kid"], kid.as_str());
            let ours = keys.verify_access(&token, now()).unwrap();

            // An independent verifier that knows nothing but our JWKS.
            let set: JwkSet = serde_json::from_str(keys.jwks_json()).unwrap();
            assert_eq!(set.keys.len(), 1, "{name}");
            let jwk = set.find(&kid).unwrap();
            assert_eq!(
                jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
                kid,
                "{name}"
            );
            let decoded = jsonwebtoken::decode::<Claims>(
                &token,
                &DecodingKey::from_jwk(jwk).unwrap(),
                &validation(theirs),
            )
            .unwrap();
            assert_eq!(decoded.claims, ours, "{name}");
            assert_eq!(decoded.header.kid.as_deref(), Some(kid.as_str()));
        }
    }

    #[test]
    fn tokens_jsonwebtoken_signs_with_our_private_key_pass_with_our_kid_or_none() {
        for (name, algorithm) in [("ed25519", Algorithm::EdDSA), ("rsa2048", Algorithm::RS256)] {
            let keys = keys(&signing(name));
            let encoding = match algorithm {
                Algorithm::EdDSA => EncodingKey::from_ed_pem(pem(name).as_bytes()),
                _ => EncodingKey::from_rsa_pem(pem(name).as_bytes()),
            }
            .unwrap();
            let mut header = Header::new(algorithm);
            header.typ = Some(ACCESS_TOKEN_TYP.into());
            let claims: serde_json::Value = serde_json::from_str(&claims_json()).unwrap();
            for kid in [Some(key(name).kid().to_owned()), None] {
                header.kid = kid.clone();
                let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
                assert!(keys.verify_access(&token, now()).is_ok(), "{name} {kid:?}");
            }
            header.kid = Some("not-ours".into());
            let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
            assert!(refused(&keys, &token), "{name}: unknown kid accepted");
        }
    }

    #[test]
    fn alg_must_be_the_keys_own_and_none_is_impossible() {
        for (algorithm, name, _) in ASYMMETRIC {
            let keys = keys(&signing(name));
            let token = access(&keys);
            let kid = key(name).kid().to_owned();
            let (_, rest) = token.split_once('.').unwrap();
            for alg in [
                "HS256", "EdDSA", "ES256", "RS256", "none", "NONE", "eddsa", "PS256",
            ] {
                if alg == algorithm.name() {
                    continue;
                }
                // The real signature under a header naming another algorithm.
                for header in [
                    serde_json::json!({"alg": alg, "kid": kid, "typ": "at+jwt"}),
                    serde_json::json!({"alg": alg, "typ": "at+jwt"}),
                ] {
                    let relabelled =
                        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
                    assert!(refused(&keys, &relabelled), "{name} accepted alg {alg}");
                }
            }
            // alg none with an empty signature.
            let (signed, _) = token.rsplit_once('.').unwrap();
            let (_, payload) = signed.split_once('.').unwrap();
            let none = format!(
                "{}.{payload}.",
                URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{kid}","typ":"at+jwt"}}"#))
            );
            assert!(refused(&keys, &none), "{name} accepted none");
        }
    }

    #[test]
    fn an_hmac_token_keyed_with_a_public_key_is_refused() {
        // The classic RS256/HS256 confusion (CVE-2015-9235): the attacker MACs a token
        // with the public key's bytes, which everyone has, and names HS256.
        for (_, name, _) in ASYMMETRIC {
            let public_name = format!("{name}.pub");
            let Some(public_pem) = ["ed25519.pub", "p256.pub", "rsa2048.pub"]
                .into_iter()
                .find(|n| *n == public_name)
                .map(pem)
            else {
                continue;
            };
            let kid = key(name).kid().to_owned();
            let jwk = key(name).to_public_jwk().unwrap().to_string();
            // On the asymmetric server itself, and on an HMAC server that keeps the public
            // key as a previous key.
            let servers = [
                keys(&signing(name)),
                keys(&AuthConfig::new(SECRET).with_jwt_previous_keys([key(&public_name)])),
            ];
            for keys in &servers {
                for mac_key in [
                    public_pem.as_bytes(),
                    public_pem.trim().as_bytes(),
                    jwk.as_bytes(),
                ] {
                    for header in [
                        format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"at+jwt"}}"#),
                        r#"{"alg":"HS256","typ":"at+jwt"}"#.to_owned(),
                    ] {
                        let forged = hs256(&header, &claims_json(), mac_key);
                        assert!(refused(keys, &forged), "{name}: {header} accepted");
                    }
                }
            }
        }
    }

    #[test]
    fn keys_named_by_the_token_itself_are_never_used() {
        // The attacker signs with a key of their own and offers it in the header (ASVS 5.0
        // 9.1.3): as `jwk`, behind a `jku` or `x5u` URL, with their kid, ours, or none.
        let keys = keys(&signing("ed25519"));
        let attacker = key("ed25519-2");
        let encoding = EncodingKey::from_ed_pem(pem("ed25519-2").as_bytes()).unwrap();
        let claims: serde_json::Value = serde_json::from_str(&claims_json()).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(attacker.to_public_jwk().unwrap()).unwrap();
        for kid in [Some(attacker.kid()), Some(key("ed25519").kid()), None] {
            let mut header = Header::new(Algorithm::EdDSA);
            header.typ = Some(ACCESS_TOKEN_TYP.into());
            header.kid = kid.map(str::to_owned);
            header.jwk = Some(jwk.clone());
            header.jku = Some("https://attacker.example/jwks.json".into());
            header.x5u = Some("https://attacker.example/cert.pem".into());
            let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
            assert!(refused(&keys, &token), "kid {kid:?}");
        }
    }

    #[test]
    fn on_an_asymmetric_server_hs256_is_refused_even_with_the_jwt_secret() {
        let keys = keys(&signing("ed25519"));
        let secret_kid = JwtKey::secret(SECRET).kid().to_owned();
        for header in [
            format!(r#"{{"alg":"HS256","kid":"{secret_kid}","typ":"at+jwt"}}"#),
            r#"{"alg":"HS256","typ":"at+jwt"}"#.to_owned(),
        ] {
            let token = hs256(&header, &claims_json(), SECRET.as_bytes());
            assert!(refused(&keys, &token), "{header}");
        }
        // Nor can a secret be kept as a previous key there: it could verify nothing.
        let config = signing("ed25519").with_jwt_previous_keys([JwtKey::secret(SECRET)]);
        assert!(config.validate().is_err());
        assert!(JwtKeys::new(&config).is_err());
    }

    #[test]
    fn a_previous_secret_verifies_only_under_the_configured_hmac_algorithm() {
        let old = "a previous HS384 secret, forty-eight bytes long!!";
        let hs384 = |secret: &str| AuthConfig::new(secret).with_jwt_algorithm(JwtAlgorithm::Hs384);
        let before = keys(&hs384(old));
        let token = access(&before);
        let after = keys(&hs384(&"n".repeat(48)).with_jwt_previous_keys([JwtKey::secret(old)]));
        assert!(after.verify_access(&token, now()).is_ok());
        // The same secret under HS256, with its kid: refused by the HS384 server.
        let kid = JwtKey::secret(old).kid().to_owned();
        let hs256_token = hs256(
            &format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"at+jwt"}}"#),
            &claims_json(),
            old.as_bytes(),
        );
        assert!(refused(&after, &hs256_token));
        // A previous secret shorter than the algorithm's hash is a configuration error.
        let short = hs384(&"n".repeat(48)).with_jwt_previous_keys([JwtKey::secret(SECRET)]);
        assert!(short.validate().is_err());
    }

    #[test]
    fn an_unknown_kid_is_refused_and_a_token_without_kid_meets_the_signing_key() {
        let old = keys(&signing("ed25519"));
        let current = keys(&signing("ed25519-2"));
        // Signed by a key the server does not have: refused with its kid …
        let foreign = access(&old);
        assert!(refused(&current, &foreign));
        // … and without it (checked against the signing key, which did not sign it).
        let encoding = EncodingKey::from_ed_pem(pem("ed25519").as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        let claims: serde_json::Value = serde_json::from_str(&claims_json()).unwrap();
        let kidless = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
        assert!(refused(&current, &kidless));
        assert!(old.verify_access(&kidless, now()).is_ok());
        // Even with the old key kept as a previous key, a kid-less token is checked
        // against the signing key only.
        let rotated = keys(&signing("ed25519-2").with_jwt_previous_keys([key("ed25519")]));
        assert!(rotated.verify_access(&foreign, now()).is_ok());
        assert!(refused(&rotated, &kidless));
        // Tokens from before kids existed (HMAC, exactly the header we used to issue).
        let hmac = keys(&AuthConfig::new(SECRET));
        let legacy = hs256(
            r#"{"alg":"HS256","typ":"at+jwt"}"#,
            &claims_json(),
            SECRET.as_bytes(),
        );
        assert!(hmac.verify_access(&legacy, now()).is_ok());
    }

    #[test]
    fn previous_keys_verify_but_never_sign_and_the_jwks_lists_them_after_the_signing_key() {
        let before = keys(&signing("ed25519"));
        let old_token = access(&before);
        let old_verify = before
            .issue_verification(&user(), now(), Duration::hours(24))
            .unwrap();
        for previous in [key("ed25519"), key("ed25519.pub")] {
            let config = signing("p256").with_jwt_previous_keys([previous, key("rsa2048.pub")]);
            let after = keys(&config);
            // Old tokens of both kinds keep working …
            assert!(after.verify_access(&old_token, now()).is_ok());
            assert_eq!(
                after.verify_verification(&old_verify, now()).unwrap().email,
                "alice@example.com"
            );
            // … still never one kind as the other …
            assert!(refused(&after, &old_verify));
            // … new tokens of both kinds carry the new kid.
            let new_kid = key("p256").kid().to_owned();
            assert_eq!(header_of(&access(&after))["kid"], new_kid.as_str());
            let verify = after
                .issue_verification(&user(), now(), Duration::hours(24))
                .unwrap();
            assert_eq!(header_of(&verify)["kid"], new_kid.as_str());
            assert_eq!(header_of(&verify)["typ"], VERIFY_TOKEN_TYP);
            let set: JwkSet = serde_json::from_str(after.jwks_json()).unwrap();
            let kids: Vec<_> = set
                .keys
                .iter()
                .map(|k| k.common.key_id.clone().unwrap())
                .collect();
            assert_eq!(
                kids,
                [
                    new_kid,
                    key("ed25519").kid().to_owned(),
                    key("rsa2048").kid().to_owned()
                ]
            );
        }
    }

    #[test]
    fn the_jwks_has_public_members_only() {
        let config = signing("rsa2048").with_jwt_previous_keys([key("ed25519"), key("p256")]);
        let jwks: serde_json::Value = serde_json::from_str(keys(&config).jwks_json()).unwrap();
        let allowed = ["kty", "crv", "x", "y", "n", "e", "use", "alg", "kid"];
        let published = jwks["keys"].as_array().unwrap();
        assert_eq!(published.len(), 3);
        for jwk in published {
            for member in jwk.as_object().unwrap().keys() {
                assert!(
                    allowed.contains(&member.as_str()),
                    "{member} published: {jwk}"
                );
            }
            assert_eq!(jwk["use"], "sig");
        }
        // Under HMAC: an empty set, and the secret is nowhere.
        let hmac =
            keys(&AuthConfig::new(SECRET).with_jwt_previous_keys([JwtKey::secret("p".repeat(32))]));
        assert_eq!(hmac.jwks_json(), r#"{"keys":[]}"#);
        // No private key material in the JWKS or in any Debug output.
        let text = keys(&config).jwks_json().to_owned();
        for (name, private) in private_parts() {
            let encoded = URL_SAFE_NO_PAD.encode(&private);
            let debug = format!("{:?} {:?} {config:?}", key(name), keys(&signing(name)));
            for haystack in [&text, &debug] {
                assert!(
                    !haystack.contains(&encoded[..16]),
                    "{name} leaked: {haystack}"
                );
            }
        }
    }

    /// The private part of each test key, as the crates decode it: Ed25519's seed, P-256's
    /// scalar, RSA's private exponent.
    fn private_parts() -> [(&'static str, Vec<u8>); 3] {
        use pkcs8::DecodePrivateKey as _;
        use rsa::traits::PrivateKeyParts as _;
        [
            (
                "ed25519",
                ed25519_dalek::SigningKey::from_pkcs8_pem(pem("ed25519"))
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            ),
            (
                "p256",
                p256::ecdsa::SigningKey::from_pkcs8_pem(pem("p256"))
                    .unwrap()
                    .to_bytes()
                    .to_vec(),
            ),
            (
                "rsa2048",
                rsa::PrivateKey::from_pkcs8_pem(pem("rsa2048"))
                    .unwrap()
                    .d()
                    .to_be_bytes()
                    .to_vec(),
            ),
        ]
    }

    #[test]
    fn an_es256_signature_has_one_valid_form() {
        let keys = keys(&signing("p256"));
        let token = access(&keys);
        let (signed, tag) = token.rsplit_once('.').unwrap();
        let signature =
            p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(tag).unwrap()).unwrap();
        assert_eq!(
            signature.normalize_s(),
            signature,
            "we issue low-S signatures"
        );
        // (r, n - s) is also a valid ECDSA signature of the same text; we refuse it.
        let (r, s) = signature.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        let malleated = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(high.to_bytes()));
        assert!(refused(&keys, &malleated));
        assert!(keys.verify_access(&token, now()).is_ok());
    }

    #[test]
    fn no_single_character_change_of_an_asymmetric_token_passes() {
        for (_, name, _) in ASYMMETRIC {
            let keys = keys(&signing(name));
            let token = access(&keys);
            let bytes = token.as_bytes();
            // Every position of the header and claims, and the last ten of the signature.
            let positions = (0..token.rfind('.').unwrap()).chain(bytes.len() - 10..bytes.len());
            for position in positions {
                for replacement in [b'A', b'g', b'_', b'.'] {
                    if bytes[position] == replacement {
                        continue;
                    }
                    let mut changed = bytes.to_vec();
                    changed[position] = replacement;
                    let changed = String::from_utf8(changed).unwrap();
                    assert!(
                        keys.verify_access(&changed, now()).is_err(),
                        "{name} {position}"
                    );
                }
            }
        }
    }
}
