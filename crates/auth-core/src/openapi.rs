//! The OpenAPI 3.1 document of the HTTP contract, served by every adapter at
//! `/auth/openapi.json`. It lives here, framework-free, so that every adapter serves the same
//! bytes: a client cannot tell the adapters apart, not even from their documentation.

use std::sync::OnceLock;

use serde_json::{Value, json};

/// The document as JSON text (built once).
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| document().to_string())
}

/// The document. Paths assume the auth routes are nested at `/auth` and the admin routes
/// at `/auth/admin`, as in the reference server.
pub fn document() -> Value {
    let problem = |description: &str| {
        json!({"description": description,
               "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    };
    let body = |schema: &str| {
        json!({"required": true,
               "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
    };
    let token_body = |schema: &str, form: &str| {
        json!({"required": true, "content": {
            "application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}},
            "application/x-www-form-urlencoded": {"schema": {"$ref": format!("#/components/schemas/{form}")}}
        }})
    };
    let ok = |description: &str, schema: &str| {
        json!({"description": description,
               "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
    };
    let empty = |description: &str| json!({"description": description});
    let too_many = |limit: &str| {
        json!({"description": format!("too_many_requests: {limit}"),
               "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
               "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    };
    let bearer = json!([{"bearer": []}]);
    let common = json!({
        "400": problem("malformed_body"),
        "413": problem("body_too_large"),
        "415": problem("unsupported_media_type"),
        "503": problem("service_unavailable")
    });
    let with_common = |mut responses: Value| {
        if let (Some(map), Some(common)) = (responses.as_object_mut(), common.as_object()) {
            for (k, v) in common {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        responses
    };
    let id_param = json!([{"name": "id", "in": "path", "required": true,
                           "schema": {"type": "string", "format": "uuid"}}]);
    let session_param = json!([{"name": "id", "in": "path", "required": true,
                                "schema": {"type": "string", "format": "uuid"}}]);

    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "MyAuth",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Registration, login, rotating refresh tokens, email verification, password reset, profile and admin routes. Every error is an RFC 9457 problem document.",
            "license": {"name": "MIT", "identifier": "MIT"}
        },
        "paths": {
            "/auth/register": {"post": {
                "operationId": "register", "tags": ["auth"], "summary": "Register a user; a verification email is sent",
                "requestBody": body("RegisterRequest"),
                "responses": with_common(json!({
                    "201": ok("The new user", "User"),
                    "409": problem("user_already_exists"),
                    "422": problem("invalid_email, weak_password or validation_failed"),
                    "429": too_many("the client's registration limit")
                }))
            }},
            "/auth/login": {"post": {
                "operationId": "login", "tags": ["auth"], "summary": "Log in with email and password (JSON or OAuth 2.0 password grant)",
                "requestBody": token_body("LoginRequest", "PasswordGrant"),
                "responses": with_common(json!({
                    "200": ok("Access and refresh token", "TokenPair"),
                    "401": problem("invalid_credentials, or mfa_required with an mfa_token for the second step"),
                    "403": problem("email_not_verified or account_disabled"),
                    "422": problem("validation_failed"),
                    "429": too_many("the account's login throttle or the client's login limit")
                }))
            }},
            "/auth/refresh": {"post": {
                "operationId": "refresh", "tags": ["auth"], "summary": "Rotate a refresh token (JSON or OAuth 2.0 refresh grant)",
                "requestBody": token_body("RefreshRequest", "RefreshGrant"),
                "responses": with_common(json!({
                    "200": ok("A new token pair; the presented refresh token is used up", "TokenPair"),
                    "401": problem("invalid_token, expired_token or revoked_token"),
                    "403": problem("account_disabled, or csrf_failed for a cookie-mode refresh that fails the CSRF check (nothing is used up)"),
                    "422": problem("validation_failed"),
                    "429": too_many("the client's token-endpoint limit")
                }))
            }},
            "/auth/logout": {"post": {
                "operationId": "logout", "tags": ["auth"], "summary": "Revoke the session of a refresh token (idempotent)",
                "requestBody": body("RefreshRequest"),
                "responses": with_common(json!({"204": empty("Logged out (in cookie mode the refresh cookie is cleared)"), "403": problem("csrf_failed for a cookie-mode logout that fails the CSRF check"), "422": problem("validation_failed"), "429": too_many("the client's token-endpoint limit")}))
            }},
            "/auth/logout-all": {"post": {
                "operationId": "logoutAll", "tags": ["auth"], "summary": "Revoke every refresh token of the caller",
                "security": bearer,
                "responses": with_common(json!({"204": empty("Every session ended"), "401": problem("missing_token, invalid_token, expired_token or revoked_token"), "403": problem("account_disabled")}))
            }},
            "/auth/password-reset-request": {"post": {
                "operationId": "passwordResetRequest", "tags": ["auth"], "summary": "Email a password-reset link (same answer for unknown emails)",
                "requestBody": body("EmailRequest"),
                "responses": with_common(json!({"202": ok("Accepted", "Accepted"), "422": problem("invalid_email or validation_failed"), "429": too_many("the client's email-request limit")}))
            }},
            "/auth/password-reset": {"post": {
                "operationId": "passwordReset", "tags": ["auth"], "summary": "Set a new password with a reset token; every session is revoked",
                "requestBody": body("PasswordResetRequest"),
                "responses": with_common(json!({
                    "204": empty("Password replaced"),
                    "401": problem("invalid_token or expired_token"),
                    "422": problem("weak_password or validation_failed")
                }))
            }},
            "/auth/verify-email-request": {"post": {
                "operationId": "verifyEmailRequest", "tags": ["auth"], "summary": "Email a new verification link (same answer in every case)",
                "requestBody": body("EmailRequest"),
                "responses": with_common(json!({"202": ok("Accepted", "Accepted"), "422": problem("invalid_email or validation_failed"), "429": too_many("the client's email-request limit")}))
            }},
            "/auth/verify-email": {"post": {
                "operationId": "verifyEmail", "tags": ["auth"], "summary": "Verify the email with a verification token",
                "requestBody": body("VerifyEmailRequest"),
                "responses": with_common(json!({
                    "200": ok("The verified user", "User"),
                    "401": problem("invalid_token or expired_token"),
                    "422": problem("validation_failed")
                }))
            }},
            "/auth/me": {
                "get": {
                    "operationId": "me", "tags": ["auth"], "summary": "The signed-in user", "security": bearer,
                    "responses": with_common(json!({
                        "200": ok("The user", "User"),
                        "401": problem("missing_token, invalid_token, expired_token or revoked_token"),
                        "403": problem("account_disabled")
                    }))
                },
                "patch": {
                    "operationId": "updateMe", "tags": ["auth"], "summary": "Change the username and merge settings (RFC 7396)", "security": bearer,
                    "requestBody": body("ProfileUpdate"),
                    "responses": with_common(json!({
                        "200": ok("The updated user", "User"),
                        "401": problem("missing_token, invalid_token, expired_token or revoked_token"),
                        "403": problem("account_disabled"),
                        "422": problem("validation_failed")
                    }))
                }
            },
            "/auth/change-password": {"post": {
                "operationId": "changePassword", "tags": ["auth"], "summary": "Change the password; every session is revoked", "security": bearer,
                "requestBody": body("ChangePasswordRequest"),
                "responses": with_common(json!({
                    "204": empty("Password changed"),
                    "401": problem("invalid_credentials, missing_token, invalid_token, expired_token or revoked_token"),
                    "403": problem("account_disabled"),
                    "422": problem("weak_password or validation_failed"),
                    "429": too_many("the account's login throttle")
                }))
            }},
            "/auth/openapi.json": {"get": {
                "operationId": "openapi", "tags": ["meta"], "summary": "This document (OpenAPI 3.1)",
                "responses": {"200": {"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
            "/auth/docs": {"get": {
                "operationId": "docs", "tags": ["meta"], "summary": "Interactive documentation of this document (Swagger UI, compiled in; no CDN)",
                "responses": {"200": {"description": "The documentation page", "content": {"text/html": {"schema": {"type": "string"}}}}}
            }},
            "/auth/sessions": {"get": {
                "operationId": "listSessions", "tags": ["sessions"], "summary": "The caller's live sessions, newest first", "security": bearer,
                "responses": with_common(json!({
                    "200": ok("The sessions; `current` marks the one of this access token", "SessionList"),
                    "401": problem("missing_token, invalid_token, expired_token or revoked_token"),
                    "403": problem("account_disabled")
                }))
            }},
            "/auth/sessions/{id}": {"delete": {
                "operationId": "deleteSession", "tags": ["sessions"], "summary": "End one of the caller's sessions", "security": bearer,
                "parameters": session_param,
                "responses": with_common(json!({
                    "204": empty("Ended: its refresh tokens stop working, its access tokens are cut"),
                    "401": problem("missing_token, invalid_token, expired_token or revoked_token"),
                    "403": problem("account_disabled"),
                    "404": problem("session_not_found (unknown, or another user's)")
                }))
            }},
            "/auth/admin/users/{id}/sessions": {
                "get": {
                    "operationId": "listUserSessions", "tags": ["admin"], "summary": "A user's live sessions", "security": bearer, "parameters": id_param,
                    "responses": with_common(json!({"200": ok("The sessions", "SessionList"), "401": problem("unauthenticated"), "403": problem("forbidden"), "404": problem("user_not_found")}))
                },
                "delete": {
                    "operationId": "endUserSessions", "tags": ["admin"], "summary": "End every session of a user and cut their access tokens", "security": bearer, "parameters": id_param,
                    "responses": with_common(json!({"204": empty("Every session ended"), "401": problem("unauthenticated"), "403": problem("forbidden"), "404": problem("user_not_found")}))
                }
            },
            "/auth/.well-known/jwks.json": {"get": {
                "operationId": "jwks", "tags": ["meta"], "summary": "The public keys that verify access tokens (RFC 7517 JWK Set; empty for HMAC)",
                "responses": {"200": {"description": "The JWK Set, cacheable for 300 s", "headers": {"Cache-Control": {"schema": {"type": "string", "const": "public, max-age=300"}}},
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JwkSet"}}}}}
            }},
            "/auth/admin/users": {"get": {
                "operationId": "listUsers", "tags": ["admin"], "summary": "A page of users, oldest first", "security": bearer,
                "parameters": [
                    {"name": "limit", "in": "query", "description": "page size, clamped to 1–100", "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295u64, "default": 50}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615u64, "default": 0}}
                ],
                "responses": with_common(json!({"200": ok("Users", "UserPage"), "401": problem("unauthenticated"), "403": problem("forbidden"), "422": problem("validation_failed")}))
            }},
            "/auth/admin/users/{id}": {"get": {
                "operationId": "getUser", "tags": ["admin"], "summary": "One user", "security": bearer, "parameters": id_param,
                "responses": with_common(json!({"200": ok("The user", "User"), "401": problem("unauthenticated"), "403": problem("forbidden"), "404": problem("user_not_found")}))
            }},
            "/auth/admin/users/{id}/deactivate": {"post": {
                "operationId": "deactivateUser", "tags": ["admin"], "summary": "Deactivate a user and revoke their tokens", "security": bearer, "parameters": id_param,
                "responses": with_common(json!({"200": ok("The user", "User"), "401": problem("unauthenticated"), "403": problem("forbidden"), "404": problem("user_not_found")}))
            }},
            "/auth/admin/users/{id}/activate": {"post": {
                "operationId": "activateUser", "tags": ["admin"], "summary": "Reactivate a user", "security": bearer, "parameters": id_param,
                "responses": with_common(json!({"200": ok("The user", "User"), "401": problem("unauthenticated"), "403": problem("forbidden"), "404": problem("user_not_found")}))
            }},
            "/auth/admin/users/{id}/roles": {"put": {
                "operationId": "setRoles", "tags": ["admin"], "summary": "Replace a user's roles", "security": bearer, "parameters": id_param,
                "requestBody": body("RolesRequest"),
                "responses": with_common(json!({"200": ok("The user", "User"), "401": problem("unauthenticated"), "403": problem("forbidden"), "404": problem("user_not_found"), "422": problem("validation_failed")}))
            }}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "oauth2": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/auth/login", "refreshUrl": "/auth/refresh", "scopes": {}}}}
            },
            "schemas": schemas()
        }
    });
    let mfa_paths = json!({
        "/auth/login/mfa": {"post": {
            "operationId": "loginMfa", "tags": ["mfa"], "summary": "Finish a login that answered mfa_required: the mfa_token and a TOTP or recovery code",
            "requestBody": body("LoginMfaRequest"),
            "responses": with_common(json!({
                "200": ok("Access and refresh token", "TokenPair"),
                "401": problem("invalid_token or expired_token (the mfa_token), invalid_mfa_code"),
                "403": problem("account_disabled"),
                "422": problem("validation_failed (a code that is neither six digits nor a recovery code)"),
                "429": too_many("the account's login throttle or the client's login limit")
            }))
        }},
        "/auth/mfa/totp/setup": {"post": {
            "operationId": "totpSetup", "tags": ["mfa"], "summary": "Begin a TOTP set-up: the secret, its otpauth URI and QR code, shown once; confirm within 10 minutes", "security": bearer,
            "responses": with_common(json!({
                "200": ok("The new secret", "TotpSetup"),
                "401": problem("missing_token, invalid_token, expired_token or revoked_token"),
                "403": problem("account_disabled"),
                "409": problem("mfa_already_enabled")
            }))
        }},
        "/auth/mfa/totp/confirm": {"post": {
            "operationId": "totpConfirm", "tags": ["mfa"], "summary": "Confirm the set-up with a first code: TOTP is required from now on; every other session ends", "security": bearer,
            "requestBody": body("MfaCodeRequest"),
            "responses": with_common(json!({
                "200": ok("The recovery codes, shown once", "RecoveryCodes"),
                "401": problem("invalid_mfa_code, missing_token, invalid_token, expired_token or revoked_token"),
                "403": problem("account_disabled"),
                "409": problem("mfa_setup_required (no pending set-up) or mfa_already_enabled"),
                "422": problem("validation_failed")
            }))
        }},
        "/auth/mfa/totp/disable": {"post": {
            "operationId": "totpDisable", "tags": ["mfa"], "summary": "Turn TOTP off with the password and a current code; every other session ends", "security": bearer,
            "requestBody": body("PasswordAndCodeRequest"),
            "responses": with_common(json!({
                "204": empty("TOTP is off and the recovery codes are gone"),
                "401": problem("invalid_credentials, invalid_mfa_code, missing_token, invalid_token, expired_token or revoked_token"),
                "403": problem("account_disabled"),
                "409": problem("mfa_not_enabled"),
                "422": problem("validation_failed"),
                "429": too_many("the account's login throttle or the client's login limit")
            }))
        }},
        "/auth/mfa/recovery-codes": {"post": {
            "operationId": "recoveryCodes", "tags": ["mfa"], "summary": "Replace the recovery codes, with the password and a current code", "security": bearer,
            "requestBody": body("PasswordAndCodeRequest"),
            "responses": with_common(json!({
                "200": ok("The new recovery codes, shown once; the old ones stop working", "RecoveryCodes"),
                "401": problem("invalid_credentials, invalid_mfa_code, missing_token, invalid_token, expired_token or revoked_token"),
                "403": problem("account_disabled"),
                "409": problem("mfa_not_enabled"),
                "422": problem("validation_failed"),
                "429": too_many("the account's login throttle or the client's login limit")
            }))
        }},
        "/auth/admin/users/{id}/mfa": {"delete": {
            "operationId": "resetUserMfa", "tags": ["admin"], "summary": "Remove a user's second factor and end their sessions", "security": bearer, "parameters": id_param,
            "responses": with_common(json!({"204": empty("The second factor is gone"), "401": problem("unauthenticated"), "403": problem("forbidden"), "404": problem("user_not_found")}))
        }}
    });
    if let (Some(paths), Value::Object(more)) = (document["paths"].as_object_mut(), mfa_paths) {
        paths.extend(more);
    }
    let audit_paths = json!({
        "/auth/admin/audit": {"get": {
            "operationId": "auditLog", "tags": ["admin"], "summary": "A page of the hash-chained audit log, newest first", "security": bearer,
            "parameters": [
                {"name": "user", "in": "query", "description": "only records about this user", "schema": {"type": "string", "format": "uuid"}},
                {"name": "event", "in": "query", "description": "only records of this event, e.g. login.failed", "schema": {"type": "string", "maxLength": 64}},
                {"name": "limit", "in": "query", "description": "page size, clamped to 1–500", "schema": {"type": "integer", "minimum": 0, "maximum": 4294967295u64, "default": 50}},
                {"name": "before", "in": "query", "description": "only records with a lower seq: the next_before of the previous page", "schema": {"type": "integer", "minimum": 1}}
            ],
            "responses": with_common(json!({"200": ok("Audit records", "AuditPage"), "401": problem("unauthenticated"), "403": problem("forbidden"), "422": problem("validation_failed")}))
        }}
    });
    if let (Some(paths), Value::Object(more)) = (document["paths"].as_object_mut(), audit_paths) {
        paths.extend(more);
    }
    if let Some(schemas) = document["components"]["schemas"].as_object_mut()
        && let Value::Object(more) = audit_schemas()
    {
        schemas.extend(more);
    }
    document
}

fn audit_schemas() -> Value {
    let nullable = |format: Option<&str>| match format {
        Some(format) => json!({"type": ["string", "null"], "format": format}),
        None => json!({"type": ["string", "null"]}),
    };
    let hash = json!({"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256, lower-case hex"});
    json!({
        "AuditRecord": {"type": "object", "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "at": {"type": "string", "format": "date-time"},
            "event": {"type": "string"},
            "user_id": nullable(Some("uuid")),
            "actor_id": nullable(Some("uuid")),
            "session_id": nullable(Some("uuid")),
            "ip": nullable(None),
            "user_agent": nullable(None),
            "detail": {"type": "object"},
            "prev_hash": hash,
            "hash": hash
        }, "required": ["seq", "at", "event", "user_id", "actor_id", "session_id", "ip", "user_agent", "detail", "prev_hash", "hash"]},
        "AuditPage": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditRecord"}},
            "next_before": {"type": ["integer", "null"], "description": "the before of the next (older) page; null on the last"}
        }, "required": ["items", "next_before"]}
    })
}

fn schemas() -> Value {
    let string = json!({"type": "string"});
    let policy = crate::policy::PasswordPolicy::default();
    let new_password = json!({
        "type": "string", "format": "password",
        "minLength": policy.min_chars(), "maxLength": policy.max_chars(),
        "description": "bounds of the default password policy (an application may configure others)"
    });
    let object = |properties: Value, required: &[&str]| json!({"type": "object", "properties": properties, "required": required});
    json!({
        "User": object(json!({
            "id": {"type": "string", "format": "uuid"},
            "email": {"type": "string", "format": "email"},
            "username": string,
            "roles": {"type": "array", "items": {"type": "string"}},
            "user_settings": {"type": "object"},
            "is_verified": {"type": "boolean"},
            "is_active": {"type": "boolean"},
            "mfa_enabled": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}
        }), &["id", "email", "username", "roles", "user_settings", "is_verified", "is_active", "mfa_enabled", "created_at", "updated_at"]),
        "TokenPair": object(json!({
            "access_token": string,
            "token_type": {"type": "string", "const": "bearer"},
            "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string", "description": "absent in cookie mode (MYAUTH_REFRESH_COOKIE=on), where the refresh token is in the __Host-myauth_refresh cookie"},
            "refresh_expires_in": {"type": "integer"},
            "csrf_token": {"type": "string", "description": "cookie mode only: send it as X-CSRF-Token with every cookie-authenticated request"}
        }), &["access_token", "token_type", "expires_in", "refresh_expires_in"]),
        "UserPage": object(json!({
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
            "total": {"type": "integer"}
        }), &["items", "total"]),
        "FieldError": object(json!({"field": string, "code": string, "message": string}), &["field", "code", "message"]),
        "Problem": object(json!({
            "type": string, "title": string, "status": {"type": "integer"}, "detail": string, "code": string,
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
            "mfa_token": {"type": "string", "description": "mfa_required only: send it to /auth/login/mfa with a code"},
            "expires_in": {"type": "integer", "description": "mfa_required only: seconds until mfa_token expires"},
            "error": {"type": "string", "description": "mfa_required only: the RFC 6749 §5.2-style code OAuth2 clients show"}
        }), &["type", "title", "status", "detail", "code"]),
        "LoginMfaRequest": object(json!({"mfa_token": string, "code": {"type": "string", "maxLength": 64, "description": "six digits, or a recovery code"}}), &["mfa_token", "code"]),
        "MfaCodeRequest": object(json!({"code": {"type": "string", "pattern": "^[0-9]{3} ?[0-9]{3}$", "description": "the six digits, optionally split by one space"}}), &["code"]),
        "PasswordAndCodeRequest": object(json!({"password": {"type": "string", "format": "password"}, "code": {"type": "string", "maxLength": 64}}), &["password", "code"]),
        "TotpSetup": object(json!({"secret": {"type": "string", "description": "base32, no padding"}, "otpauth_uri": {"type": "string", "format": "uri"}, "qr_svg": {"type": "string", "description": "the otpauth URI as an SVG QR code"}}), &["secret", "otpauth_uri", "qr_svg"]),
        "RecoveryCodes": object(json!({"recovery_codes": {"type": "array", "minItems": 10, "maxItems": 10, "items": {"type": "string", "pattern": "^[a-z2-7]{4}(-[a-z2-7]{4}){3}$"}}}), &["recovery_codes"]),
        "Accepted": object(json!({"detail": string}), &["detail"]),
        "Session": object(json!({
            "id": {"type": "string", "format": "uuid"},
            "created_at": {"type": "string", "format": "date-time"},
            "last_used_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "user_agent": {"type": ["string", "null"], "maxLength": 256},
            "ip": {"type": ["string", "null"]},
            "current": {"type": "boolean"}
        }), &["id", "created_at", "last_used_at", "expires_at", "user_agent", "ip", "current"]),
        "SessionList": object(json!({"items": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}}}), &["items"]),
        "RegisterRequest": object(json!({"email": {"type": "string", "format": "email"}, "username": {"type": "string", "minLength": 1, "maxLength": 64}, "password": new_password}), &["email", "username", "password"]),
        "LoginRequest": object(json!({"email": {"type": "string", "format": "email"}, "password": {"type": "string", "format": "password"}}), &["email", "password"]),
        "PasswordGrant": object(json!({"grant_type": {"type": "string", "const": "password"}, "username": string, "password": {"type": "string", "format": "password"}}), &["grant_type", "username", "password"]),
        "RefreshRequest": object(json!({"refresh_token": string}), &["refresh_token"]),
        "RefreshGrant": object(json!({"grant_type": {"type": "string", "const": "refresh_token"}, "refresh_token": string}), &["grant_type", "refresh_token"]),
        "EmailRequest": object(json!({"email": {"type": "string", "format": "email"}}), &["email"]),
        "PasswordResetRequest": object(json!({"token": string, "new_password": new_password}), &["token", "new_password"]),
        "VerifyEmailRequest": object(json!({"token": string}), &["token"]),
        "ChangePasswordRequest": object(json!({"current_password": {"type": "string", "format": "password"}, "new_password": new_password}), &["current_password", "new_password"]),
        "ProfileUpdate": object(json!({"username": {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "description": "null or absent: unchanged"}, "user_settings": {"type": ["object", "null"], "description": "merged as an RFC 7396 JSON merge patch; null or absent: unchanged"}}), &[]),
        "JwkSet": object(json!({"keys": {"type": "array", "items": {"$ref": "#/components/schemas/Jwk"}}}), &["keys"]),
        "Jwk": object(json!({
            "kty": {"type": "string", "enum": ["OKP", "EC", "RSA"]},
            "crv": {"type": "string", "enum": ["Ed25519", "P-256"]},
            "x": string, "y": string, "n": string, "e": string,
            "use": {"type": "string", "const": "sig"},
            "alg": {"type": "string", "enum": ["EdDSA", "ES256", "RS256"]},
            "kid": string
        }), &["kty", "use", "alg", "kid"]),
        "RolesRequest": object(json!({"roles": {"type": "array", "maxItems": 32, "items": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}}}), &["roles"])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_openapi_3_1_and_every_reference_resolves() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let text = document_json();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "dangling $ref {name}");
        }
        assert_eq!(doc["paths"].as_object().unwrap().len(), 29);
    }
}
