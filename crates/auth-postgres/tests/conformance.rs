//! The auth-core store conformance suite on PostgreSQL, each case in a fresh schema.

mod common;

auth_core::store_conformance_tests!(
    #[ignore = "needs MYAUTH_TEST_POSTGRES_URL"]
    || async { common::fresh_store().await }
);
