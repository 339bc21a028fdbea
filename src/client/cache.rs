//! One cached token and its single-flight renewal: the state machine behind every
//! `access_token()`, the app token's and each session's. It asks its [`Renewer`] for a new
//! token and never sees how one is obtained.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tracing::Instrument;

use super::*;
use crate::clock::Clock;
use crate::telemetry::{HitCounter, Renewal as Reason, Telemetry};

/// How long a failed renewal ahead of expiry waits before the next attempt, while the cached
/// token is still valid and keeps being served.
pub(crate) const BACKGROUND_RETRY: Duration = Duration::from_secs(5);

/// A token in the cache, with the response fields of the answer it came in, and the copies of
/// the token that threads hand out.
pub(crate) struct Cached {
    pub(crate) token: Token,
    pub(crate) fields: Map<String, Value>,
    /// One slot per shard of threads: a thread clones the copy of its shard (shard 0 hands out
    /// `token` itself), so threads of different shards never write the same reference count,
    /// and handing out the cached token scales with cores. Copies are made on first use and
    /// die with this entry.
    shards: Box<[Shard]>,
    /// Where the hits counted in the shards go (the client's cache-hit counter).
    hits: HitCounter,
}

/// One shard's copy of the token and its count of cache hits not yet added to the counter, in
/// a cache line of its own. (The copies' reference counts live in their own allocations, made
/// by the thread that first asks.)
#[repr(align(64))]
struct Shard {
    copy: OnceLock<Token>,
    /// Hits since the last flush.
    pending: AtomicU64,
    /// The second after the token was issued (on the client's clock) from which the next hit
    /// adds what is pending; 0 until the first hit, so a first hit counts at once.
    flush_after: AtomicU64,
}

impl Cached {
    /// A cache entry for `token`, counting its hits for `telemetry`.
    pub(crate) fn new(token: Token, fields: Map<String, Value>, telemetry: &Telemetry) -> Self {
        Cached {
            token,
            fields,
            shards: (0..shard_count())
                .map(|_| Shard {
                    copy: OnceLock::new(),
                    pending: AtomicU64::new(0),
                    flush_after: AtomicU64::new(0),
                })
                .collect(),
            hits: telemetry.hit_counter(),
        }
    }

    /// The token as this thread hands it out: its shard's copy, with the hit counted. Hits are
    /// added to the metrics counter at most once a second per shard (a shard's first hit after
    /// a quiet second at once), and what is pending when the entry is replaced is added then,
    /// so threads answering from the cache never write one shared counter on every call.
    #[inline]
    fn hand_out(&self, now: Instant) -> Token {
        // The shard count is a power of two: a mask, not a division.
        let index = thread_shard() & (self.shards.len() - 1);
        let shard = &self.shards[index];
        let token = if index == 0 {
            self.token.clone()
        } else {
            shard.copy.get_or_init(|| self.token.private_copy()).clone()
        };
        if HitCounter::COUNTS {
            shard.pending.fetch_add(1, Ordering::Relaxed);
            // Whole seconds since the token was issued: a field read, no division.
            let second = now
                .saturating_duration_since(self.token.issued_at())
                .as_secs();
            if second >= shard.flush_after.load(Ordering::Relaxed) {
                shard.flush_after.store(second + 1, Ordering::Relaxed);
                self.hits.add(shard.pending.swap(0, Ordering::Relaxed));
            }
        }
        token
    }
}

impl Drop for Cached {
    fn drop(&mut self) {
        let pending: u64 = self
            .shards
            .iter_mut()
            .map(|s| std::mem::take(s.pending.get_mut()))
            .sum();
        if pending > 0 {
            self.hits.add(pending);
        }
    }
}

/// How many shards a cached token has: one per core the process may run on, rounded up to a
/// power of two, at most 64.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, 64)
            .next_power_of_two()
    })
}

