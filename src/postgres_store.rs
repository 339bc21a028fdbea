//! A [`TokenStore`] in PostgreSQL, the application's own database: users' sessions survive any
//! crash of the store, since a rotation is committed (and, with PostgreSQL's default
//! `synchronous_commit = on`, flushed to its write-ahead log) before the client uses the new
//! refresh token.
//!
//! Tokens are sealed as in [`crate::redis_store::RedisStore`] (ChaCha20-Poly1305 under a 32-byte
//! key every process is given, bound to the row's key). Expiry and the renewal lock's lease are
//! timed on the database's clock, so processes whose clocks differ agree. The lock is a row
//! taken with one `INSERT … ON CONFLICT … WHERE expired` statement and released only by the
//! holder's fence. The tables are created (and later migrated) on first use, under an advisory
//! lock so that a fleet starting at once migrates once. Every call has a deadline; expired rows
//! are swept as new ones are written, so the tables do not grow with every user ever seen.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::sealed::Sealer;
use crate::store::{StoreError, StoreFuture, StoredToken, TokenStore};

/// The schema, one statement list per version: applied in order, each once, recorded in
/// `tokenspec_migrations`. New versions are appended, never edited.
const MIGRATIONS: &[&[&str]] = &[&[
    "CREATE TABLE IF NOT EXISTS tokenspec_tokens (
        key text PRIMARY KEY,
        sealed bytea NOT NULL,
        expires_at timestamptz,
        written bigint NOT NULL DEFAULT 1
    )",
    "CREATE INDEX IF NOT EXISTS tokenspec_tokens_expiry ON tokenspec_tokens (expires_at)",
    "CREATE TABLE IF NOT EXISTS tokenspec_locks (
        key text PRIMARY KEY,
        fence text NOT NULL,
        expires_at timestamptz NOT NULL
    )",
]];

/// The advisory lock that serializes migrations across a fleet (any constant the application
/// does not use itself).
const MIGRATION_LOCK: i64 = 0x746f_6b65_6e73_7063;

/// A sweep of expired rows after this many writes.
const SWEEP_EVERY: u32 = 256;

/// Tokens and renewal locks shared through PostgreSQL.
pub struct PostgresStore {
    pool: PgPool,
    sealer: Sealer,
    timeout: Duration,
    migrated: AtomicBool,
    writes: AtomicU32,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A TTL as milliseconds for the database, `None` for "until deleted" (`Duration::MAX`, or one
/// past what an interval holds).
fn ttl_ms(ttl: Duration) -> Option<i64> {
    i64::try_from(ttl.as_millis())
        .ok()
        .filter(|ms| *ms < 100 * 365 * 24 * 3600 * 1000)
        .map(|ms| ms.max(1))
}

impl PostgresStore {
    /// A store in the database at `url` (`postgres://user:password@host/db`), sealing tokens
    /// with `key`. Connects on first use, and again after the database restarts; creates or
    /// migrates its tables then.
    pub fn new(url: &str, key: [u8; 32]) -> Result<Self, crate::Error> {
        let timeout = Duration::from_secs(2);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_lazy(url)
            .map_err(|e| crate::Error::config(format!("PostgreSQL URL: {e}")))?;
        Ok(PostgresStore {
            pool,
            sealer: Sealer::new(key)?,
            timeout,
            migrated: AtomicBool::new(false),
            writes: AtomicU32::new(0),
        })
    }

    /// Deadline for each database call, connecting included (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Creates or migrates the tables, once per store (and again after a failure).
    async fn ready(&self) -> Result<(), StoreError> {
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        self.within(async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS tokenspec_migrations (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )",
            )
            .execute(&mut *tx)
            .await?;
            let done: i32 =
                sqlx::query("SELECT coalesce(max(version), 0) AS v FROM tokenspec_migrations")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("v")?;
            for (version, statements) in (1i32..).zip(MIGRATIONS) {
                if version <= done {
                    continue;
                }
                for statement in *statements {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                sqlx::query("INSERT INTO tokenspec_migrations (version) VALUES ($1)")
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })
        .await?;
        self.migrated.store(true, Ordering::Release);
        Ok(())
    }

    /// `work` within the deadline, its database error as the store's.
    async fn within<T>(
        &self,
        work: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| StoreError::unavailable("no answer within the deadline"))?
            .map_err(StoreError::unavailable)
    }

    /// Deletes a batch of expired tokens and leases, every [`SWEEP_EVERY`] writes.
    async fn sweep(&self) -> Result<(), StoreError> {
        if self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY != SWEEP_EVERY - 1 {
            return Ok(());
        }
        self.within(async {
            sqlx::query(
                "DELETE FROM tokenspec_tokens WHERE key IN (
                    SELECT key FROM tokenspec_tokens WHERE expires_at < now() LIMIT 1000
                )",
            )
            .execute(&self.pool)
            .await?;
            sqlx::query("DELETE FROM tokenspec_locks WHERE expires_at < now()")
                .execute(&self.pool)
                .await
        })
        .await
        .map(drop)
    }
}

