//! A [`TokenStore`] in an SQLite file, for a service on one machine (several processes of it
//! included) that wants its users' sessions to outlive any crash without running a database
//! server.
//!
//! The file is opened in write-ahead-log mode with `synchronous = FULL`, so a save is on disk
//! before it returns: the client hands out a rotated refresh token only after that, and a
//! process killed right after a rotation leaves it in the file for the next one. Tokens are
//! sealed as in [`crate::redis_store::RedisStore`]. The renewal lock is a row with a fence and a
//! lease, taken by one upsert; the processes of one machine share its clock. The tables are
//! created (and later migrated) on first use; expired rows are swept as new ones are written.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::sealed::Sealer;
use crate::store::{StoreError, StoreFuture, StoredToken, TokenStore};

/// The schema, one statement list per version: applied in order, each once, recorded in
/// `tokenspec_migrations`. New versions are appended, never edited.
const MIGRATIONS: &[&[&str]] = &[&[
    "CREATE TABLE IF NOT EXISTS tokenspec_tokens (
        key TEXT PRIMARY KEY,
        sealed BLOB NOT NULL,
        expires_at INTEGER,
        written INTEGER NOT NULL DEFAULT 1
    )",
    "CREATE INDEX IF NOT EXISTS tokenspec_tokens_expiry ON tokenspec_tokens (expires_at)",
    "CREATE TABLE IF NOT EXISTS tokenspec_locks (
        key TEXT PRIMARY KEY,
        fence TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    )",
]];

/// A sweep of expired rows after this many writes.
const SWEEP_EVERY: u32 = 256;

/// Tokens and renewal locks shared through one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    sealer: Sealer,
    timeout: Duration,
    migrated: AtomicBool,
    writes: AtomicU32,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Now, Unix milliseconds on this machine's clock.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// When a TTL starting now ends, Unix milliseconds; `None`: never (`Duration::MAX`).
fn until(ttl: Duration) -> Option<i64> {
    i64::try_from(ttl.as_millis())
        .ok()
        .and_then(|ms| now_ms().checked_add(ms.max(1)))
}

impl SqliteStore {
    /// A store in the SQLite file at `path` (created if missing), sealing tokens with `key`.
    /// Every process of the machine that opens the same file shares its tokens and sessions.
    pub fn open(path: impl AsRef<Path>, key: [u8; 32]) -> Result<Self, crate::Error> {
        let timeout = Duration::from_secs(2);
        let options = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_lazy_with(options);
        Ok(SqliteStore {
            pool,
            sealer: Sealer::new(key)?,
            timeout,
            migrated: AtomicBool::new(false),
            writes: AtomicU32::new(0),
        })
    }

    /// Deadline for each call, waiting for another process's write included (default 2 s).
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
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS tokenspec_migrations (
                    version INTEGER PRIMARY KEY,
                    applied_at INTEGER NOT NULL
                )",
            )
            .execute(&mut *tx)
            .await?;
            let done: i64 =
                sqlx::query("SELECT coalesce(max(version), 0) AS v FROM tokenspec_migrations")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("v")?;
            for (version, statements) in (1i64..).zip(MIGRATIONS) {
                if version <= done {
                    continue;
                }
                for statement in *statements {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT OR IGNORE INTO tokenspec_migrations (version, applied_at) VALUES (?, ?)",
                )
                .bind(version)
                .bind(now_ms())
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
        let now = now_ms();
        self.within(async {
            sqlx::query(
                "DELETE FROM tokenspec_tokens WHERE key IN (
                    SELECT key FROM tokenspec_tokens WHERE expires_at < ? LIMIT 1000
                )",
            )
            .bind(now)
            .execute(&self.pool)
            .await?;
            sqlx::query("DELETE FROM tokenspec_locks WHERE expires_at < ?")
                .bind(now)
                .execute(&self.pool)
                .await
        })
        .await
        .map(drop)
    }
}

impl TokenStore for SqliteStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<StoredToken>> {
        Box::pin(async move {
            self.ready().await?;
            let row = self
                .within(
                    sqlx::query(
                        "SELECT sealed FROM tokenspec_tokens
                         WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
                    )
                    .bind(key)
                    .bind(now_ms())
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
            // On disk (WAL, synchronous = FULL) before this returns.
            self.within(
                sqlx::query(
                    "INSERT INTO tokenspec_tokens (key, sealed, expires_at) VALUES (?, ?, ?)
                     ON CONFLICT (key) DO UPDATE
                     SET sealed = excluded.sealed, expires_at = excluded.expires_at,
                         written = tokenspec_tokens.written + 1",
                )
                .bind(key)
                .bind(sealed)
                .bind(until(ttl))
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
            // Taken if free or if its lease ran out (a holder that died); one statement, and
            // SQLite writes one at a time, so two processes cannot both take it.
            let taken = self
                .within(
                    sqlx::query(
                        "INSERT INTO tokenspec_locks (key, fence, expires_at) VALUES (?, ?, ?)
                         ON CONFLICT (key) DO UPDATE
                         SET fence = excluded.fence, expires_at = excluded.expires_at
                         WHERE tokenspec_locks.expires_at <= ?
                         RETURNING fence",
                    )
                    .bind(key)
                    .bind(fence)
                    .bind(until(ttl).unwrap_or(i64::MAX))
                    .bind(now_ms())
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
                sqlx::query("DELETE FROM tokenspec_locks WHERE key = ? AND fence = ?")
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
                sqlx::query("DELETE FROM tokenspec_tokens WHERE key = ?")
                    .bind(key)
                    .execute(&self.pool),
            )
            .await
            .map(drop)
        })
    }
}
