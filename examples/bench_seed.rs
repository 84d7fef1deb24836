//! Helper of the HTTP benchmarks (`benches/http/run.sh`).
//!
//! - `bench_seed users URL N` — N verified users `user{i}@bench.local` with password
//!   `Str0ng!pass`, hashed once with the configured parameters and inserted through the store.
//! - `bench_seed expired URL N` — N expired refresh tokens for `user0@bench.local`.
//! - `bench_seed purge URL` — deletes every expired token, and says how long it took.
//! - `bench_seed raw-argon2 SECONDS THREADS` — argon2id verifications per second with the
//!   default parameters on THREADS threads in a tight loop: the raw hashing limit.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use myauth::secrecy::SecretString;
use myauth::{
    AuthConfig, AuthService, HashingConfig, PasswordHasher, TokenHash, TokenKind, TokenRecord,
    User, UserId, UserSettings,
};
use time::OffsetDateTime;

const PASSWORD: &str = "Str0ng!pass";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["users", url, n] => seed_users(url, parse(n)).await,
        ["expired", url, n] => seed_expired(url, parse(n)).await,
        ["purge", url] => purge(url).await,
        ["raw-argon2", secs, threads] => raw_argon2(parse(secs), parse(threads)).await,
        _ => Err(
            "usage: bench_seed users URL N | expired URL N | raw-argon2 SECONDS THREADS".to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn parse(raw: &str) -> u64 {
    raw.parse().unwrap_or(0)
}

async fn service(url: &str) -> Result<AuthService, String> {
    let config = AuthConfig::from_env().map_err(|e| e.to_string())?;
    myauth::from_url(url)
        .map_err(|e| e.to_string())?
        .config(config)
        .service()
        .await
        .map_err(|e| e.to_string())
}

async fn seed_users(url: &str, n: u64) -> Result<(), String> {
    let service = service(url).await?;
    let hash = service
        .hasher()
        .hash(&SecretString::from(PASSWORD))
        .await
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (service, next, hash) = (service.clone(), Arc::clone(&next), hash.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), String>(());
                    }
                    let now = myauth::truncate_to_millis(OffsetDateTime::now_utc());
                    let user = User {
                        id: UserId::new(),
                        email: format!("user{i}@bench.local"),
                        username: format!("user{i}"),
                        password_hash: hash.clone(),
                        roles: Vec::new(),
                        user_settings: UserSettings::new(),
                        is_verified: true,
                        is_active: true,
                        created_at: now,
                        updated_at: now,
                    };
                    match service.store().create_user(&user).await {
                        Ok(()) | Err(myauth::StoreError::Conflict) => {}
                        Err(e) => return Err(e.to_string()),
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    println!("seeded {n} users in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

async fn seed_expired(url: &str, n: u64) -> Result<(), String> {
    let service = service(url).await?;
    let user = service
        .store()
        .find_user_by_email("user0@bench.local")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("seed users first")?;
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (service, next, user_id) = (service.clone(), Arc::clone(&next), user.id);
            tokio::spawn(async move {
                let long_ago = OffsetDateTime::now_utc() - time::Duration::days(60);
                let created = myauth::truncate_to_millis(long_ago);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), String>(());
                    }
                    let record = TokenRecord {
                        id: uuid::Uuid::now_v7(),
                        user_id,
                        kind: TokenKind::Refresh,
                        token_hash: TokenHash::of(&format!("expired-{i}-{}", uuid::Uuid::now_v7())),
                        family_id: Some(uuid::Uuid::now_v7()),
                        family_expires_at: Some(created + time::Duration::days(30)),
                        expires_at: created + time::Duration::days(7),
                        created_at: created,
                        used_at: None,
                        revoked_at: None,
                    };
                    service
                        .store()
                        .insert_token(&record)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    println!(
        "seeded {n} expired tokens in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn purge(url: &str) -> Result<(), String> {
    let service = service(url).await?;
    let start = Instant::now();
    let purged = service
        .purge_expired_tokens()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "purged {purged} expired tokens in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn raw_argon2(seconds: u64, threads: u64) -> Result<(), String> {
    let hasher = PasswordHasher::new(&HashingConfig::default()).map_err(|e| e.to_string())?;
    let password = SecretString::from(PASSWORD);
    let hash = hasher.hash(&password).await.map_err(|e| e.to_string())?;
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds.max(1));
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (count, hash) = (Arc::clone(&count), hash.clone());
            std::thread::spawn(move || {
                use argon2::password_hash::PasswordVerifier as _;
                let Ok(parsed) = argon2::password_hash::phc::PasswordHash::new(hash.as_str())
                else {
                    return;
                };
                while Instant::now() < deadline {
                    let ok = argon2::Argon2::default()
                        .verify_password(PASSWORD.as_bytes(), &parsed)
                        .is_ok();
                    if ok {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a worker panicked".to_owned())?;
    }
    let per_second = count.load(Ordering::Relaxed) as f64 / seconds.max(1) as f64;
    println!("raw argon2id verifications/s on {threads} threads: {per_second:.1}");
    Ok(())
}
