//! The cache and its single-flight renewal: the state machine behind `access_token()`. It asks
//! `renew` for a token and never sees how one is obtained.

use std::cell::RefCell;
use std::sync::Weak;
use std::sync::atomic::Ordering;

use super::*;

/// How long a failed renewal ahead of expiry waits before the next attempt, while the cached
/// token is still valid and keeps being served.
pub(super) const BACKGROUND_RETRY: Duration = Duration::from_secs(5);

/// A token in the cache, with the response fields of the answer it came in.
pub(super) struct Cached {
    pub(super) token: Token,
    pub(super) fields: Map<String, Value>,
}

/// What a renewal publishes to its waiters: nothing yet, or its result.
pub(super) type Outcome = Option<Result<Arc<Cached>, Error>>;

/// Who renews, and when the next background renewal may start.
#[derive(Default)]
pub(super) struct Renewal {
    /// The renewal in flight, if any, by number; every caller that needs a token waits on it.
    pub(super) running: Option<(u64, watch::Receiver<Outcome>)>,
    /// Number of the next renewal.
    pub(super) next: u64,
    /// No background renewal before this instant (after a failed one).
    pub(super) not_before: Option<Instant>,
}

/// Owned by a renewal's task: however the task ends (it finishes, panics, or is dropped with
/// its runtime, even before it first runs), dropping this frees the renewal slot if it is
/// still this renewal's, so the next call starts a new renewal instead of waiting on a dead one.
pub(super) struct SlotGuard {
    pub(super) inner: Arc<Inner>,
    pub(super) renewal: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut renewal = self
            .inner
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
    client: Weak<Inner>,
    generation: u64,
    until: coarsetime::Instant,
    token: Token,
}

thread_local! {
    /// This thread's fast-path entries, one per client it used recently.
    static FAST: RefCell<Vec<Fast>> = const { RefCell::new(Vec::new()) };
}

/// The coarse monotonic clock: the kernel's last tick, read without a system call or a
/// hardware counter, and without writing shared memory (so every core can read it at once).
fn coarse_now() -> coarsetime::Instant {
    coarsetime::Instant::now_without_cache_update()
}

/// This thread's copy of `inner`'s cached token, if the cache has not changed since
/// (`generation`) and the token is still well before its refresh point.
fn fast_lookup(inner: &Arc<Inner>, generation: u64) -> Option<Token> {
    FAST.with(|fast| {
        let fast = fast.borrow();
        let entry = fast
            .iter()
            .find(|e| std::ptr::eq(e.client.as_ptr(), Arc::as_ptr(inner)))?;
        (entry.generation == generation && coarse_now() < entry.until).then(|| entry.token.clone())
    })
}

/// `cached`'s token as a copy private to this thread: handing it out touches no memory other
/// threads write, so `access_token()` scales with cores. With the system clock, the copy is
/// also remembered for the fast path until shortly before `fresh_for` runs out. The `Weak`
/// keeps the client's address from being reused while its entry is listed.
fn thread_copy(inner: &Arc<Inner>, generation: u64, cached: &Cached, fresh_for: Duration) -> Token {
    let until = match fresh_for.checked_sub(COARSE_SLACK) {
        Some(left) if inner.system_clock => {
            let millis = u64::try_from(left.as_millis()).unwrap_or(u64::MAX / 2);
            coarse_now() + coarsetime::Duration::from_millis(millis)
        }
        _ => coarse_now(),
    };
    FAST.with(|fast| {
        let mut fast = fast.borrow_mut();
        if let Some(entry) = fast
            .iter_mut()
            .find(|e| std::ptr::eq(e.client.as_ptr(), Arc::as_ptr(inner)))
        {
            if !entry.token.same_as(&cached.token) {
                entry.token = cached.token.private_copy();
            }
            entry.generation = generation;
            entry.until = until;
            return entry.token.clone();
        }
        fast.retain(|e| e.client.strong_count() > 0);
        if fast.len() >= 32 {
            fast.remove(0);
        }
        let token = cached.token.private_copy();
        fast.push(Fast {
            client: Arc::downgrade(inner),
            generation,
            until,
            token: token.clone(),
        });
        token
    })
}

