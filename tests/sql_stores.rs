//! The SQL stores against real databases: `PostgresStore` against a PostgreSQL server the test
//! starts on a loopback port, `SqliteStore` against a file. The renewal lock's lease and fence,
//! and the sweep that keeps the tables to live entries, hold for both.
#![cfg(any(feature = "postgres", feature = "sqlite"))]

mod support;

use std::time::Duration;

use tokenspec::store::{StoredToken, TokenStore};

/// Two processes' stores over one database: only the holder's fence releases the lock, and a
/// holder that never releases it holds it for its lease only.
async fn the_lock_is_fenced_and_leased(a: &dyn TokenStore, b: &dyn TokenStore) {
    assert!(
        a.try_lock("k", "fence-a", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !b.try_lock("k", "fence-b", Duration::from_secs(60))
            .await
            .unwrap()
    );
    b.unlock("k", "fence-b").await.unwrap();
    assert!(
        !b.try_lock("k", "fence-b", Duration::from_secs(60))
            .await
            .unwrap()
    );
    a.unlock("k", "fence-a").await.unwrap();
    assert!(
        b.try_lock("k", "fence-b", Duration::from_millis(50))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        a.try_lock("k", "fence-a2", Duration::from_secs(60))
            .await
            .unwrap()
    );
}

/// Writes 255 tokens that expire at once, then a live one: the 256th write sweeps the expired
/// rows (`rows` counts the rows in the table).
async fn expired_entries_are_swept<F: Future<Output = i64>>(
    store: &dyn TokenStore,
    rows: impl Fn() -> F,
) {
    let token = StoredToken::new("t".to_owned().into(), 1, 2, Default::default());
    for i in 0..255 {
        store
            .save(&format!("user-{i}"), &token, Duration::from_millis(1))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.load("user-0").await.unwrap().is_none(), "expired");
    store
        .save("live", &token, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(
        rows().await,
        1,
        "the 256th write swept the 255 expired rows"
    );
    assert!(store.load("live").await.unwrap().is_some());
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use support::postgres_server::Postgres;
    use tokenspec::postgres_store::PostgresStore;

    fn store(postgres: &Postgres) -> PostgresStore {
        PostgresStore::new(&postgres.url(), [9u8; 32])
            .unwrap()
            .timeout(Duration::from_secs(5))
    }

    #[tokio::test]
    async fn the_lock_is_fenced_and_its_lease_lets_another_take_it_when_the_holder_dies() {
        let postgres = Postgres::start();
        the_lock_is_fenced_and_leased(&store(&postgres), &store(&postgres)).await;
    }

    #[tokio::test]
    async fn expired_entries_are_swept_as_new_ones_are_written() {
        let postgres = Postgres::start();
        let url = postgres.url();
        expired_entries_are_swept(&store(&postgres), || async {
            let mut raw = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
                .await
                .unwrap();
            let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM tokenspec_tokens")
                .fetch_one(&mut raw)
                .await
                .unwrap();
            rows
        })
        .await;
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use tokenspec::sqlite_store::SqliteStore;

    /// A fresh database file for `test`.
    fn file(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tokenspec-sql-stores-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{test}.db"));
        let _ = std::fs::remove_file(&file);
        file
    }

    fn store(file: &std::path::Path) -> SqliteStore {
        SqliteStore::open(file, [9u8; 32])
            .unwrap()
            .timeout(Duration::from_secs(5))
    }

    #[tokio::test]
    async fn the_lock_is_fenced_and_its_lease_lets_another_take_it_when_the_holder_dies() {
        let file = file("lock");
        the_lock_is_fenced_and_leased(&store(&file), &store(&file)).await;
    }

    #[tokio::test]
    async fn expired_entries_are_swept_as_new_ones_are_written() {
        let file = file("sweep");
        let url = format!("sqlite://{}", file.display());
        expired_entries_are_swept(&store(&file), || async {
            let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
                .await
                .unwrap();
            let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM tokenspec_tokens")
                .fetch_one(&mut raw)
                .await
                .unwrap();
            rows
        })
        .await;
    }
}
