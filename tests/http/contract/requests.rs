//! Malformed requests and the OpenAPI document.

use super::*;

pub(crate) async fn malformed_oversized_and_mistyped_bodies_get_their_codes(s: TestServer) {
    let malformed = s
        .post("/auth/register")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400, "malformed_body").await;
    let text = s
        .post("/auth/register")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(text, 415, "unsupported_media_type").await;
    let form_on_register = s
        .post("/auth/register")
        .form(&[("email", "a@example.com")])
        .send()
        .await
        .unwrap();
    assert_problem(form_on_register, 415, "unsupported_media_type").await;
    let huge =
        json!({"email": "a@example.com", "username": "x".repeat(70 * 1024), "password": PASSWORD});
    let too_large = s.post_json("/auth/register", huge).await;
    assert_problem(too_large, 413, "body_too_large").await;
    let wrong_type = s
        .post_json("/auth/login", json!({"email": 42, "password": PASSWORD}))
        .await;
    assert_problem(wrong_type, 422, "validation_failed").await;
    let unknown_route = s.get("/auth/nope").send().await.unwrap();
    assert_problem(unknown_route, 404, "not_found").await;
    let wrong_method = s.get("/auth/login").send().await.unwrap();
    assert_problem(wrong_method, 405, "method_not_allowed").await;
}

pub(crate) async fn openapi_document_is_served(s: TestServer) {
    let response = s.get("/auth/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/auth/login"]["post"].is_object());
}