impl TokenClient {
    /// A valid access token: the cached one while fresh (no I/O, no lock), otherwise the result
    /// of the one renewal in flight. Between the refresh point and expiry the cached token is
    /// returned at once and renewal runs in the background.
    pub async fn access_token(&self) -> Result<Token, Error> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        Ok(self.renewed().await?.token.clone())
    }

    /// The cached token with the typed fields of the answer it came in.
    #[doc(hidden)]
    pub async fn cached_response<F: FromFields>(&self) -> Result<TokenResponse<F>, Error> {
        let cached = match self.inner.current.load_full() {
            Some(c) if self.inner.settings.clock.now() < c.token.expires_at() => c,
            _ => self.renewed().await?,
        };
        let mut fields = Fields::new(self.inner.provider.title, cached.fields.clone());
        Ok(TokenResponse {
            token: cached.token.clone(),
            fields: F::from_fields(&mut fields)?,
        })
    }

    /// The cached token if it can be handed out now: first from this thread's fast-path entry
    /// (no shared memory written, no precise clock read), else from the shared cache. In the
    /// renewal window it is still handed out, and one background renewal starts.
    pub(super) fn fresh(&self) -> Option<Token> {
        let inner = &self.inner;
        let generation = inner.generation.load(Ordering::Acquire);
        if inner.system_clock
            && let Some(token) = fast_lookup(inner, generation)
        {
            return Some(token);
        }
        let guard = inner.current.load();
        let cached = guard.as_ref()?;
        let now = inner.settings.clock.now();
        if now < cached.token.refresh_at() {
            let fresh_for = cached.token.refresh_at() - now;
            return Some(thread_copy(inner, generation, cached, fresh_for));
        }
        if now < cached.token.expires_at() {
            self.renew_in_background(now);
            return Some(thread_copy(inner, generation, cached, Duration::ZERO));
        }
        None
    }

    pub(super) fn renew_in_background(&self, now: Instant) {
        let Ok(mut renewal) = self.inner.renewal.try_lock() else {
            return; // someone else is deciding right now
        };
        if renewal.running.is_some() || renewal.not_before.is_some_and(|t| now < t) {
            return;
        }
        if let Ok(rx) = self.start(&mut renewal) {
            drop(rx);
        }
    }

    /// Waits for the renewal in flight, starting one if there is none.
    pub(super) async fn renewed(&self) -> Result<Arc<Cached>, Error> {
        let mut rx = {
            let mut renewal = self
                .inner
                .renewal
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A renewal may have finished between the caller's look at the cache and this lock.
            if let Some(c) = self.inner.current.load_full()
                && self.inner.settings.clock.now() < c.token.expires_at()
            {
                return Ok(c);
            }
            match &renewal.running {
                // A renewal whose task is gone without an outcome is dead: start anew.
                Some((_, rx)) if rx.has_changed().is_ok() || rx.borrow().is_some() => rx.clone(),
                _ => self.start(&mut renewal)?,
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Err(Error::Interrupted {
                provider: self.inner.provider.title,
            })),
            Err(_) => Err(Error::Interrupted {
                provider: self.inner.provider.title,
            }),
        }
    }

    /// Starts the one renewal, in its own task so that callers giving up never stop it.
    pub(super) fn start(&self, renewal: &mut Renewal) -> Result<watch::Receiver<Outcome>, Error> {
        let Some(flow_index) = self.inner.provider.cached_flow else {
            return Err(Error::config(format!(
                "{} has no flow that fetches the client's own token",
                self.inner.provider.title
            )));
        };
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("tokenspec clients must be used inside a Tokio runtime"))?;
        let (tx, rx) = watch::channel(None);
        let number = renewal.next;
        renewal.next = renewal.next.wrapping_add(1);
        renewal.running = Some((number, rx.clone()));
        let client = self.clone();
        // Made here, not inside the task, so that a task dropped before it first runs frees the
        // slot too.
        let guard = SlotGuard {
            inner: Arc::clone(&self.inner),
            renewal: number,
        };
        runtime.spawn(async move {
            let inner = &client.inner;
            let flow = &inner.provider.flows[flow_index];
            let result = client.renew(flow).await.map(|(token, fields)| Arc::new(Cached { token, fields }));
            if let Ok(cached) = &result {
                inner.current.store(Some(Arc::clone(cached)));
                inner.generation.fetch_add(1, Ordering::Release);
            }
            inner.renewal.lock().unwrap_or_else(PoisonError::into_inner).not_before =
                result.is_err().then(|| inner.settings.clock.now() + BACKGROUND_RETRY);
            drop(guard);
            match &result {
                Ok(c) => tracing::debug!(provider = inner.provider.name, lifetime_secs = c.token.lifetime().as_secs(), "token renewed"),
                Err(e) => tracing::warn!(provider = inner.provider.name, error = %e.chain(), "token renewal failed"),
            }
            let _ = tx.send(Some(result));
        });
        Ok(rx)
    }
}
