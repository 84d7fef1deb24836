//! Events and the audit log: every event reaches the application's hooks with the client
//! (address, `User-Agent`), the ids and the time, and is in the hash-chained audit log that
//! `GET /auth/admin/audit` pages through; the security notices go out by email.

use auth_core::{AuthEvent, AuthEventKind, Clock as _, LoginFailure, UserId};

use super::mfa::{code_now, enrol, login_mfa, mfa_required, wrong_code};
use super::*;
use crate::support::USER_AGENT;

/// The admin's token, for the audit route.
async fn admin_token(s: &TestServer) -> String {
    s.admin("auditor@example.com").await
}

/// The newest audit record of `event` about `user`, through the admin route, waiting for
/// the background write.
async fn audited(s: &TestServer, admin: &str, event: &str, user: Option<UserId>) -> Value {
    let mut query = format!("/auth/admin/audit?event={event}");
    if let Some(user) = user {
        query.push_str(&format!("&user={user}"));
    }
    for _ in 0..500 {
        let response = s
            .get(&query)
            .header("authorization", bearer(admin))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page: Value = response.json().await.unwrap();
        if let Some(record) = page["items"].as_array().and_then(|items| items.first()) {
            return record.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no audit record of {event} about {user:?} within 10 s");
}

/// The event of `kind` about `user` as the hooks saw it and as the audit log keeps it,
/// both from this suite's client, at the server's clock.
async fn fired(s: &TestServer, kind: AuthEventKind, user: Option<UserId>) -> (AuthEvent, Value) {
    let event = s.event(kind, user).await;
    assert_eq!(event.ip, Some("127.0.0.1".parse().unwrap()), "{event:?}");
    assert_eq!(event.user_agent.as_deref(), Some(USER_AGENT), "{event:?}");
    // At the server's (manual) clock: at most the test's own clock advances ago.
    let age = s.clock.now() - event.at;
    assert!(
        age >= Duration::ZERO && age < Duration::minutes(5),
        "{event:?}"
    );
    let admin = admin_token(s).await;
    let record = audited(s, &admin, kind.name(), user).await;
    assert_eq!(record["event"], kind.name());
    assert_eq!(record["ip"], "127.0.0.1");
    assert_eq!(record["user_agent"], USER_AGENT);
    assert_eq!(
        record["user_id"],
        user.map_or(Value::Null, |u| json!(u.to_string()))
    );
    for hash in ["hash", "prev_hash"] {
        assert_eq!(record[hash].as_str().map(str::len), Some(64), "{record}");
    }
    (event, record)
}

fn sid(access: &str) -> String {
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

pub(crate) async fn event_registered_fires_after_the_account_is_stored(s: TestServer) {
    s.register("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let (event, record) = fired(&s, AuthEventKind::Registered, Some(user)).await;
    assert_eq!(event.session_id, None);
    assert_eq!(record["actor_id"], Value::Null);
}

pub(crate) async fn event_verified_fires_once_the_email_is_verified(s: TestServer) {
    s.verified_user("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    fired(&s, AuthEventKind::Verified, Some(user)).await;
}

pub(crate) async fn event_login_succeeded_names_the_new_session(s: TestServer) {
    let (access, _) = s.signed_in("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let (event, record) = fired(&s, AuthEventKind::LoginSucceeded, Some(user)).await;
    assert_eq!(
        event.session_id.map(|id| id.to_string()),
        Some(sid(&access))
    );
    assert_eq!(record["session_id"], sid(&access));
}

pub(crate) async fn event_login_failed_carries_the_reason_class_never_the_password(s: TestServer) {
    s.verified_user("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let guess = "Wr0ng!guess-42";
    let wrong = s
        .post_json(
            "/auth/login",
            json!({"email": "ev@example.com", "password": guess}),
        )
        .await;
    assert_problem(wrong, 401, "invalid_credentials").await;
    let (event, record) = fired(&s, AuthEventKind::LoginFailed, Some(user)).await;
    assert_eq!(event.reason, Some(LoginFailure::WrongPassword));
    assert_eq!(record["detail"], json!({"reason": "wrong_password"}));
    let unknown = s
        .post_json(
            "/auth/login",
            json!({"email": "nobody@example.com", "password": guess}),
        )
        .await;
    assert_problem(unknown, 401, "invalid_credentials").await;
    let (event, record) = fired(&s, AuthEventKind::LoginFailed, None).await;
    let event = if event.user_id.is_some() {
        // The first one of the kind was the known account's; wait for the other.
        let mut other = None;
        for _ in 0..500 {
            other = s
                .events
                .snapshot()
                .into_iter()
                .find(|e| e.kind == AuthEventKind::LoginFailed && e.user_id.is_none());
            if other.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        other.expect("the unknown email's event")
    } else {
        event
    };
    assert_eq!(event.reason, Some(LoginFailure::UnknownAccount));
    let admin = admin_token(&s).await;
    let page: Value = s
        .get("/auth/admin/audit?event=login.failed")
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!page.to_string().contains(guess), "{page}");
    assert!(
        !record.to_string().contains("nobody@example.com"),
        "{record}"
    );
}

pub(crate) async fn event_throttled_names_the_account_by_its_throttle_key(s: TestServer) {
    s.verified_user("ev@example.com").await;
    for _ in 0..10 {
        let response = s
            .post_json(
                "/auth/login",
                json!({"email": "ev@example.com", "password": "Wr0ng!guess"}),
            )
            .await;
        assert_problem(response, 401, "invalid_credentials").await;
    }
    let throttled = s
        .post_json(
            "/auth/login",
            json!({"email": "ev@example.com", "password": PASSWORD}),
        )
        .await;
    assert_problem(throttled, 429, "too_many_requests").await;
    let (event, record) = fired(&s, AuthEventKind::Throttled, None).await;
    let account = event.account.expect("the throttle key");
    assert_eq!(record["detail"]["account"], account);
    assert!(!record.to_string().contains("ev@example.com"), "{record}");
}

pub(crate) async fn event_logged_out_names_the_ended_session(s: TestServer) {
    let (access, refresh) = s.signed_in("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let response = s
        .post_json("/auth/logout", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (event, _) = fired(&s, AuthEventKind::LoggedOut, Some(user)).await;
    assert_eq!(
        event.session_id.map(|id| id.to_string()),
        Some(sid(&access))
    );
}

pub(crate) async fn event_session_revoked_fires_for_an_owner_ending_a_session(s: TestServer) {
    let (access, _) = s.signed_in("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let session = sid(&access);
    let response = s
        .client
        .delete(s.url(&format!("/auth/sessions/{session}")))
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (event, record) = fired(&s, AuthEventKind::SessionRevoked, Some(user)).await;
    assert_eq!(
        event.session_id.map(|id| id.to_string()),
        Some(session.clone())
    );
    assert_eq!(record["session_id"], session);
}

pub(crate) async fn event_logout_all_fires_for_the_user_and_for_an_admin(s: TestServer) {
    let (access, _) = s.signed_in("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let response = s
        .post("/auth/logout-all")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (event, _) = fired(&s, AuthEventKind::LogoutAll, Some(user)).await;
    assert_eq!(event.actor_id, None);
    let admin = admin_token(&s).await;
    let response = s
        .client
        .delete(s.url(&format!("/auth/admin/users/{user}/sessions")))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let admin_id = s.user_id("auditor@example.com").await;
    for _ in 0..500 {
        let by_admin = s
            .events
            .snapshot()
            .into_iter()
            .any(|e| e.kind == AuthEventKind::LogoutAll && e.actor_id == Some(admin_id));
        if by_admin {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no logout-all event naming the admin");
}

pub(crate) async fn event_password_changed_fires_and_the_owner_is_told(s: TestServer) {
    let (access, _) = s.signed_in("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let response = s
        .post("/auth/change-password")
        .header("authorization", bearer(&access))
        .json(&json!({"current_password": PASSWORD, "new_password": "N3w!password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    fired(&s, AuthEventKind::PasswordChanged, Some(user)).await;
    let (kind, notice) = s.next_notice().await;
    assert_eq!(
        (kind, notice.to.as_str()),
        (Sent::PasswordChanged, "ev@example.com")
    );
}

pub(crate) async fn event_reset_requested_fires_only_for_an_issued_link(s: TestServer) {
    s.verified_user("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    reset_token(&s, "ev@example.com").await;
    fired(&s, AuthEventKind::ResetRequested, Some(user)).await;
    let unknown = s
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let requested = s
        .events
        .snapshot()
        .into_iter()
        .filter(|e| e.kind == AuthEventKind::ResetRequested)
        .count();
    assert_eq!(requested, 1, "an unknown email issues no link and no event");
}

pub(crate) async fn event_reset_completed_fires_and_the_owner_is_told(s: TestServer) {
    s.verified_user("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let token = reset_token(&s, "ev@example.com").await;
    let response = s
        .post_json(
            "/auth/password-reset",
            json!({"token": token, "new_password": "N3w!password"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    fired(&s, AuthEventKind::ResetCompleted, Some(user)).await;
    let (kind, notice) = s.next_notice().await;
    assert_eq!(
        (kind, notice.to.as_str()),
        (Sent::PasswordChanged, "ev@example.com")
    );
}

/// An admin action on `ev@example.com`: the path after `/auth/admin/users/{id}` and the
/// method; returns the user and the admin.
async fn admin_action(
    s: &TestServer,
    method: reqwest::Method,
    tail: &str,
    body: Option<Value>,
) -> (UserId, UserId) {
    s.verified_user("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let admin = admin_token(s).await;
    let mut request = s
        .client
        .request(method, s.url(&format!("/auth/admin/users/{user}{tail}")))
        .header("authorization", bearer(&admin));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    (user, s.user_id("auditor@example.com").await)
}

pub(crate) async fn event_deactivated_names_the_acting_admin(s: TestServer) {
    let (user, admin) = admin_action(&s, reqwest::Method::POST, "/deactivate", None).await;
    let (event, record) = fired(&s, AuthEventKind::Deactivated, Some(user)).await;
    assert_eq!(event.actor_id, Some(admin));
    assert_eq!(record["actor_id"], admin.to_string());
}

pub(crate) async fn event_activated_names_the_acting_admin(s: TestServer) {
    let (user, admin) = admin_action(&s, reqwest::Method::POST, "/activate", None).await;
    let (event, record) = fired(&s, AuthEventKind::Activated, Some(user)).await;
    assert_eq!(event.actor_id, Some(admin));
    assert_eq!(record["actor_id"], admin.to_string());
}

pub(crate) async fn event_roles_changed_carries_the_new_roles(s: TestServer) {
    let body = json!({"roles": ["editor", "viewer"]});
    let (user, admin) = admin_action(&s, reqwest::Method::PUT, "/roles", Some(body)).await;
    let (event, record) = fired(&s, AuthEventKind::RolesChanged, Some(user)).await;
    assert_eq!(event.actor_id, Some(admin));
    assert_eq!(
        event.roles,
        Some(vec!["editor".to_owned(), "viewer".to_owned()])
    );
    assert_eq!(record["detail"]["roles"], json!(["editor", "viewer"]));
}

pub(crate) async fn event_mfa_enabled_fires_on_confirmation(s: TestServer) {
    let e = enrol(&s, "ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let (event, _) = fired(&s, AuthEventKind::MfaEnabled, Some(user)).await;
    assert_eq!(
        event.session_id.map(|id| id.to_string()),
        Some(sid(&e.access))
    );
    // A wrong second step is a failed login of its own class.
    let token = mfa_required(&s, "ev@example.com").await;
    let wrong = login_mfa(&s, &token, &wrong_code(&s, &e.secret)).await;
    assert_problem(wrong, 401, "invalid_mfa_code").await;
    for _ in 0..500 {
        let found = s.events.snapshot().into_iter().any(|e| {
            e.kind == AuthEventKind::LoginFailed && e.reason == Some(LoginFailure::WrongMfaCode)
        });
        if found {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no wrong_mfa_code event");
}

pub(crate) async fn event_mfa_disabled_fires_when_the_user_turns_it_off(s: TestServer) {
    let e = enrol(&s, "ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let response = s
        .post("/auth/mfa/totp/disable")
        .header("authorization", bearer(&e.access))
        .json(&json!({"password": PASSWORD, "code": code_now(&s, &e.secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    fired(&s, AuthEventKind::MfaDisabled, Some(user)).await;
    assert!(e.recovery.len() == 10);
}

pub(crate) async fn event_mfa_reset_names_the_acting_admin(s: TestServer) {
    enrol(&s, "ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    let admin = admin_token(&s).await;
    let response = s
        .client
        .delete(s.url(&format!("/auth/admin/users/{user}/mfa")))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (event, _) = fired(&s, AuthEventKind::MfaReset, Some(user)).await;
    assert_eq!(event.actor_id, Some(s.user_id("auditor@example.com").await));
}

pub(crate) async fn the_audit_route_pages_by_seq_filters_and_is_for_admins_only(s: TestServer) {
    let (access, _) = s.signed_in("ev@example.com").await;
    let user = s.user_id("ev@example.com").await;
    for _ in 0..3 {
        s.login("ev@example.com", PASSWORD).await;
    }
    let admin = admin_token(&s).await;
    let forbidden = s
        .get("/auth/admin/audit")
        .header("authorization", bearer(&access))
        .send()
        .await
        .unwrap();
    assert_problem(forbidden, 403, "forbidden").await;
    let anonymous = s.get("/auth/admin/audit").send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let bad = s
        .get("/auth/admin/audit?user=nope&before=0")
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    let bad = assert_problem(bad, 422, "validation_failed").await;
    assert_eq!(bad["errors"].as_array().unwrap().len(), 2, "{bad}");
    // Wait until all four logins of the user are written.
    let page = |before: Option<i64>| {
        let mut path = format!("/auth/admin/audit?user={user}&event=login.succeeded&limit=3");
        if let Some(before) = before {
            path.push_str(&format!("&before={before}"));
        }
        let request = s.get(&path).header("authorization", bearer(&admin));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut first = page(None).await;
    for _ in 0..500 {
        if first["next_before"].is_i64() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        first = page(None).await;
    }
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{first}");
    let seqs: Vec<i64> = items.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    assert_eq!(first["next_before"], seqs[2]);
    let second = page(first["next_before"].as_i64()).await;
    let rest = second["items"].as_array().unwrap();
    assert_eq!(rest.len(), 1, "{second}");
    assert!(rest[0]["seq"].as_i64().unwrap() < seqs[2]);
    assert_eq!(second["next_before"], Value::Null);
    assert!(
        rest.iter()
            .chain(items)
            .all(|r| r["user_id"] == user.to_string() && r["event"] == "login.succeeded")
    );
    // And the chain the route shows verifies.
    let report = auth_core::audit::verify(&**s.service.store())
        .await
        .unwrap();
    assert_eq!(report.broken, None);
}

pub(crate) async fn the_new_sign_in_notice_is_off_by_default_and_sent_when_on(s: TestServer) {
    s.signed_in("ev@example.com").await;
    s.assert_no_notice().await;
    let on = s
        .sibling(crate::support::config().with_new_sign_in_email(true))
        .await;
    on.signed_in("ev@example.com").await;
    let (kind, notice) = on.next_notice().await;
    assert_eq!(
        (kind, notice.to.as_str()),
        (Sent::NewSignIn, "ev@example.com")
    );
}
