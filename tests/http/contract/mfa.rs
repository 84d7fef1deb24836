//! Multi-factor authentication (TOTP): enrolment, the two-step login, recovery codes, the
//! admin reset. Codes are computed from the secret at the server's (manual) clock, the way
//! an authenticator app computes them.

use auth_core::{Clock as _, totp_code};

use super::*;

/// The codes an enrolment produced.
pub(crate) struct Enrolled {
    pub(crate) access: String,
    pub(crate) secret: String,
    pub(crate) recovery: Vec<String>,
}

pub(crate) fn code_now(s: &TestServer, secret: &str) -> String {
    totp_code(secret, s.clock.now()).expect("a code")
}

/// A code that is not the current one (nor its neighbours').
pub(crate) fn wrong_code(s: &TestServer, secret: &str) -> String {
    let now = s.clock.now();
    let taken: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| totp_code(secret, now + Duration::seconds(*d)).unwrap())
        .collect();
    (0..4)
        .map(|i| format!("{i}{i}{i}{i}{i}{i}"))
        .find(|c| !taken.contains(c))
        .unwrap()
}

async fn post_bearer(s: &TestServer, path: &str, access: &str, body: Value) -> reqwest::Response {
    s.post(path)
        .header("authorization", bearer(access))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn enrol(s: &TestServer, email: &str) -> Enrolled {
    let (access, _) = s.signed_in(email).await;
    let setup = s
        .post("/auth/mfa/totp/setup")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), StatusCode::OK);
    assert_eq!(setup.headers()["cache-control"], "no-store");
    let setup: Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    let confirmed = post_bearer(
        s,
        "/auth/mfa/totp/confirm",
        &access,
        json!({"code": code_now(s, &secret)}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.unwrap();
    let recovery: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        recovery.iter().collect::<BTreeSet<_>>().len(),
        10,
        "distinct codes"
    );
    // The confirming step is used up; the next login needs the next code.
    s.clock.advance(Duration::seconds(30));
    Enrolled {
        access,
        secret,
        recovery,
    }
}

