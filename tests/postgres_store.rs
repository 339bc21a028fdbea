//! `PostgresStore` against a real PostgreSQL server (started by the test on a loopback port):
//! the renewal lock's lease and fence, and the sweep that keeps the tables to live entries.
#![cfg(feature = "postgres")]

mod support;

use std::time::Duration;

use support::postgres_server::Postgres;
use tokenspec::postgres_store::PostgresStore;
use tokenspec::store::{StoredToken, TokenStore};

fn store(postgres: &Postgres) -> PostgresStore {
    PostgresStore::new(&postgres.url(), [9u8; 32])
        .unwrap()
        .timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn the_lock_is_fenced_and_its_lease_lets_another_take_it_when_the_holder_dies() {
    let postgres = Postgres::start();
    let (a, b) = (store(&postgres), store(&postgres));
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
    // Only the holder's fence releases it.
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
    // A holder that never releases holds it for its lease only.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        a.try_lock("k", "fence-a2", Duration::from_secs(60))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn expired_entries_are_swept_as_new_ones_are_written() {
    let postgres = Postgres::start();
    let store = store(&postgres);
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
    let mut raw = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres.url())
        .await
        .unwrap();
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM tokenspec_tokens")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the 256th write swept the 255 expired rows");
    assert!(store.load("live").await.unwrap().is_some());
}
