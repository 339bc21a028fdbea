//! What tokenspec tells operators about token traffic: tracing spans and events under the
//! `tokenspec` target and, with the `metrics` feature, counters and a histogram through the
//! [`metrics`](https://docs.rs/metrics) facade. Their names, fields and labels are part of the
//! public API (docs/observability.md lists them): dashboards and alerts are built on them, so
//! they change only in a major release. No value recorded here is ever a secret or a token:
//! every field is a name from the spec, a number, or one of the fixed words below.

#[cfg(feature = "metrics")]
use std::sync::Arc;

#[cfg(feature = "metrics")]
use arc_swap::ArcSwap;
use std::time::Duration;

use crate::error::Error;

/// Why a cached token is being replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Renewal {
    /// There was no token yet.
    First,
    /// The cached token reached its refresh point and is still served while the new one is on
    /// its way.
    AheadOfExpiry,
    /// The cached token expired: callers wait for the new one.
    Expired,
    /// An API answered `401 Unauthorized` to the cached token, which was dropped.
    Unauthorized,
}

impl Renewal {
    /// The `reason` field and label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Renewal::First => "first",
            Renewal::AheadOfExpiry => "ahead_of_expiry",
            Renewal::Expired => "expired",
            Renewal::Unauthorized => "unauthorized",
        }
    }
}

/// How a token request ended, as the `outcome` field and label say it.
pub(crate) fn outcome(result: Result<(), &Error>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(Error::Rejected { .. }) => "rejected",
        Err(Error::Transport { .. }) => "unreachable",
        Err(
            Error::InvalidResponse { .. }
            | Error::MissingField { .. }
            | Error::Redirect { .. }
            | Error::BodyTooLarge { .. }
            | Error::IdToken(_),
        ) => "invalid_answer",
        Err(_) => "other",
    }
}

/// A client's telemetry: its labels, and the handle of the hot path's counter. The handle is
/// taken again at every renewal (rare: about once per token lifetime), so a recorder installed
/// after the client was built gets its cache hits from the client's next renewal on, while a
/// cache hit itself costs one handle load and one increment, with no registry lookup.
pub(crate) struct Telemetry {
    pub(crate) provider: &'static str,
    pub(crate) environment: &'static str,
    #[cfg(feature = "metrics")]
    cache_hits: Arc<ArcSwap<metrics::Counter>>,
}

/// The cache-hit counter of a client in the recorder installed now (a no-op before one is).
#[cfg(feature = "metrics")]
fn cache_hits_counter(provider: &'static str, environment: &'static str) -> metrics::Counter {
    metrics::counter!(
        "tokenspec_cache_hits_total",
        "provider" => provider,
        "environment" => environment,
    )
}

impl Telemetry {
    pub(crate) fn new(provider: &'static str, environment: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        describe();
        Telemetry {
            provider,
            environment,
            #[cfg(feature = "metrics")]
            cache_hits: Arc::new(ArcSwap::from_pointee(cache_hits_counter(
                provider,
                environment,
            ))),
        }
    }

    /// Where a cached token's hits are counted (`tokenspec_cache_hits_total`).
    pub(crate) fn hit_counter(&self) -> HitCounter {
        HitCounter {
            #[cfg(feature = "metrics")]
            counter: Arc::clone(&self.cache_hits),
        }
    }

