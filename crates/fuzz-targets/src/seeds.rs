//! The seed inputs of every target, taken from the test suites (the values and hostile
//! cases the unit and HTTP tests use) plus authentic tokens of every kind and key. The
//! binary `write_seeds` (`cargo run -p myauth-fuzz-targets --bin write_seeds`) writes them to
//! `fuzz/corpus/<target>/seed-*`.

use auth_core::fuzzing::TokenVerifier;

use crate::NOW_UNIX;
use crate::jwt::verifiers;

/// One seed: target, file name (without the `seed-` prefix) and bytes.
pub type Seed = (&'static str, String, Vec<u8>);

fn add(out: &mut Vec<Seed>, target: &'static str, values: &[&[u8]]) {
    for (i, value) in values.iter().enumerate() {
        out.push((target, format!("{i:02}"), value.to_vec()));
    }
}

fn access_claims(exp_offset: i64) -> String {
    serde_json::json!({
        "sub": "0190a0a0-0000-7000-8000-000000000001", "roles": ["admin"],
        "iat": NOW_UNIX - 10, "exp": NOW_UNIX + exp_offset,
        "jti": "0190a0a0-0000-7000-8000-000000000002", "iss": "myauth", "aud": "myauth",
        "token_use": "access", "sid": "0190a0a0-0000-7000-8000-000000000003", "ver": 0
    })
    .to_string()
}

fn verification_claims() -> String {
    serde_json::json!({
        "sub": "0190a0a0-0000-7000-8000-000000000001", "email": "alice@example.com",
        "iat": NOW_UNIX - 10, "exp": NOW_UNIX + 3600,
        "jti": "0190a0a0-0000-7000-8000-000000000004", "iss": "myauth",
        "aud": "myauth:verify-email", "token_use": "verify_email"
    })
    .to_string()
}

fn mfa_claims() -> String {
    serde_json::json!({
        "sub": "0190a0a0-0000-7000-8000-000000000001", "ver": 0,
        "iat": NOW_UNIX - 10, "exp": NOW_UNIX + 300, "nbf": NOW_UNIX - 10,
        "jti": "0190a0a0-0000-7000-8000-000000000005", "iss": "myauth",
        "aud": "myauth:mfa", "token_use": "mfa"
    })
    .to_string()
}

fn signed(verifier: &TokenVerifier, kind: usize, claims: &str) -> Vec<u8> {
    match verifier.sign(verifier.issued_header(kind), claims.as_bytes()) {
        Ok(token) => token.into_bytes(),
        Err(error) => panic!("{error:?}"),
    }
}

/// Every seed of every target.
pub fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let claims = [access_claims(1800), verification_claims(), mfa_claims()];
    // jwt_token: authentic tokens of each kind under each key, and the hostile shapes of
    // the jwt tests (alg none, a fifth part, empty parts).
    for (v, verifier) in verifiers().iter().enumerate() {
        for (kind, claims) in claims.iter().enumerate() {
            out.push((
                "jwt_token",
                format!("key{v}-kind{kind}"),
                signed(verifier, kind, claims),
            ));
        }
    }
    let none_token = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.{}.",
        crate::jwt::base64url(access_claims(1800).as_bytes())
    );
    add(
        &mut out,
        "jwt_token",
        &[
            none_token.as_bytes(),
            b"a.b.c",
            b"..",
            b"a.b.c.d.e",
            b"eyJhbGciOiJIUzI1NiJ9.e30.",
            b"eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsImNyaXQiOm51bGx9.e30.AAAA",
        ],
    );
    // jwt_claims: mode byte, then claims (issued header) or `header \n claims`.
    for (kind, claims) in claims.iter().enumerate() {
        for key in [0u8, 8] {
            let mut input = vec![key | kind as u8];
            input.extend_from_slice(claims.as_bytes());
            out.push(("jwt_claims", format!("key{key}-kind{kind}"), input));
        }
    }
    let headers: [&[u8]; 6] = [
        br#"{"alg":"HS256","typ":"at+jwt"}"#,
        br#"{"typ":"at+jwt","alg":"HS256"}"#,
        br#"{"alg":"HS256","typ":"AT+JWT","crit":["exp"]}"#,
        br#"{"alg":"RS256","typ":"at+jwt"}"#,
        br#"{"alg":"HS256","typ":"at+jwt","kid":"nope"}"#,
        br#"["HS256","at+jwt"]"#,
    ];
    for (i, header) in headers.iter().enumerate() {
        let mut input = vec![4u8];
        input.extend_from_slice(header);
        input.push(b'\n');
        input.extend_from_slice(access_claims(1800).as_bytes());
        out.push(("jwt_claims", format!("header{i}"), input));
    }
    let extremes = [
        access_claims(-3600),
        access_claims(i64::MAX - NOW_UNIX),
        r#"{"sub":"x","iat":1e400,"exp":-9223372036854775808}"#.to_owned(),
        r#"{"sub":"0190a0a0-0000-7000-8000-000000000001","iat":0,"exp":9223372036854775807,"jti":"0190a0a0-0000-7000-8000-000000000002","iss":"myauth","aud":"myauth","token_use":"access","nbf":9223372036854775807}"#.to_owned(),
    ];
    for (i, claims) in extremes.iter().enumerate() {
        let mut input = vec![0u8];
        input.extend_from_slice(claims.as_bytes());
        out.push(("jwt_claims", format!("extreme{i}"), input));
    }
    add(
        &mut out,
        "opaque_token",
        &[
            b"q0Xv1w2Jm8zE4bH6yA5uT3rN9kL7cD0fG2hJ4kL6mN8",
            b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.x",
            b"bearer   token-with-spaces  ",
            b"Basic dXNlcjpwYXNz",
            b"0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef",
            b"refresh",
            b"password_reset",
            &[0u8; 32],
            &[b'a'; 257],
        ],
    );
    add(
        &mut out,
        "body_json",
        &[
            br#"{"email":"a@example.com","username":"a","password":"p","roles":["admin"],"is_verified":true}"#,
            br#"["a@b.co", "alice", "Passw0rd!"]"#,
            br#"{}"#,
            br#"{"roles": ["a", 1]}"#,
            br#"{"email":"alice@example.com","password":"Str0ng!pass"}"#,
            br#"{"refresh_token":"abc","grant_type":"refresh_token"}"#,
            br#"{"token":"t","new_password":"N3w!password"}"#,
            br#"{"current_password":"a","new_password":"b"}"#,
            br#"{"mfa_token":"m","code":"123456"}"#,
            br#"{"password":"p","code":"12345678"}"#,
            br#"{"username":"bob","user_settings":{"theme":null,"ui":{"lang":"fr","list":[1,2.5,true]}}}"#,
            br#"{"user_settings":{"$where":1,"a.b":2,"nul\u0000":"x","n":18446744073709551616}}"#,
            b"{\"email\":",
        ],
    );
    add(
        &mut out,
        "body_form",
        &[
            b"grant_type=password&username=alice%40example.com&password=s3cret",
            b"grant_type=refresh_token&refresh_token=abc",
            b"grant_type=password&refresh_token=x",
            b"limit=5&offset=10&x=y",
            b"limit=-1",
            b"application/json\n{\"email\":\"a@b.co\",\"username\":\"a\",\"password\":\"p\"}",
            b"application/x-www-form-urlencoded; charset=UTF-8\nusername=a&password=b",
            b"text/plain\nx",
            b"token=abc&new_password=N3w%21password",
            b"%zz=%%&&==",
        ],
    );
    add(
        &mut out,
        "normalize",
        &[
            "  Alice@Example.COM ".as_bytes(),
            "ａｌｉｃｅ@ｅｘａｍｐｌｅ.com".as_bytes(),
            "alice\u{200b}@example.com".as_bytes(),
            "ali\u{00ad}ce@example.com".as_bytes(),
            b"a..b@example.com",
            b"alice@-example.com",
            "ＡＬＩＣＥ".as_bytes(),
            "ali\u{202e}ce".as_bytes(),
            b" alice ",
            "Str0ng!pass\nalice\nalice@example.com".as_bytes(),
            "alicealice1!\nalice\nalice@example.com".as_bytes(),
            "\u{a8}a@example.com".as_bytes(),
            "İstanbul@example.com".as_bytes(),
        ],
    );
    add(
        &mut out,
        "forwarded_for",
        &[
            b"10.0.0.0/8\n10.0.0.2\n198.51.100.9",
            b"10.0.0.0/8\n10.0.0.2\n6.6.6.6, 198.51.100.9\n10.1.1.1",
            b"\n192.0.2.5\n1.2.3.4",
            b" 10.0.0.0/8 ,::1,\n::1\n[2001:db8:1:2::1]:443, unknown",
            b"10.0.0.0/33\n127.0.0.1\n198.51.100.9:4711",
            b"::ffff:127.0.0.1\n::ffff:127.0.0.1\n::ffff:198.51.100.9",
            b"0.0.0.0/0, ::/0\n203.0.113.7\n1.2.3.4, 10.9.9.9\n2001:db8:1:2:ffff:ffff:ffff:ffff",
        ],
    );
    add(
        &mut out,
        "stored_hash",
        &[
            b"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$Q4tqxbbGhA1rqCk6hvpRr8LmdfsL4gP2Ew9Ev7ANTa8\npassword",
            b"$argon2id$v=19$m=4194304,t=10,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg\nx",
            b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg\nx",
            b"$argon2i$v=16$m=32,t=2,p=1$c2FsdHNhbHQ$aGFzaA\npw",
            b"$argon2d$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\npw",
            b"$argon2id$v=19$secret\n",
            b"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\nabc",
            b"pbkdf2_sha256$600000$salt$hash\npw",
            b"$argon2id$v=19$m=64,t=1,p=17$c2FsdHNhbHRzYWx0$aGFzaA\nx",
        ],
    );
    // Real hashes of ours, with the password that matches them and with today's
    // parameters (a rehash) or cheaper ones.
    for (i, (memory_kib, iterations)) in [(64, 1), (32, 4), (128, 2)].into_iter().enumerate() {
        let hasher = auth_core::PasswordHasher::new(&auth_core::HashingConfig {
            memory_kib,
            iterations,
            parallelism: 1,
            ..auth_core::HashingConfig::default()
        });
        let password = secrecy::SecretString::from("correct horse");
        let hash = match hasher {
            Ok(hasher) => crate::block_on(hasher.hash(&password)),
            Err(error) => panic!("{error}"),
        };
        match hash {
            Ok(hash) => out.push((
                "stored_hash",
                format!("ours{i}"),
                format!("{}\ncorrect horse", hash.as_str()).into_bytes(),
            )),
            Err(error) => panic!("{error}"),
        }
    }
    add(
        &mut out,
        "smtp_template",
        &[
            b"\x0f\x00Confirm your email address for {app_name}\xffplease confirm {email}: {link} ({expires_in})\xff<p><a href=\"{link}\">Confirm</a> {email}</p>\xffalice@example.com\xfftok\xffMyAuth",
            b"\x00\x00Subject\r\nBcc: x@evil.test {token}\xff{token}{{token}}\xff{token}\xffbob@example.com\xff<script>\"'&\xffApp\nX-Header: y",
            b"\xa0\x05{unknown} {link\xff{\xff}{\xffnot an address\xff\xff",
            b"\xff\xffReset your {app_name} password\xff\xff<style>p{color:red}</style>{link}\xffa@b.co\xff{email}\xff{app_name}",
        ],
    );
    out
}
