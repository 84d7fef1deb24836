//! The file system under the database fills up, on a real (small) tmpfs. Writes fail as
//! unavailable (503) and leave nothing half-written; reads keep working; once there is
//! room again, the same store writes again without a restart. (A read-only remount cannot
//! be staged the same way: the kernel refuses it while the database file is open for
//! writing, which is what a running server always has.)
//!
//! Mounting needs root (`scripts/test.sh` runs as root on our machines and in CI).

#![expect(
    clippy::expect_used,
    reason = "test helpers report failures by panicking with a message"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use auth_core::secrecy::SecretString;
use auth_core::{AuthError, AuthService, NewUser, UserStore};
use auth_sqlite::SqliteStore;

/// A tmpfs of `size` mounted on a fresh directory; unmounted when dropped.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("myauth-disk-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("mount point");
        mount(
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            &dir,
        );
        Self { dir }
    }

    fn remount(&self, options: &str) {
        mount(&["-o", &format!("remount,{options}")], &self.dir);
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the store's connections close on their own threads, a moment later.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn mount(args: &[&str], dir: &Path) {
    let status = Command::new("mount")
        .args(args)
        .arg(dir)
        .status()
        .expect("run mount");
    assert!(
        status.success(),
        "mount {args:?} failed: this test needs root (scripts/test.sh runs it as root)"
    );
}

fn service(store: SqliteStore) -> AuthService {
    AuthService::builder()
        .config(
            auth_core::testing::fast_config("UdlzF3JY4wB5tfmeHMh6WwkXrwX_hCYnkG_fa8EusTv")
                .with_require_verified_email(false),
        )
        .store(store)
        .build()
        .expect("service")
}

fn new_user(i: usize) -> NewUser {
    NewUser {
        email: format!("user{i}@example.com"),
        // A long name makes every row large, so the disk fills after a few hundred.
        username: format!("user {i} {}", "x".repeat(50)),
        password: SecretString::from("Tr1cky!Walrus-Lamp-42"),
    }
}

fn is_unavailable(error: &AuthError) -> bool {
    matches!(error, AuthError::Unavailable(_)) && error.status() == 503
}

#[tokio::test]
#[ignore = "needs root: mounts a small tmpfs"]
async fn a_full_disk_fails_writes_cleanly_and_they_work_again_once_there_is_room() {
    let disk = SmallDisk::mount("768k");
    let url = format!("sqlite://{}", disk.path().join("auth.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    let service = service(store.clone());

    let mut registered = Vec::new();
    let mut refused = None;
    for i in 0..20_000 {
        match service.register(new_user(i)).await {
            Ok(user) => registered.push(user),
            Err(error) => {
                assert!(is_unavailable(&error), "a full disk gave {error:?}");
                refused = Some(i);
                break;
            }
        }
    }
    let refused = refused.expect("the disk never filled up");
    assert!(!registered.is_empty(), "nothing fit on the disk at all");

    // Nothing of the refused account was written, and every earlier one is whole.
    let missing = new_user(refused).email;
    assert!(
        store
            .find_user_by_email(&missing)
            .await
            .expect("reads work on a full disk")
            .is_none(),
        "the refused registration left a row"
    );
    let page = store.list_users(1, 0).await.expect("count");
    assert_eq!(page.total, registered.len() as u64);
    let last = registered.last().expect("one");
    let login = service
        .login(&last.email, &SecretString::from("Tr1cky!Walrus-Lamp-42"))
        .await;
    if let Err(error) = &login {
        assert!(is_unavailable(error), "login on a full disk gave {error:?}");
    }

    // Room again: the same store writes without being reopened.
    disk.remount("size=8m");
    let user = service
        .register(new_user(refused))
        .await
        .expect("register once there is room");
    assert_eq!(user.email, missing);
    service
        .login(&last.email, &SecretString::from("Tr1cky!Walrus-Lamp-42"))
        .await
        .expect("login once there is room");
}