/// This thread's shard number: threads are numbered as they first ask, so the threads of a
/// pool land in different shards.
#[inline]
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SHARD.with(|s| *s)
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
    renewal: Mutex<Renewal>,
    /// Whether the last token was dropped because an API refused it, so the renewal that
    /// follows says so.
    refused: AtomicBool,
}

impl TokenCell {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        TokenCell {
            current: ArcSwapOption::empty(),
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
    }

    /// Drops the cached token, whatever it is.
    pub(crate) fn clear(&self) {
        self.current.store(None);
    }

    /// Drops `token` if it is still the current one; a token that was already replaced is left
    /// alone, so a late `401` never throws away a newer token. Whether it was dropped.
    pub(crate) fn invalidate(&self, token: &Token) -> bool {
        let current = self.current.load();
        if current.as_ref().is_some_and(|c| c.token.same_as(token)) {
            let _ = self.current.compare_and_swap(&*current, None);
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
    /// Now on that clock (the cached path's one reading).
    fn now(&self) -> Instant {
        self.clock().now()
    }
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
    /// The DPoP key and nonces its requests are signed with, for a DPoP provider.
    fn dpop(&self) -> Option<&crate::dpop::Dpop>;
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

/// A valid access token: the cached one while fresh (no I/O, no lock), otherwise the result of
/// the one renewal in flight. Between the refresh point and expiry the cached token is returned
/// at once and renewal runs in the background.
pub(crate) fn access_token<R: Renewer>(owner: &R) -> AccessToken<'_, R> {
    AccessToken {
        owner,
        renewal: None,
    }
}

/// The future of [`access_token`]: a cached call is one poll that reads the cache, with no
/// state machine around it; only a call that has to wait holds a (boxed) renewal.
pub(crate) struct AccessToken<'a, R> {
    owner: &'a R,
    renewal: Option<Waiting<'a>>,
}

/// A caller's wait for the renewal in flight.
type Waiting<'a> = Pin<Box<dyn Future<Output = Result<Arc<Cached>, Error>> + Send + 'a>>;

impl<R: Renewer> Future for AccessToken<'_, R> {
    type Output = Result<Token, Error>;

    #[inline]
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        let renewal = match &mut this.renewal {
            Some(renewal) => renewal,
            None => {
                if let Some(token) = fresh(this.owner) {
                    return std::task::Poll::Ready(Ok(token));
                }
                this.renewal.insert(Box::pin(renewed(this.owner)))
            }
        };
        renewal
            .as_mut()
            .poll(cx)
            .map(|result| result.map(|cached| cached.token.clone()))
    }
}

/// The cached token and its fields while unexpired, else those of a renewal.
pub(crate) async fn unexpired<R: Renewer>(owner: &R) -> Result<Arc<Cached>, Error> {
    match owner.cell().current() {
        Some(c) if owner.clock().now() < c.token.expires_at() => Ok(c),
        _ => renewed(owner).await,
    }
}

/// The cached token if it can be handed out now: one clock reading and one lock-free load.
/// In the renewal window it is still handed out, and one background renewal starts.
#[inline]
pub(crate) fn fresh<R: Renewer>(owner: &R) -> Option<Token> {
    let guard = owner.cell().current.load();
    let cached = guard.as_ref()?;
    let now = owner.now();
    if now < cached.token.refresh_at() {
        return Some(cached.hand_out(now));
    }
    if now < cached.token.expires_at() {
        let token = cached.hand_out(now);
        drop(guard);
        renew_in_background(owner, now);
        return Some(token);
    }
    None
}

fn renew_in_background<R: Renewer>(owner: &R, now: Instant) {
    let claim = {
        let Ok(mut renewal) = owner.cell().renewal.try_lock() else {
            return; // someone else is deciding right now
        };
        if renewal.running.is_some() || renewal.not_before.is_some_and(|t| now < t) {
            return;
        }
        claim(&mut renewal)
    };
    // Started with the lock released: a runtime that is shutting down drops the task at once,
    // and the task's guard takes the lock to free the slot.
    let _ = launch(owner, claim, Reason::AheadOfExpiry);
}