impl TokenStore for PostgresStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async move {
            self.ready().await?;
            let row = self
                .within(
                    sqlx::query(
                        "SELECT sealed FROM tokenspec_tokens
                         WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())",
                    )
                    .bind(key)
                    .fetch_optional(&self.pool),
                )
                .await?;
            row.map(|row| {
                let sealed: Vec<u8> = row.try_get("sealed").map_err(StoreError::unavailable)?;
                self.sealer.open(key, &sealed)
            })
            .transpose()
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a str,
        token: &'a StoredToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.ready().await?;
            let sealed = self.sealer.seal(key, token)?;
            // Committed before this returns: the client hands out the rotated refresh token
            // only after the database has it.
            self.within(
                sqlx::query(
                    "INSERT INTO tokenspec_tokens (key, sealed, expires_at)
                     VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
                     ON CONFLICT (key) DO UPDATE
                     SET sealed = excluded.sealed, expires_at = excluded.expires_at,
                         written = tokenspec_tokens.written + 1",
                )
                .bind(key)
                .bind(sealed)
                .bind(ttl_ms(ttl))
                .execute(&self.pool),
            )
            .await?;
            self.sweep().await
        })
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        fence: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            self.ready().await?;
            // Taken if free or if its lease ran out (a holder that died); one statement, so two
            // processes cannot both take it.
            let taken = self
                .within(
                    sqlx::query(
                        "INSERT INTO tokenspec_locks (key, fence, expires_at)
                         VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
                         ON CONFLICT (key) DO UPDATE
                         SET fence = excluded.fence, expires_at = excluded.expires_at
                         WHERE tokenspec_locks.expires_at <= now()
                         RETURNING fence",
                    )
                    .bind(key)
                    .bind(fence)
                    .bind(ttl_ms(ttl).unwrap_or(i64::MAX / 2))
                    .fetch_optional(&self.pool),
                )
                .await?;
            Ok(taken.is_some())
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, fence: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.ready().await?;
            self.within(
                sqlx::query("DELETE FROM tokenspec_locks WHERE key = $1 AND fence = $2")
                    .bind(key)
                    .bind(fence)
                    .execute(&self.pool),
            )
            .await
            .map(drop)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.ready().await?;
            self.within(
                sqlx::query("DELETE FROM tokenspec_tokens WHERE key = $1")
                    .bind(key)
                    .execute(&self.pool),
            )
            .await
            .map(drop)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_longer_than_a_century_mean_until_deleted() {
        assert_eq!(ttl_ms(Duration::from_millis(1500)), Some(1500));
        assert_eq!(ttl_ms(Duration::ZERO), Some(1));
        assert_eq!(ttl_ms(Duration::MAX), None);
        assert_eq!(ttl_ms(Duration::from_secs(200 * 365 * 24 * 3600)), None);
    }
}
