//! The black-box HTTP suite: the contract of docs/http-contract.md, over real HTTP on loopback,
//! against every adapter × store pair this build has. Written once; each pair is one line
//! of `http_suite!`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test suite reports failures by panicking"
)]

mod apps;
mod browser;
mod contract;
#[cfg(feature = "poem")]
mod parity;
#[cfg(feature = "postgres")]
mod pool;
#[cfg(feature = "postgres")]
mod scale_out;
mod server_binary;
#[cfg(feature = "smtp")]
mod smtp_server;
mod support;

/// Stamps one `#[tokio::test]` per contract case for an adapter × store pair. Attributes
/// before the pair (such as `#[ignore = "needs …"]`) go on every test.
macro_rules! http_suite {
    ($(#[$meta:meta])* $name:ident: $adapter:expr, $backend:expr) => {
        http_suite!($(#[$meta])* $name: $adapter, $backend, Mail::Outbox);
    };
    ($(#[$meta:meta])* $name:ident: $adapter:expr, $backend:expr, $mail:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::support::{Adapter, Backend, Mail};
            http_suite!(@cases [$(#[$meta])*] ($adapter, $backend, $mail);
                register_returns_201_with_the_user_shape_and_emails_a_link,
                duplicate_registration_is_409_case_insensitively,
                weak_password_is_422_with_every_failed_rule,
                invalid_email_and_missing_fields_are_422,
                registration_ignores_privileged_fields,
                concurrent_registrations_of_one_email_create_exactly_one,
                login_returns_an_uncacheable_token_pair,
                login_accepts_the_oauth2_password_grant_form,
                login_failures_are_identical_for_unknown_email_and_wrong_password,
                unverified_login_is_403_only_after_the_password,
                refresh_rotates_and_reuse_revokes_the_family,
                unknown_refresh_tokens_are_401_invalid_token,
                refresh_tokens_expire,
                concurrent_refreshes_of_one_token_have_exactly_one_200,
                logout_is_204_idempotent_and_ends_the_session,
                logout_all_revokes_every_session,
                reset_requests_answer_identically_for_unknown_emails,
                password_reset_is_single_use_and_revokes_sessions,
                reset_tokens_expire_after_fifteen_minutes,
                verification_link_verifies_and_twice_is_fine,
                verify_requests_answer_identically,
                verification_and_access_tokens_are_not_interchangeable,
                verification_links_expire,
                me_needs_a_valid_bearer_token,
                forged_tokens_are_refused,
                access_tokens_expire,
                patch_me_changes_username_and_settings_only,
                change_password_checks_the_current_one_and_revokes_sessions,
                application_routes_use_the_extractors,
                malformed_oversized_and_mistyped_bodies_get_their_codes,
                openapi_document_is_served,
                admin_routes_need_the_admin_role,
                admin_lists_gets_and_sets_roles,
                deactivation_cuts_off_login_refresh_and_me,
                // sessions and revocation
                sessions_are_listed_newest_first_with_the_current_one_marked,
                deleting_a_session_ends_it_and_cuts_its_access_tokens,
                logout_cuts_the_access_tokens_of_its_session,
                every_cut_reaches_the_access_tokens_issued_before_it,
                deactivation_cuts_access_tokens_and_me_still_says_disabled,
                a_role_change_makes_older_tokens_stale_and_the_database_applies_it,
                admins_list_and_end_a_users_sessions,
                no_login_in_flight_outlives_a_password_reset,
                a_replay_inside_the_grace_window_gets_the_same_successor,
                // abuse limits
                the_login_throttle_delays_guessing_the_same_way_for_every_email,
                the_oauth2_form_and_change_password_count_toward_the_throttle,
                a_reset_email_inside_the_cooldown_is_not_sent,
                per_client_limits_answer_429_and_leave_other_routes_alone,
                forwarded_addresses_count_only_through_trusted_proxies_and_ipv6_per_64,
                common_passwords_and_the_accounts_own_words_are_refused,
                // hardening
                input_one_store_cannot_keep_is_422_on_every_backend,
                a_mistyped_field_is_named_and_a_non_object_body_is_422,
                every_answer_with_a_users_data_is_uncacheable,
                // multi-factor authentication
                totp_enrolment_makes_login_two_steps_and_codes_work_once,
                mfa_tokens_codes_and_states_are_checked_strictly,
                totp_secrets_are_stored_only_encrypted,
                admins_reset_a_second_factor_and_end_the_sessions,
                of_concurrent_second_steps_with_one_code_exactly_one_succeeds,
                // browser support
                the_verification_page_verifies_only_on_its_button,
                the_reset_page_shows_every_rule_and_survives_a_weak_password,
                bad_links_and_forms_get_friendly_pages_never_the_token,
                the_docs_page_runs_swagger_ui_from_the_binary,
                cookie_mode_keeps_the_refresh_token_in_a_host_cookie_behind_csrf,
                bearer_mode_ignores_cookies_and_sets_none,
                cors_answers_listed_origins_with_credentials_and_no_one_else,
                // events, the audit log, security notices
                event_registered_fires_after_the_account_is_stored,
                event_verified_fires_once_the_email_is_verified,
                event_login_succeeded_names_the_new_session,
                event_login_failed_carries_the_reason_class_never_the_password,
                event_throttled_names_the_account_by_its_throttle_key,
                event_logged_out_names_the_ended_session,
                event_session_revoked_fires_for_an_owner_ending_a_session,
                event_logout_all_fires_for_the_user_and_for_an_admin,
                event_password_changed_fires_and_the_owner_is_told,
                event_reset_requested_fires_only_for_an_issued_link,
                event_reset_completed_fires_and_the_owner_is_told,
                event_deactivated_names_the_acting_admin,
                event_activated_names_the_acting_admin,
                event_roles_changed_carries_the_new_roles,
                event_mfa_enabled_fires_on_confirmation,
                event_mfa_disabled_fires_when_the_user_turns_it_off,
                event_mfa_reset_names_the_acting_admin,
                the_audit_route_pages_by_seq_filters_and_is_for_admins_only,
                the_new_sign_in_notice_is_off_by_default_and_sent_when_on,
            );
        }
    };
    (@cases $metas:tt $setup:tt; $($case:ident),* $(,)?) => {
        $( http_suite!(@one $metas $setup, $case); )*
    };
    (@one [$($meta:tt)*] ($adapter:expr, $backend:expr, $mail:expr), $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($meta)*
        async fn $case() {
            let server = crate::support::TestServer::start($adapter, $backend, $mail).await;
            crate::contract::$case(server).await;
        }
    };
}

http_suite!(axum_memory: Adapter::Axum, Backend::Memory);
http_suite!(axum_sqlite: Adapter::Axum, Backend::Sqlite);
#[cfg(feature = "poem")]
http_suite!(poem_memory: Adapter::Poem, Backend::Memory);
#[cfg(feature = "poem")]
http_suite!(poem_sqlite: Adapter::Poem, Backend::Sqlite);
#[cfg(all(feature = "poem", feature = "postgres"))]
http_suite!(#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"] poem_postgres: Adapter::Poem, Backend::Postgres);
#[cfg(all(feature = "poem", feature = "mongodb"))]
http_suite!(#[ignore = "needs MYAUTH_TEST_MONGODB_URL"] poem_mongo: Adapter::Poem, Backend::Mongo);
#[cfg(feature = "smtp")]
http_suite!(axum_sqlite_smtp: Adapter::Axum, Backend::Sqlite, Mail::Smtp);
#[cfg(feature = "postgres")]
http_suite!(#[ignore = "needs MYAUTH_TEST_POSTGRES_URL"] axum_postgres: Adapter::Axum, Backend::Postgres);
#[cfg(feature = "mongodb")]
http_suite!(#[ignore = "needs MYAUTH_TEST_MONGODB_URL"] axum_mongo: Adapter::Axum, Backend::Mongo);