/// Waits for the renewal in flight, starting one if there is none.
pub(crate) async fn renewed<R: Renewer>(owner: &R) -> Result<Arc<Cached>, Error> {
    let cell = owner.cell();
    let (mut rx, start) = {
        let mut renewal = cell.renewal.lock().unwrap_or_else(PoisonError::into_inner);
        // A renewal may have finished between the caller's look at the cache and this lock.
        if let Some(c) = cell.current.load_full()
            && owner.clock().now() < c.token.expires_at()
        {
            return Ok(c);
        }
        match &renewal.running {
            // A renewal whose task is gone without an outcome is dead: start anew.
            Some((_, rx)) if rx.has_changed().is_ok() || rx.borrow().is_some() => {
                (rx.clone(), None)
            }
            _ => {
                let reason = if cell.refused.swap(false, Ordering::Relaxed) {
                    Reason::Unauthorized
                } else if cell.current.load().is_some() {
                    Reason::Expired
                } else {
                    Reason::First
                };
                let claim = claim(&mut renewal);
                (claim.rx.clone(), Some((claim, reason)))
            }
        }
    };
    // Nothing runs under the slot's lock but bookkeeping: the task is made and spawned after
    // it is released, so no drop code (the task's guard, the owner's clones) can take it again.
    if let Some((claim, reason)) = start {
        launch(owner, claim, reason)?;
    }
    let interrupted = || Error::Interrupted {
        provider: owner.title(),
    };
    match rx.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or_else(|| Err(interrupted())),
        Err(_) => Err(interrupted()),
    }
}

/// A renewal slot taken under the lock: its number and the channel its outcome goes out on.
struct Claim {
    number: u64,
    tx: watch::Sender<Outcome>,
    rx: watch::Receiver<Outcome>,
}

/// Takes the renewal slot: from now on callers wait on this renewal.
fn claim(renewal: &mut Renewal) -> Claim {
    let (tx, rx) = watch::channel(None);
    let number = renewal.next;
    renewal.next = renewal.next.wrapping_add(1);
    renewal.running = Some((number, rx.clone()));
    Claim { number, tx, rx }
}

/// Starts the claimed renewal in its own task, so that callers giving up never stop it. Must
/// be called without the slot's lock held. When it cannot start (a configuration error, no
/// runtime), its waiters get the error and the slot is freed.
fn launch<R: Renewer>(owner: &R, claim: Claim, reason: Reason) -> Result<(), Error> {
    let Claim { number, tx, rx } = claim;
    // Made before anything can fail, so that every way out frees the slot: an error here, a
    // task dropped before it first runs (its runtime shutting down), a panic.
    let guard = SlotGuard {
        cell: Arc::clone(owner.cell()),
        renewal: number,
    };
    let ready = owner.can_renew().and_then(|()| {
        tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("tokenspec clients must be used inside a Tokio runtime"))
    });
    let runtime = match ready {
        Ok(runtime) => runtime,
        Err(e) => {
            drop(guard);
            let _ = tx.send(Some(Err(e.clone())));
            drop(rx);
            return Err(e);
        }
    };
    drop(rx);
    let owner = owner.clone();
    let work = owner.renew();
    let span = owner.telemetry().renewal_span(reason, owner.is_session());
    let task = async move {
        let cell = owner.cell();
        let result = work
            .await
            .map(|(token, fields)| Arc::new(Cached::new(token, fields, owner.telemetry())));
        if let Ok(cached) = &result {
            cell.set(Arc::clone(cached));
        }
        let not_before = result
            .is_err()
            .then(|| owner.clock().now() + BACKGROUND_RETRY);
        cell.renewal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .not_before = not_before;
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
    Ok(())
}

impl TokenClient {
    /// A valid access token: the cached one while fresh (no I/O, no lock), otherwise the result
    /// of the one renewal in flight. Between the refresh point and expiry the cached token is
    /// returned at once and renewal runs in the background.
    pub fn access_token(&self) -> impl crate::TokenFuture + Unpin + '_ {
        access_token(self)
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
