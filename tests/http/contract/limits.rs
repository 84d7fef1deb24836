//! Abuse limits: the per-account login throttle, email cooldowns, per-client-address
//! buckets (through trusted proxies, IPv6 per /64) and the password lists.

use super::*;

async fn login(s: &TestServer, email: &str, password: &str) -> reqwest::Response {
    s.post_json("/auth/login", json!({"email": email, "password": password}))
        .await
}

async fn answer(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut body: Value = response.json().await.unwrap();
    body["detail"] = json!("");
    (status, retry, body)
}

pub(crate) async fn the_login_throttle_delays_guessing_the_same_way_for_every_email(s: TestServer) {
    s.verified_user("alice@example.com").await;
    for email in ["alice@example.com", "nobody@example.com"] {
        for _ in 0..10 {
            assert_problem(
                login(&s, email, "Wr0ng!guess").await,
                401,
                "invalid_credentials",
            )
            .await;
        }
    }
    // The eleventh attempt waits, right password or not, known account or not.
    let known = answer(login(&s, "alice@example.com", PASSWORD).await).await;
    let unknown = answer(login(&s, "nobody@example.com", PASSWORD).await).await;
    assert_eq!(known.0, 429);
    assert_eq!(known.2["code"], "too_many_requests");
    assert_eq!(known.1.as_deref(), Some("1"));
    assert_eq!(
        known, unknown,
        "the throttle reveals nothing about the account"
    );
    // Other spellings of the address are the same account.
    assert_eq!(
        login(&s, " ALICE@Example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The delay doubles with every further failure.
    s.clock.advance(Duration::seconds(1));
    assert_problem(
        login(&s, "alice@example.com", "Wr0ng!guess").await,
        401,
        "invalid_credentials",
    )
    .await;
    let wait = answer(login(&s, "alice@example.com", PASSWORD).await).await;
    assert_eq!(wait.1.as_deref(), Some("2"));
    s.clock.advance(Duration::seconds(2));
    // A completed login clears the count.
    s.login("alice@example.com", PASSWORD).await;
    assert_problem(
        login(&s, "alice@example.com", "Wr0ng!guess").await,
        401,
        "invalid_credentials",
    )
    .await;
    s.login("alice@example.com", PASSWORD).await;
}

pub(crate) async fn the_oauth2_form_and_change_password_count_toward_the_throttle(s: TestServer) {
    let (access, _) = s.signed_in("alice@example.com").await;
    for _ in 0..5 {
        let form = s
            .post("/auth/login")
            .form(&[
                ("grant_type", "password"),
                ("username", "alice@example.com"),
                ("password", "Wr0ng!guess"),
            ])
            .send()
            .await
            .unwrap();
        assert_problem(form, 401, "invalid_credentials").await;
    }
    for _ in 0..5 {
        let change = s
            .post("/auth/change-password")
            .header("authorization", bearer(&access))
            .json(&json!({"current_password": "Wr0ng!guess", "new_password": "N3w!passw0rd"}))
            .send()
            .await
            .unwrap();
        assert_problem(change, 401, "invalid_credentials").await;
    }
    assert_problem(
        login(&s, "alice@example.com", PASSWORD).await,
        429,
        "too_many_requests",
    )
    .await;
}

pub(crate) async fn a_reset_email_inside_the_cooldown_is_not_sent(s: TestServer) {
    s.verified_user("alice@example.com").await;
    let first = s
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first_body: Value = first.json().await.unwrap();
    let (_, link) = s.next_email().await;
    let second = s
        .post_json(
            "/auth/password-reset-request",
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    assert_eq!(second.json::<Value>().await.unwrap(), first_body);
    s.assert_no_email().await;
    // The link already sent keeps working.
    let response = s
        .post_json(
            "/auth/password-reset",
            json!({"token": token_from_link(&link.link), "new_password": "N3w!passw0rd"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

pub(crate) async fn per_client_limits_answer_429_and_leave_other_routes_alone(s: TestServer) {
    let s = s
        .sibling(crate::support::config().with_ip_limits(Some(auth_core::IpLimits::default())))
        .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = s
            .post_json(
                "/auth/register",
                json!({"email": format!("u{i}@example.com"), "username": "u", "password": PASSWORD}),
            )
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            assert_problem(response, 429, "too_many_requests").await;
        }
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429]);
    // Other groups have buckets of their own; routes without a limit are not counted.
    let user = s
        .service
        .store()
        .find_user_by_email("u0@example.com")
        .await
        .unwrap()
        .unwrap();
    s.service
        .store()
        .update_user(
            user.id,
            &auth_core::UserPatch {
                is_verified: Some(true),
                ..auth_core::UserPatch::default()
            },
        )
        .await
        .unwrap();
    let pair = s.login("u0@example.com", PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    for _ in 0..30 {
        let me = s
            .get("/auth/me")
            .header("authorization", bearer(&access))
            .send()
            .await
            .unwrap();
        assert_ne!(me.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

pub(crate) async fn forwarded_addresses_count_only_through_trusted_proxies_and_ipv6_per_64(
    s: TestServer,
) {
    let limits = auth_core::IpLimits {
        registration: auth_core::RateLimit::new(1, Duration::hours(1)),
        ..auth_core::IpLimits::default()
    };
    let register = |s: &TestServer, i: usize, forwarded: &str| {
        s.post("/auth/register")
            .header("x-forwarded-for", forwarded.to_owned())
            .json(&json!({"email": format!("f{i}@example.com"), "username": "f", "password": PASSWORD}))
            .send()
    };
    // No trusted proxy: the header is the client's to write, and changes nothing.
    let direct = s
        .sibling(crate::support::config().with_ip_limits(Some(limits)))
        .await;
    assert_eq!(
        register(&direct, 0, "198.51.100.1").await.unwrap().status(),
        201
    );
    assert_eq!(
        register(&direct, 1, "198.51.100.2").await.unwrap().status(),
        429
    );
    // Behind a trusted proxy on 127.0.0.1: the right-most untrusted hop is the client.
    let proxied = s
        .sibling(
            crate::support::config()
                .with_ip_limits(Some(limits))
                .with_trusted_proxies(auth_core::parse_proxies("127.0.0.1").unwrap()),
        )
        .await;
    assert_eq!(
        register(&proxied, 0, "198.51.100.1")
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        register(&proxied, 1, "198.51.100.2")
            .await
            .unwrap()
            .status(),
        201
    );
    // A forged left-most entry does not make a new client.
    assert_eq!(
        register(&proxied, 2, "203.0.113.50, 198.51.100.1")
            .await
            .unwrap()
            .status(),
        429
    );
    // One address, two spellings; one IPv6 /64, two addresses.
    assert_eq!(
        register(&proxied, 3, "::ffff:198.51.100.2")
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        register(&proxied, 4, "2001:db8:1:2::1")
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        register(&proxied, 5, "2001:db8:1:2:ffff::9")
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        register(&proxied, 6, "2001:db8:1:3::1")
            .await
            .unwrap()
            .status(),
        201
    );
}

pub(crate) async fn common_passwords_and_the_accounts_own_words_are_refused(s: TestServer) {
    let response = s
        .post_json(
            "/auth/register",
            json!({"email": "alice@example.com", "username": "alice", "password": "Password1!"}),
        )
        .await;
    let body = assert_problem(response, 422, "weak_password").await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["common_password"]);
    let response = s
        .post_json(
            "/auth/register",
            json!({"email": "jsmith@example.com", "username": "Zed", "password": "Jsmith!2026x"}),
        )
        .await;
    let body = assert_problem(response, 422, "weak_password").await;
    assert_eq!(body["errors"][0]["code"], "contains_user_info");
    assert_eq!(body["errors"][0]["field"], "password");
}
