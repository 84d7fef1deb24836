//! The auth-core store conformance suite over a MongoDB server, each test in a database of
//! its own.

mod common;

auth_core::store_conformance_tests!(
    #[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
    || async { common::fresh_store().await }
);
