//! The store conformance suite on the in-memory store.

auth_core::store_conformance_tests!(|| async { auth_core::MemoryStore::new() });
