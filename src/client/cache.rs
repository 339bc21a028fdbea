//! One cached token and its single-flight renewal: the state machine behind every
//! `access_token()`, the app token's and each session's. It asks its [`Renewer`] for a new
//! token and never sees how one is obtained.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing::Instrument;

use super::*;
use crate::clock::Clock;
use crate::telemetry::{LocalHits, Renewal as Reason, Telemetry};

/// How long a failed renewal ahead of expiry waits before the next attempt, while the cached
/// token is still valid and keeps being served.
pub(crate) const BACKGROUND_RETRY: Duration = Duration::from_secs(5);

/// A token in the cache, with the response fields of the answer it came in.
pub(crate) struct Cached {
    pub(crate) token: Token,
    pub(crate) fields: Map<String, Value>,
}

/// What a renewal publishes to its waiters: nothing yet, or its result.
pub(crate) type Outcome = Option<Result<Arc<Cached>, Error>>;

/// A renewal's work: a new token and the fields of its answer.
pub(crate) type RenewFuture =
    Pin<Box<dyn Future<Output = Result<(Token, Map<String, Value>), Error>> + Send>>;

/// Who renews, and when the next background renewal may start.
#[derive(Default)]
pub(crate) struct Renewal {
    /// The renewal in flight, if any, by number; every caller that needs a token waits on it.
    running: Option<(u64, watch::Receiver<Outcome>)>,
    /// Number of the next renewal.
    next: u64,
    /// No background renewal before this instant (after a failed one).
    not_before: Option<Instant>,
}

/// One cached token: read lock-free, replaced by one renewal at a time.
pub(crate) struct TokenCell {
    current: ArcSwapOption<Cached>,
    /// Changes whenever `current` does, so threads know their fast-path copy is stale.
    generation: AtomicU64,
    /// Whether time is the operating system's clock, so the fast path may use the coarse clock.
    system_clock: bool,
    renewal: Mutex<Renewal>,
    /// Whether the last token was dropped because an API refused it, so the renewal that
    /// follows says so.
    refused: AtomicBool,
}

impl TokenCell {
    /// An empty cache, on the system clock or not.
    pub(crate) fn new(system_clock: bool) -> Self {
        TokenCell {
            current: ArcSwapOption::empty(),
            generation: AtomicU64::new(0),
            system_clock,
            renewal: Mutex::new(Renewal::default()),
            refused: AtomicBool::new(false),
        }
    }

    /// The cached token and its fields, fresh or not.
    pub(crate) fn current(&self) -> Option<Arc<Cached>> {
        self.current.load_full()
    }

