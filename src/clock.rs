//! Time, injectable so tests can move it by hours in a microsecond.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The two clocks a token client reads: a monotonic one for countdowns and the wall clock for
/// absolute expiry times (`expires_at`, JWT `exp`).
pub trait Clock: Send + Sync + 'static {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock now.
    fn wall(&self) -> SystemTime;

    /// Waits `duration` on this clock: the time between polls of a device authorization
    /// (RFC 8628 §3.5). The system clock sleeps; [`ManualClock`] moves itself forward at once,
    /// so tests see every wait without waiting.
    fn sleep(&self, duration: Duration) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }

    /// Whether `now()` is the operating system's monotonic clock (`Instant::now()`). Then the
    /// cached path reads `Instant::now()` itself, without a call through the trait object.
    fn is_system_clock(&self) -> bool {
        false
    }
}

/// The real clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn is_system_clock(&self) -> bool {
        true
    }
}

/// A clock that only moves when told to; both its readings advance together.
///
/// ```
/// use std::time::Duration;
/// let clock = tokenspec::clock::ManualClock::new();
/// let before = tokenspec::clock::Clock::now(&clock);
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(tokenspec::clock::Clock::now(&clock) - before, Duration::from_secs(3600));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    start: Instant,
    wall_start: SystemTime,
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock reading the real time at creation, then frozen.
    pub fn new() -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                start: Instant::now(),
                wall_start: SystemTime::now(),
                offset_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Moves both readings forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .inner
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                Some(v.saturating_add(nanos))
            });
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.inner.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("advanced", &self.offset())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.inner.start + self.offset()
    }

    fn wall(&self) -> SystemTime {
        self.inner.wall_start + self.offset()
    }

    fn sleep(&self, duration: Duration) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}