    /// A renewal starts, in the span it will run in (`tokenspec.renewal`).
    pub(crate) fn renewal_span(&self, reason: Renewal, session: bool) -> tracing::Span {
        #[cfg(feature = "metrics")]
        {
            describe();
            self.cache_hits.store(Arc::new(cache_hits_counter(
                self.provider,
                self.environment,
            )));
        }
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "tokenspec_renewals_total",
            "provider" => self.provider,
            "environment" => self.environment,
            "reason" => reason.as_str(),
        )
        .increment(1);
        let span = tracing::info_span!(
            target: "tokenspec",
            parent: None,
            "tokenspec.renewal",
            provider = self.provider,
            environment = self.environment,
            reason = reason.as_str(),
            session,
        );
        span.follows_from(tracing::Span::current());
        span
    }

    /// An API answered `401 Unauthorized` to a token this client handed out, and the token was
    /// dropped: the next request renews (`reason = "unauthorized"`).
    pub(crate) fn unauthorized(&self) {
        tracing::info!(
            target: "tokenspec",
            provider = self.provider,
            environment = self.environment,
            status = 401u16,
            "tokenspec.unauthorized: the API refused the token; it is dropped and renewed"
        );
    }

    /// A token request's span (`tokenspec.token_request`): one per request, retries included.
    pub(crate) fn request_span(&self, flow: &'static str) -> tracing::Span {
        tracing::info_span!(
            target: "tokenspec",
            "tokenspec.token_request",
            provider = self.provider,
            environment = self.environment,
            flow,
            attempts = tracing::field::Empty,
            outcome = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            lifetime_s = tracing::field::Empty,
        )
    }

    /// One attempt of a token request ended (`tokenspec.attempt` event), with the status the
    /// server answered if it answered.
    pub(crate) fn attempt(
        &self,
        attempt: u32,
        status: Option<u16>,
        latency: Duration,
        result: Result<(), &Error>,
    ) {
        let outcome = outcome(result);
        let latency_ms = latency.as_secs_f64() * 1e3;
        tracing::debug!(
            target: "tokenspec",
            attempt,
            status,
            latency_ms,
            outcome,
            "tokenspec.attempt"
        );
    }

    /// A token request ended, all its attempts included: records the span's fields, logs the
    /// outcome (`tokenspec.token_request.end`), and counts and times it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn request_end(
        &self,
        span: &tracing::Span,
        flow: &'static str,
        attempts: u32,
        status: Option<u16>,
        latency: Duration,
        lifetime: Option<Duration>,
        result: Result<(), &Error>,
    ) {
        let outcome = outcome(result);
        let latency_ms = latency.as_secs_f64() * 1e3;
        span.record("attempts", attempts);
        span.record("outcome", outcome);
        if let Some(status) = status {
            span.record("status", status);
        }
        span.record("latency_ms", latency_ms);
        if let Some(lifetime) = lifetime {
            span.record("lifetime_s", lifetime.as_secs());
        }
        let _inside = span.enter();
        match result {
            Ok(()) => tracing::info!(
                target: "tokenspec",
                outcome,
                attempts,
                status,
                latency_ms,
                lifetime_s = lifetime.map(|l| l.as_secs()),
                "tokenspec.token_request.end: token granted"
            ),
            Err(e) => tracing::warn!(
                target: "tokenspec",
                outcome,
                attempts,
                status,
                latency_ms,
                error = %e.chain(),
                "tokenspec.token_request.end: no token"
            ),
        }
        #[cfg(feature = "metrics")]
        {
            let labels = [
                ("provider", self.provider),
                ("environment", self.environment),
                ("flow", flow),
                ("outcome", outcome),
            ];
            metrics::counter!("tokenspec_token_requests_total", &labels).increment(1);
            metrics::histogram!("tokenspec_token_request_duration_seconds", &labels)
                .record(latency.as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = flow;
    }

    /// The shared token store could not help and the client fetched a token without it
    /// (`tokenspec.store_fallback`); `reason` is the store's own description, which names no
    /// secret.
    pub(crate) fn store_fallback(&self, what: &'static str, reason: &str) {
        tracing::warn!(
            target: "tokenspec",
            provider = self.provider,
            environment = self.environment,
            what,
            reason,
            "tokenspec.store_fallback: the token store is unavailable; going on without it"
        );
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "tokenspec_store_fallbacks_total",
            "provider" => self.provider,
            "environment" => self.environment,
            "what" => what,
        )
        .increment(1);
    }
}

/// The cache-hit counter a cached token adds its hits to (a cached token tallies hits per
/// shard of threads and adds them at most once a second, see `Cached::hand_out`). Without the
/// `metrics` feature it is nothing, and hits are not tallied at all.
pub(crate) struct HitCounter {
    #[cfg(feature = "metrics")]
    counter: Arc<ArcSwap<metrics::Counter>>,
}

impl HitCounter {
    /// Whether hits are counted in this build.
    pub(crate) const COUNTS: bool = cfg!(feature = "metrics");

    /// Adds `hits` to the counter of the recorder this client last saw.
    pub(crate) fn add(&self, hits: u64) {
        #[cfg(feature = "metrics")]
        if hits > 0 {
            self.counter.load().increment(hits);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = hits;
    }
}

/// Gives the recorder installed now each metric's description and unit (Prometheus's `# HELP`
/// lines). Called when a client is built and at every renewal (rare: about once per token
/// lifetime), so a recorder installed later still learns them, by the first renewal after it.
#[cfg(feature = "metrics")]
fn describe() {
    metrics::describe_counter!(
        "tokenspec_token_requests_total",
        "Requests to token endpoints (retries included in one), by outcome"
    );
    metrics::describe_histogram!(
        "tokenspec_token_request_duration_seconds",
        metrics::Unit::Seconds,
        "Duration of each token request, retries and backoff included"
    );
    metrics::describe_counter!(
        "tokenspec_cache_hits_total",
        "access_token() calls answered from the cache without a request"
    );
    metrics::describe_counter!(
        "tokenspec_renewals_total",
        "Renewals of a cached token started, by reason (first, ahead_of_expiry, expired, unauthorized)"
    );
    metrics::describe_counter!(
        "tokenspec_store_fallbacks_total",
        "Times the shared token store could not help and the client went on without it"
    );
}
