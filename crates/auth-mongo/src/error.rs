//! The crate's set-up error, and how driver errors become [`StoreError`]s.

use std::time::Duration;

use auth_core::StoreError;
use mongodb::error::{ErrorKind, WriteFailure};

/// What [`MongoStore::connect`](crate::MongoStore::connect),
/// [`connect_with`](crate::MongoStore::connect_with) and
/// [`migrate`](crate::MongoStore::migrate) can fail with.
///
/// Neither the `Display` text nor the sources repeat the password of the connection string:
/// the driver redacts credentials, and this crate never formats the URL into a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection string is malformed, or one of its options is invalid or unsupported
    /// (`mongodb+srv://` URLs are: the driver's DNS resolver is not compiled in).
    #[error("invalid MongoDB connection string")]
    InvalidUrl(#[source] mongodb::error::Error),
    /// The server could not be reached or refused the index set-up; see the source.
    #[error("MongoDB store set-up failed")]
    Store(#[from] StoreError),
}

/// Server error codes of a unique index violation: 11000 (`DuplicateKey`) and 11001, which
/// older servers sent for duplicates caused by an update.
const DUPLICATE_KEY_CODES: [i32; 2] = [11000, 11001];

/// Maps a driver error: duplicate keys (anywhere in the error, including the write errors of
/// a batch) become [`StoreError::Conflict`], failures to decode BSON become
/// [`StoreError::Corrupt`], everything else — server selection, network, timeouts,
/// authentication, other server errors — [`StoreError::Unavailable`] with the driver error
/// kept as the source.
pub(crate) fn store_error(error: mongodb::error::Error) -> StoreError {
    if is_duplicate_key(&error) {
        return StoreError::Conflict;
    }
    match error.kind.as_ref() {
        ErrorKind::Bson(_) | ErrorKind::BsonDeserialization(_) => StoreError::corrupt(error),
        _ => StoreError::unavailable(error),
    }
}

/// Whether a server error code is a unique index violation.
pub(crate) fn is_duplicate_code(code: i32) -> bool {
    DUPLICATE_KEY_CODES.contains(&code)
}

fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    let duplicate = |code: i32| DUPLICATE_KEY_CODES.contains(&code);
    let here = match error.kind.as_ref() {
        ErrorKind::Command(e) => duplicate(e.code),
        ErrorKind::Write(WriteFailure::WriteError(e)) => duplicate(e.code),
        ErrorKind::InsertMany(e) => e.write_errors.iter().flatten().any(|w| duplicate(w.code)),
        ErrorKind::BulkWrite(e) => e.write_errors.values().any(|w| duplicate(w.code)),
        _ => false,
    };
    // The driver keeps an earlier error (for instance of a retried write) as the source,
    // exposed as the boxed error itself.
    here || std::error::Error::source(error)
        .and_then(|source| {
            source
                .downcast_ref::<Box<mongodb::error::Error>>()
                .map(|boxed| &**boxed)
                .or_else(|| source.downcast_ref::<mongodb::error::Error>())
        })
        .is_some_and(is_duplicate_key)
}

/// An operation outlived the store's operation timeout (see
/// [`MongoStoreOptions::with_operation_timeout`](crate::MongoStoreOptions::with_operation_timeout)).
#[derive(Debug, thiserror::Error)]
#[error("MongoDB operation did not finish within {0:?}")]
pub(crate) struct OperationTimedOut(pub(crate) Duration);

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;
    use mongodb::options::IndexOptions;
    use mongodb::{Client, IndexModel};

    use super::*;

    fn test_url() -> String {
        std::env::var("MYAUTH_TEST_MONGODB_URL").unwrap_or_else(|_| {
            panic!(
                "MYAUTH_TEST_MONGODB_URL is not set: point it at a MongoDB server \
                 (scripts/test.sh starts the test server and sets it)"
            )
        })
    }

    /// The shapes in which the driver reports a unique violation map to `Conflict`: a write
    /// error (insert, update) and the write errors of a batch (insert_many). The third shape,
    /// a command error (find-and-modify), cannot be provoked on the MongoDB-wire test
    /// server, whose findAndModify answers every failure with "no document".
    #[tokio::test]
    #[ignore = "needs MYAUTH_TEST_MONGODB_URL"]
    async fn duplicate_keys_in_every_error_shape_are_conflict() {
        let client = Client::with_uri_str(test_url()).await.unwrap();
        let db = client.database(&format!("myauth_test_{}", uuid::Uuid::now_v7().simple()));
        let coll = db.collection::<mongodb::bson::Document>("things");
        coll.create_index(
            IndexModel::builder()
                .keys(doc! {"k": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
        )
        .await
        .unwrap();
        coll.insert_one(doc! {"k": 1}).await.unwrap();
        coll.insert_one(doc! {"k": 2}).await.unwrap();

        let insert = coll.insert_one(doc! {"k": 1}).await.unwrap_err();
        assert!(matches!(store_error(insert), StoreError::Conflict));

        let update = coll
            .update_one(doc! {"k": 2}, doc! {"$set": {"k": 1}})
            .await
            .unwrap_err();
        assert!(matches!(store_error(update), StoreError::Conflict));

        let batch = coll
            .insert_many([doc! {"k": 3}, doc! {"k": 1}])
            .await
            .unwrap_err();
        assert!(
            matches!(batch.kind.as_ref(), ErrorKind::InsertMany(_)),
            "{batch:?}"
        );
        assert!(matches!(store_error(batch), StoreError::Conflict));

        // Other server errors stay Unavailable with their source.
        let other = coll
            .update_one(doc! {"k": 3}, doc! {"$inc": {"k": "not a number"}})
            .await
            .unwrap_err();
        let mapped = store_error(other);
        assert!(matches!(mapped, StoreError::Unavailable(_)), "{mapped:?}");
        assert!(std::error::Error::source(&mapped).is_some());
        db.drop().await.unwrap();
    }
}
