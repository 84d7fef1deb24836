//! The auth-core counter conformance suite on Redis, each case under a fresh key prefix.

mod common;

auth_core::counter_conformance_tests!(
    #[ignore = "needs MYAUTH_TEST_REDIS_URL"]
    || async { common::fresh_store().await }
);