    /// Replaces the cached token.
    pub(crate) fn set(&self, cached: Arc<Cached>) {
        self.current.store(Some(cached));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Drops the cached token, whatever it is.
    pub(crate) fn clear(&self) {
        self.current.store(None);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Drops `token` if it is still the current one; a token that was already replaced is left
    /// alone, so a late `401` never throws away a newer token. Whether it was dropped.
    pub(crate) fn invalidate(&self, token: &Token) -> bool {
        let current = self.current.load();
        if current.as_ref().is_some_and(|c| c.token.same_as(token)) {
            let _ = self.current.compare_and_swap(&*current, None);
            self.generation.fetch_add(1, Ordering::Release);
            self.refused.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// What a cache needs from its owner: where the cache is, whose tokens these are (for errors
/// and logs), the clock, and how to get a new token.
pub(crate) trait Renewer: Clone + Send + Sync + 'static {
    /// The cache.
    fn cell(&self) -> &Arc<TokenCell>;
    /// The provider's title, for errors.
    fn title(&self) -> &'static str;
    /// The clock tokens are timed with.
    fn clock(&self) -> &dyn Clock;
    /// Fails when this owner cannot renew at all (a configuration error), before any task starts.
    fn can_renew(&self) -> Result<(), Error>;
    /// One renewal: a new token, however it is obtained.
    fn renew(&self) -> RenewFuture;
    /// An API refused `token`: drop it from the cache (if still current) and remember it.
    fn invalidate(&self, token: &Token);
    /// Where its spans, events and metrics go.
    fn telemetry(&self) -> &Telemetry;
    /// Whether this is a user's session (a field of the renewal span).
    fn is_session(&self) -> bool {
        false
    }
}

/// Owned by a renewal's task: however the task ends (it finishes, panics, or is dropped with
/// its runtime, even before it first runs), dropping this frees the renewal slot if it is
/// still this renewal's, so the next call starts a new renewal instead of waiting on a dead one.
struct SlotGuard {
    cell: Arc<TokenCell>,
    renewal: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut renewal = self
            .cell
            .renewal
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if renewal
            .running
            .as_ref()
            .is_some_and(|(n, _)| *n == self.renewal)
        {
            renewal.running = None;
        }
    }
}

/// How long before its refresh point the fast path stops handing out a token: many times the
/// coarse clock's resolution (one kernel tick, 1 to 10 ms), so the fast path never serves a
/// token past the point where the precise path would start renewing it.
const COARSE_SLACK: Duration = Duration::from_millis(50);

/// A fresh token as one thread hands it out: its own copy, the cache generation it was taken
/// from, and until when (on the coarse clock) it may be handed out without a closer look.
struct Fast {
    cell: Weak<TokenCell>,
    generation: u64,
    until: coarsetime::Instant,
    token: Token,
    /// This thread's hits of the cache, counted without touching shared memory.
    hits: LocalHits,
}

thread_local! {
    /// This thread's fast-path entries, one per cache it used recently.
    static FAST: RefCell<Vec<Fast>> = const { RefCell::new(Vec::new()) };
}

/// The coarse monotonic clock: the kernel's last tick, read without a system call or a
/// hardware counter, and without writing shared memory (so every core can read it at once).
fn coarse_now() -> coarsetime::Instant {
    coarsetime::Instant::now_without_cache_update()
}

/// This thread's copy of `cell`'s cached token, if the cache has not changed since
/// (`generation`) and the token is still well before its refresh point.
fn fast_lookup(cell: &Arc<TokenCell>, generation: u64) -> Option<Token> {
    FAST.with(|fast| {
        let mut fast = fast.borrow_mut();
        let entry = fast
            .iter_mut()
            .find(|e| std::ptr::eq(e.cell.as_ptr(), Arc::as_ptr(cell)))?;
        let now = coarse_now();
        if entry.generation != generation || now >= entry.until {
            return None;
        }
        entry.hits.hit(now);
        Some(entry.token.clone())
    })
}

/// `cached`'s token as a copy private to this thread: handing it out touches no memory other
/// threads write, so `access_token()` scales with cores. With the system clock, the copy is
/// also remembered for the fast path until shortly before `fresh_for` runs out. The `Weak`
/// keeps the cache's address from being reused while its entry is listed.
fn thread_copy(
    cell: &Arc<TokenCell>,
    telemetry: &Telemetry,
    generation: u64,
    cached: &Cached,
    fresh_for: Duration,
) -> Token {
    let until = match fresh_for.checked_sub(COARSE_SLACK) {
        Some(left) if cell.system_clock => {
            let millis = u64::try_from(left.as_millis()).unwrap_or(u64::MAX / 2);
            coarse_now() + coarsetime::Duration::from_millis(millis)
        }
        _ => coarse_now(),
    };
    FAST.with(|fast| {
        let mut fast = fast.borrow_mut();
        if let Some(entry) = fast
            .iter_mut()
            .find(|e| std::ptr::eq(e.cell.as_ptr(), Arc::as_ptr(cell)))
        {
            if !entry.token.same_as(&cached.token) {
                entry.token = cached.token.private_copy();
            }
            entry.generation = generation;
            entry.until = until;
            return entry.token.clone();
        }
        fast.retain(|e| e.cell.strong_count() > 0);
        if fast.len() >= 32 {
            fast.remove(0);
        }
        let token = cached.token.private_copy();
        fast.push(Fast {
            cell: Arc::downgrade(cell),
            generation,
            until,
            token: token.clone(),
            hits: telemetry.local_hits(),
        });
        token
    })
}

/// A valid access token: the cached one while fresh (no I/O, no lock), otherwise the result of
/// the one renewal in flight. Between the refresh point and expiry the cached token is returned
/// at once and renewal runs in the background.
pub(crate) async fn access_token<R: Renewer>(owner: &R) -> Result<Token, Error> {
    if let Some(token) = fresh(owner) {
        return Ok(token);
    }
    Ok(renewed(owner).await?.token.clone())
}

/// The cached token and its fields while unexpired, else those of a renewal.
pub(crate) async fn unexpired<R: Renewer>(owner: &R) -> Result<Arc<Cached>, Error> {
    match owner.cell().current() {
        Some(c) if owner.clock().now() < c.token.expires_at() => Ok(c),
        _ => renewed(owner).await,
    }
}

/// The cached token if it can be handed out now: first from this thread's fast-path entry (no
/// shared memory written, no precise clock read), else from the shared cache. In the renewal
/// window it is still handed out, and one background renewal starts.
pub(crate) fn fresh<R: Renewer>(owner: &R) -> Option<Token> {
    let cell = owner.cell();
    let generation = cell.generation.load(Ordering::Acquire);
    if cell.system_clock
        && let Some(token) = fast_lookup(cell, generation)
    {
        return Some(token);
    }
    let guard = cell.current.load();
    let cached = guard.as_ref()?;
    let now = owner.clock().now();
    if now < cached.token.refresh_at() {
        let fresh_for = cached.token.refresh_at() - now;
        owner.telemetry().cache_hit();
        return Some(thread_copy(
            cell,
            owner.telemetry(),
            generation,
            cached,
            fresh_for,
        ));
    }
    if now < cached.token.expires_at() {
        renew_in_background(owner, now);
        owner.telemetry().cache_hit();
        return Some(thread_copy(
            cell,
            owner.telemetry(),
            generation,
            cached,
            Duration::ZERO,
        ));
    }
    None
}

fn renew_in_background<R: Renewer>(owner: &R, now: Instant) {
    let Ok(mut renewal) = owner.cell().renewal.try_lock() else {
        return; // someone else is deciding right now
    };
    if renewal.running.is_some() || renewal.not_before.is_some_and(|t| now < t) {
        return;
    }
    if let Ok(rx) = start(owner, &mut renewal, Reason::AheadOfExpiry) {
        drop(rx);
    }
}

/// Waits for the renewal in flight, starting one if there is none.
pub(crate) async fn renewed<R: Renewer>(owner: &R) -> Result<Arc<Cached>, Error> {
    let cell = owner.cell();
    let mut rx = {
        let mut renewal = cell.renewal.lock().unwrap_or_else(PoisonError::into_inner);
        // A renewal may have finished between the caller's look at the cache and this lock.
        if let Some(c) = cell.current.load_full()
            && owner.clock().now() < c.token.expires_at()
        {
            return Ok(c);
        }
        match &renewal.running {
            // A renewal whose task is gone without an outcome is dead: start anew.
            Some((_, rx)) if rx.has_changed().is_ok() || rx.borrow().is_some() => rx.clone(),
            _ => {
                let reason = if cell.refused.swap(false, Ordering::Relaxed) {
                    Reason::Unauthorized
                } else if cell.current.load().is_some() {
                    Reason::Expired
                } else {
                    Reason::First
                };
                start(owner, &mut renewal, reason)?
            }
        }
    };
    let interrupted = || Error::Interrupted {
        provider: owner.title(),
    };
    match rx.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or_else(|| Err(interrupted())),
        Err(_) => Err(interrupted()),
    }
}

/// Starts the one renewal, in its own task so that callers giving up never stop it.
fn start<R: Renewer>(
    owner: &R,
    renewal: &mut Renewal,
    reason: Reason,
) -> Result<watch::Receiver<Outcome>, Error> {
    owner.can_renew()?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::config("tokenspec clients must be used inside a Tokio runtime"))?;
    let (tx, rx) = watch::channel(None);
    let number = renewal.next;
    renewal.next = renewal.next.wrapping_add(1);
    renewal.running = Some((number, rx.clone()));
    let owner = owner.clone();
    // Made here, not inside the task, so that a task dropped before it first runs frees the
    // slot too.
    let guard = SlotGuard {
        cell: Arc::clone(owner.cell()),
        renewal: number,
    };
    let work = owner.renew();
    let span = owner.telemetry().renewal_span(reason, owner.is_session());
    let task = async move {
        let cell = owner.cell();
        let result = work
            .await
            .map(|(token, fields)| Arc::new(Cached { token, fields }));
        if let Ok(cached) = &result {
            cell.set(Arc::clone(cached));
        }
        cell.renewal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .not_before = result
            .is_err()
            .then(|| owner.clock().now() + BACKGROUND_RETRY);
        drop(guard);
        match &result {
            Ok(c) => tracing::debug!(
                target: "tokenspec",
                outcome = "ok",
                lifetime_s = c.token.lifetime().as_secs(),
                "tokenspec.renewal.end: token renewed"
            ),
            Err(e) => tracing::info!(
                target: "tokenspec",
                outcome = crate::telemetry::outcome(Err(e)),
                error = %e.chain(),
                "tokenspec.renewal.end: no new token"
            ),
        }
        let _ = tx.send(Some(result));
    };
    runtime.spawn(task.instrument(span));
    Ok(rx)
}

impl TokenClient {
    /// A valid access token: the cached one while fresh (no I/O, no lock), otherwise the result
    /// of the one renewal in flight. Between the refresh point and expiry the cached token is
    /// returned at once and renewal runs in the background.
    pub async fn access_token(&self) -> Result<Token, Error> {
        access_token(self).await
    }

    /// The cached token with the typed fields of the answer it came in.
    #[doc(hidden)]
    pub async fn cached_response<F: FromFields>(&self) -> Result<TokenResponse<F>, Error> {
        let cached = unexpired(self).await?;
        let mut fields = Fields::new(self.inner.provider.title, cached.fields.clone());
        Ok(TokenResponse {
            token: cached.token.clone(),
            fields: F::from_fields(&mut fields)?,
        })
    }

    /// The flow that fetches the client's own token.
    pub(super) fn cached_flow(&self) -> Result<&'static Flow, Error> {
        let provider = self.inner.provider;
        provider
            .cached_flow
            .and_then(|i| provider.flows.get(i))
            .ok_or_else(|| {
                Error::config(format!(
                    "{} has no flow that fetches the client's own token",
                    provider.title
                ))
            })
    }
}