/// The problem a right password answers with, for an account with TOTP.
pub(crate) async fn mfa_required(s: &TestServer, email: &str) -> String {
    let response = s
        .post_json("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    let body = assert_problem(response, 401, "mfa_required").await;
    assert_eq!(body["error"], "mfa_required", "{body}");
    body["mfa_token"].as_str().expect("mfa_token").to_owned()
}

pub(crate) async fn login_mfa(s: &TestServer, token: &str, code: &str) -> reqwest::Response {
    s.post_json("/auth/login/mfa", json!({"mfa_token": token, "code": code}))
        .await
}

pub(crate) async fn totp_enrolment_makes_login_two_steps_and_codes_work_once(s: TestServer) {
    let e = enrol(&s, "mfa@example.com").await;
    let me: Value = s
        .get("/auth/me")
        .header("authorization", bearer(&e.access))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["mfa_enabled"], true);
    let token = mfa_required(&s, "mfa@example.com").await;
    // The OAuth2 password grant gets the same answer, with an RFC 6749-style `error`.
    let form = s
        .post("/auth/login")
        .form(&[
            ("grant_type", "password"),
            ("username", "mfa@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let form = assert_problem(form, 401, "mfa_required").await;
    assert_eq!(form["error"], "mfa_required");
    let wrong = login_mfa(&s, &token, &wrong_code(&s, &e.secret)).await;
    assert_problem(wrong, 401, "invalid_mfa_code").await;
    let code = code_now(&s, &e.secret);
    let pair = login_mfa(&s, &token, &code).await;
    assert_eq!(pair.status(), StatusCode::OK);
    assert_eq!(pair.headers()["cache-control"], "no-store");
    let pair: Value = pair.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let me = s
        .get("/auth/me")
        .header("authorization", bearer(access))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // The same code again, with a fresh MFA token: a replay.
    let token = mfa_required(&s, "mfa@example.com").await;
    assert_problem(login_mfa(&s, &token, &code).await, 401, "invalid_mfa_code").await;
    // A recovery code, once, in any case.
    let recovery = e.recovery[0].to_uppercase();
    assert_eq!(
        login_mfa(&s, &token, &recovery).await.status(),
        StatusCode::OK
    );
    // The MFA token is spent.
    s.clock.advance(Duration::seconds(30));
    let again = login_mfa(&s, &token, &code_now(&s, &e.secret)).await;
    assert_problem(again, 401, "invalid_token").await;
    let token = mfa_required(&s, "mfa@example.com").await;
    assert_problem(
        login_mfa(&s, &token, &e.recovery[0]).await,
        401,
        "invalid_mfa_code",
    )
    .await;
}

pub(crate) async fn mfa_tokens_codes_and_states_are_checked_strictly(s: TestServer) {
    let (access, _) = s.signed_in("strict@example.com").await;
    // Nothing to confirm or disable yet.
    let confirm = post_bearer(
        &s,
        "/auth/mfa/totp/confirm",
        &access,
        json!({"code": "123456"}),
    )
    .await;
    assert_problem(confirm, 409, "mfa_setup_required").await;
    let disable = post_bearer(
        &s,
        "/auth/mfa/totp/disable",
        &access,
        json!({"password": PASSWORD, "code": "123456"}),
    )
    .await;
    assert_problem(disable, 409, "mfa_not_enabled").await;
    let anonymous = s.post("/auth/mfa/totp/setup").send().await.unwrap();
    assert_problem(anonymous, 401, "missing_token").await;
    let e = enrol(&s, "mfa2@example.com").await;
    let again = s
        .post("/auth/mfa/totp/setup")
        .header("authorization", bearer(&e.access))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "mfa_already_enabled").await;
    let token = mfa_required(&s, "mfa2@example.com").await;
    for code in ["12345", "1234567", "abcdef", &"1".repeat(5000)] {
        let response = login_mfa(&s, &token, code).await;
        let body = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "code", "{body}");
    }
    let missing = s
        .post_json("/auth/login/mfa", json!({"mfa_token": token}))
        .await;
    let body = assert_problem(missing, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "code");
    // Each kind of token is accepted only where it belongs.
    let access_as_mfa = login_mfa(&s, &e.access, &code_now(&s, &e.secret)).await;
    assert_problem(access_as_mfa, 401, "invalid_token").await;
    let mfa_as_access = s
        .get("/auth/me")
        .header("authorization", bearer(&token))
        .send()
        .await
        .unwrap();
    assert_problem(mfa_as_access, 401, "invalid_token").await;
    // Disabling needs the password and a current code.
    let wrong_password = post_bearer(
        &s,
        "/auth/mfa/totp/disable",
        &e.access,
        json!({"password": "Wr0ng!pass", "code": code_now(&s, &e.secret)}),
    )
    .await;
    assert_problem(wrong_password, 401, "invalid_credentials").await;
    let wrong = post_bearer(
        &s,
        "/auth/mfa/totp/disable",
        &e.access,
        json!({"password": PASSWORD, "code": wrong_code(&s, &e.secret)}),
    )
    .await;
    assert_problem(wrong, 401, "invalid_mfa_code").await;
    let codes = post_bearer(
        &s,
        "/auth/mfa/recovery-codes",
        &e.access,
        json!({"password": PASSWORD, "code": code_now(&s, &e.secret)}),
    )
    .await;
    assert_eq!(codes.status(), StatusCode::OK);
    let fresh: Value = codes.json().await.unwrap();
    assert_eq!(fresh["recovery_codes"].as_array().unwrap().len(), 10);
    let disabled = post_bearer(
        &s,
        "/auth/mfa/totp/disable",
        &e.access,
        json!({"password": PASSWORD, "code": fresh["recovery_codes"][0]}),
    )
    .await;
    assert_eq!(disabled.status(), StatusCode::NO_CONTENT);
    s.login("mfa2@example.com", PASSWORD).await;
}

pub(crate) async fn totp_secrets_are_stored_only_encrypted(s: TestServer) {
    let e = enrol(&s, "secret@example.com").await;
    let store = s.service.store();
    let user = store
        .find_user_by_email("secret@example.com")
        .await
        .unwrap()
        .unwrap();
    let record = store.find_totp(user.id).await.unwrap().expect("enrolment");
    let raw = base32_decode(&e.secret);
    assert!(
        !record
            .secret
            .windows(raw.len())
            .any(|w| w == raw.as_slice())
    );
    assert!(!String::from_utf8_lossy(&record.secret).contains(&e.secret));
    // On SQLite, not anywhere in the database files either.
    if let Some(dir) = s.data_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_slice()));
            assert!(
                !bytes
                    .windows(e.secret.len())
                    .any(|w| w == e.secret.as_bytes())
            );
        }
    }
}

/// The raw bytes of a base32 secret (RFC 4648, no padding).
fn base32_decode(base32: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in base32.bytes() {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base32") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

pub(crate) async fn admins_reset_a_second_factor_and_end_the_sessions(s: TestServer) {
    let e = enrol(&s, "lost@example.com").await;
    let me: Value = s
        .get("/auth/me")
        .header("authorization", bearer(&e.access))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap().to_owned();
    let forbidden = s
        .client
        .delete(s.url(&format!("/auth/admin/users/{id}/mfa")))
        .header("authorization", bearer(&e.access))
        .send()
        .await
        .unwrap();
    assert_problem(forbidden, 403, "forbidden").await;
    let admin = s.admin("root@example.com").await;
    let reset = s
        .client
        .delete(s.url(&format!("/auth/admin/users/{id}/mfa")))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let unknown = s
        .client
        .delete(s.url(&format!(
            "/auth/admin/users/{}/mfa",
            "01930000-0000-7000-8000-000000000000"
        )))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404, "user_not_found").await;
    // The user's sessions ended; the password alone logs in again.
    let me = s
        .get("/auth/me")
        .header("authorization", bearer(&e.access))
        .send()
        .await
        .unwrap();
    assert_problem(me, 401, "revoked_token").await;
    let pair = s.login("lost@example.com", PASSWORD).await;
    assert!(pair["access_token"].is_string());
}

pub(crate) async fn of_concurrent_second_steps_with_one_code_exactly_one_succeeds(s: TestServer) {
    let e = enrol(&s, "race@example.com").await;
    let code = code_now(&s, &e.secret);
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(mfa_required(&s, "race@example.com").await);
    }
    let s = std::sync::Arc::new(s);
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let s = s.clone();
            let code = code.clone();
            tokio::spawn(async move { login_mfa(&s, &token, &code).await.status() })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let status = task.await.unwrap();
        if status == StatusCode::OK {
            ok += 1;
        } else {
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                "{status}"
            );
        }
    }
    assert_eq!(ok, 1);
}
