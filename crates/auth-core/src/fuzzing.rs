//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the checks that are
//! private otherwise, reached exactly as the service reaches them. Not an API.

pub use crate::jwt::fuzzing::{KINDS, TokenVerifier};
pub use crate::password::{StoredHashCheck, fuzz_stored_hash};
