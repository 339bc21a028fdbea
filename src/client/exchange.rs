//! The token requests themselves: building, sending with retries within the deadline,
//! reading the answer, per-call flows and the code exchange.

use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};

use tracing::Instrument;

use super::*;
use crate::dpop::Dpop;

/// The per-call values of the refresh-token flow `flow`, with `refresh_token` in the slot of its
/// `refresh_token` parameter; `None` when it has no such per-call parameter.
pub(super) fn refresh_values(
    flow: &Flow,
    refresh_token: &RefreshToken,
) -> Option<Vec<Option<ParamValue>>> {
    let slot = flow.params.iter().find_map(|p| match p.source {
        crate::descriptor::Source::Call(i) if p.name == "refresh_token" => Some(i),
        _ => None,
    })?;
    let mut values = vec![None; slot + 1];
    values[slot] = Some(ParamValue::Secret(SecretString::from(
        refresh_token.expose_secret().to_owned(),
    )));
    Some(values)
}

/// Who sends a token request, and what scrubs its answers: the same for every attempt of it.
#[derive(Clone, Copy)]
pub(super) struct Sender<'a> {
    credentials: &'a Credentials,
    /// The builder's settings, token files read for this request.
    config: &'a [Option<ParamValue>],
    redactor: &'a Redactor,
    /// The key its proofs are signed with, for a DPoP provider: the client's or a session's.
    dpop: Option<&'a Dpop>,
}

impl TokenClient {
    /// Sends one token request of `flow` and reads the answer.
    pub(super) async fn fetch(
        &self,
        flow: &'static Flow,
        call: &[Option<ParamValue>],
        extra: &[Extra<'_>],
        dpop: Option<&Dpop>,
    ) -> Result<(Token, Map<String, Value>), Error> {
        let inner = &self.inner;
        let provider = inner.provider;
        // One secret for every attempt, and the redactor that knows it. Token files are read
        // once per token request, so a rotated token is used from the next renewal on.
        let keys = inner.credentials.load_full();
        let config = request::read_files(&inner.config)?;
        let from_files = matches!(config, std::borrow::Cow::Owned(_));
        let credentials = keys.credentials.for_request(self.client_auth(flow))?;
        let redactor = {
            let extra: Vec<String> = call
                .iter()
                .flatten()
                .chain(extra.iter().map(|e| &e.value))
                .chain(config.iter().flatten().filter(|_| from_files))
                .filter_map(|v| match v {
                    ParamValue::Secret(s) => Some(s.expose_secret().to_owned()),
                    _ => None,
                })
                .chain(
                    credentials
                        .assertion
                        .as_ref()
                        .map(|a| a.expose_secret().to_owned()),
                )
                .collect();
            if extra.is_empty() {
                keys.redactor.clone()
            } else {
                keys.redactor.with(extra)
            }
        };
        let policy = inner.retry;
        // Codes and refresh tokens are single use: repeat such a request only when the provider
        // cannot have processed it.
        let single_use = matches!(flow.grant, Grant::AuthorizationCode | Grant::RefreshToken);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.initial_backoff)
            .with_max_delay(policy.max_backoff)
            .with_max_times(policy.attempts.saturating_sub(1) as usize)
            .with_jitter();
        let telemetry = &inner.telemetry;
        let span = telemetry.request_span(flow.name);
        let started = Instant::now();
        let attempts = AtomicU32::new(0);
        // The status of the last answer, 0 before any.
        let status = AtomicU16::new(0);
        let status_now = || Some(status.load(Ordering::Relaxed)).filter(|s| *s != 0);
        let one = || async {
            let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            let sent = Instant::now();
            status.store(0, Ordering::Relaxed);
            let sender = Sender {
                credentials: &credentials,
                config: &config,
                redactor: &redactor,
                dpop,
            };
            let result = self.attempt(flow, call, extra, &sender, &status).await;
            telemetry.attempt(
                attempt,
                status_now(),
                sent.elapsed(),
                result.as_ref().map(|_| ()),
            );
            result
        };
        let attempts_made = (one)
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &Error| if single_use { e.is_safe_to_repeat() } else { e.is_transient() })
            .adjust(|e: &Error, wait: Option<Duration>| {
                // Honour Retry-After (capped at the longest backoff) when the provider sends it.
                wait.map(|w| e.retry_after().map_or(w, |asked| asked.min(policy.max_backoff)))
            })
            .notify(|e: &Error, wait: Duration| {
                tracing::warn!(target: "tokenspec", provider = provider.name, error = %e.chain(), wait_ms = wait.as_millis() as u64, "tokenspec.retry: token request failed; retrying");
            });
        let result = match tokio::time::timeout(inner.settings.deadline, attempts_made)
            .instrument(span.clone())
            .await
        {
            Ok(result) => result,
            Err(_) => Err(Error::Transport {
                provider: provider.title,
                kind: TransportKind::Timeout,
                detail: format!(
                    "no token within the {:?} deadline, retries included",
                    inner.settings.deadline
                ),
                cause: None,
            }),
        };
        telemetry.request_end(
            &span,
            flow.name,
            attempts.load(Ordering::Relaxed),
            status_now(),
            started.elapsed(),
            result.as_ref().ok().map(|(token, _)| token.lifetime()),
            result.as_ref().map(|_| ()),
        );
        result
    }

    /// One token request and its answer.
    pub(super) async fn attempt(
        &self,
        flow: &'static Flow,
        call: &[Option<ParamValue>],
        extra: &[Extra<'_>],
        sender: &Sender<'_>,
        status_seen: &AtomicU16,
    ) -> Result<(Token, Map<String, Value>), Error> {
        let Sender {
            credentials,
            config,
            redactor,
            dpop,
        } = *sender;
        let inner = &self.inner;
        let provider = inner.provider;
        let http = inner.http.client()?;
        let sent = inner.settings.clock.now();
        let wall_sent = inner.settings.clock.wall();
        let endpoint = self.token_endpoint(flow).await?;
        let answer = self
            .send_token_request(&http, dpop, |now| {
                self.build_request(
                    &http,
                    &endpoint,
                    flow,
                    (config, call),
                    extra,
                    credentials,
                    now,
                )
            })
            .await?;
        let (status, body) = (answer.status, answer.body);
        status_seen.store(status, Ordering::Relaxed);
        let retry_after = answer
            .headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| response::retry_after(v, wall_sent));
        let parsed = match response::interpret(provider, flow, status, &body, wall_sent, redactor) {
            Ok(parsed) => parsed,
            Err(Error::Rejected {
                provider,
                status,
                mut rejection,
            }) => {
                rejection.retry_after = retry_after;
                rejection.by_assertion = self.client_auth(flow).assertion.is_some();
                return Err(Error::Rejected {
                    provider,
                    status,
                    rejection,
                });
            }
            Err(e) => return Err(e),
        };
        let token = Token::with_margin(parsed.token, sent, parsed.lifetime, inner.margin)
            .dpop_bound(dpop.is_some() && !crate::dpop::issued_as_bearer(&body));
        Ok((token, parsed.fields))
    }

    /// `path` under the base URL.
    pub(super) fn under_base(&self, path: &str) -> Url {
        let base = &self.inner.base;
        let mut url = base.clone();
        url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
        url
    }

    /// A request of the client's own to an endpoint of the server other than the token
    /// endpoint (a pushed authorization request, a device authorization): `flow` with these
    /// values, the client authenticated with `auth` as on its token requests, a DPoP proof
    /// when `dpop`, and its 2xx JSON answer read as `T`. A refusal is the provider's error; an
    /// answer that does not read is [`Error::InvalidResponse`] naming `what` it should hold.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn ask_server<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &Url,
        flow: &'static Flow,
        auth: &'static crate::descriptor::ClientAuth,
        values: &[Option<ParamValue>],
        extra: &[Extra<'_>],
        dpop: Option<&Dpop>,
        what: &str,
    ) -> Result<T, Error> {
        let inner = &self.inner;
        let provider = inner.provider;
        let http = inner.http.client()?;
        let keys = inner.credentials.load_full();
        let credentials = keys.credentials.for_request(auth)?;
        let answer = self
            .send_token_request(&http, dpop, |now| {
                request::build(
                    &http,
                    endpoint,
                    flow,
                    client_auth::Proof {
                        auth,
                        credentials: &credentials,
                        now,
                        issuer: self.issuer(),
                    },
                    &[],
                    values,
                    extra,
                )
            })
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(response::refusal(
                provider,
                answer.status,
                &answer.body,
                &keys.redactor,
            ));
        }
        serde_json::from_slice(&answer.body).map_err(|e| Error::InvalidResponse {
            provider: provider.title,
            status: answer.status,
            reason: format!("no readable {what} ({e})"),
        })
    }

    /// Where `flow`'s token requests go: its path under the base URL, or the token endpoint
    /// of the authorization server's metadata (fetched once), its mutual-TLS alias when this
    /// client sends a certificate (RFC 8705 §5).
    pub(super) async fn token_endpoint(&self, flow: &'static Flow) -> Result<Url, Error> {
        let inner = &self.inner;
        if let Some(path) = flow.path {
            return Ok(self.under_base(path));
        }
        let server = self.server_metadata().ok_or_else(|| {
            Error::config(format!(
                "flow `{}` of {} has no path, and the spec names no authorization server whose                  metadata gives its token endpoint: the module and its descriptor disagree;                  generate the module again",
                flow.name, inner.provider.title
            ))
        })?;
        self.endpoints(server).await?.token_endpoint.ok_or_else(|| {
            Error::Discovery(format!(
                "the document names no `token_endpoint`, which flow `{}` needs: ask the                  provider, or give the flow a `path` in the spec",
                flow.name
            ))
        })
    }

    /// `server`'s metadata (fetched once) with the endpoints this client uses: the mutual-TLS
    /// aliases (RFC 8705 §5) when it sends a certificate, so its certificate-bound requests
    /// reach the hosts that ask for one.
    pub(super) async fn endpoints(
        &self,
        server: &crate::metadata::Metadata,
    ) -> Result<crate::metadata::Discovery, Error> {
        let discovery = server.discover().await?;
        Ok(if self.inner.settings.client_identity.is_some() {
            discovery.with_mutual_tls_aliases()
        } else {
            discovery
        })
    }

    /// The token request of `flow` to `endpoint` with these values, its client proof made at
    /// `now`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build_request(
        &self,
        http: &reqwest::Client,
        endpoint: &Url,
        flow: &'static Flow,
        (config, call): (&[Option<ParamValue>], &[Option<ParamValue>]),
        extra: &[Extra<'_>],
        credentials: &Credentials,
        now: std::time::SystemTime,
    ) -> Result<reqwest::RequestBuilder, Error> {
        request::build(
            http,
            endpoint,
            flow,
            client_auth::Proof {
                auth: self.client_auth(flow),
                credentials,
                now,
                issuer: self.issuer(),
            },
            config,
            call,
            extra,
        )
    }

    /// Sends a token request (or a pushed authorization request), built by `build` for the
    /// time of sending, and reads the whole answer: with a DPoP proof for a DPoP provider, and
    /// when the server asks for its nonce (RFC 9449 §8), built again (a client assertion's
    /// `jti` is single use), signed with the nonce and sent once more.
    pub(super) async fn send_token_request<'b>(
        &self,
        http: &reqwest::Client,
        dpop: Option<&Dpop>,
        build: impl Fn(std::time::SystemTime) -> Result<reqwest::RequestBuilder, Error> + 'b,
    ) -> Result<crate::outbound::Answer, Error> {
        let clock = &self.inner.settings.clock;
        let Some(dpop) = dpop else {
            return self.send_to_server(http, build(clock.wall())?).await;
        };
        let title = self.inner.provider.title;
        let signed = |now| -> Result<reqwest::Request, Error> {
            let mut request = build(now)?
                .build()
                .map_err(|e| Fault::from_reqwest(e).for_token_request(title))?;
            dpop.sign(&mut request, None, now)?;
            Ok(request)
        };
        let request = signed(clock.wall())?;
        let url = request.url().clone();
        let answer = self.exchange(http, request).await?;
        dpop.remember(&url, &answer.headers);
        // Sent again once at most, so a server that keeps asking cannot make a loop.
        let challenged = answer.headers.contains_key(crate::dpop::DPOP_NONCE)
            && crate::dpop::token_endpoint_wants_nonce(answer.status, &answer.body);
        if !challenged {
            return Ok(answer);
        }
        let answer = self.exchange(http, signed(clock.wall())?).await?;
        dpop.remember(&url, &answer.headers);
        Ok(answer)
    }

    /// Sends a request to the provider's token (or revocation) endpoint and reads the whole
    /// answer, within the size limit and the request timeout.
    pub(super) async fn send_to_server(
        &self,
        http: &reqwest::Client,
        request: reqwest::RequestBuilder,
    ) -> Result<crate::outbound::Answer, Error> {
        let title = self.inner.provider.title;
        let request = request
            .build()
            .map_err(|e| Fault::from_reqwest(e).for_token_request(title))?;
        self.exchange(http, request).await
    }

    /// Sends a built request to the provider and reads the whole answer.
    async fn exchange(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
    ) -> Result<crate::outbound::Answer, Error> {
        crate::outbound::exchange(
            http,
            request,
            self.inner.settings.max_body_bytes,
            self.inner.settings.timeout,
        )
        .await
        .map_err(|fault| fault.for_token_request(self.inner.provider.title))
    }

    /// The flow the spec names `name`.
    pub(super) fn flow(&self, name: &str) -> Result<&'static Flow, Error> {
        let provider = self.inner.provider;
        provider
            .flows
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| {
                Error::config(format!(
                    "{} has no flow named `{name}`: the module and its descriptor disagree; \
                     generate the module again",
                    provider.title
                ))
            })
    }

    /// Runs the per-call flow named `flow` with the caller's values (in the order of the
    /// flow's `call_params`). Not cached: each call is one request. An `id_token` in the answer
    /// is validated and its claims come back as the `id_token_claims` field.
    #[doc(hidden)]
    pub async fn request<F: FromFields>(
        &self,
        flow: &str,
        values: Vec<Option<ParamValue>>,
    ) -> Result<TokenResponse<F>, Error> {
        let flow = self.flow(flow)?;
        self.per_call(flow, &values, &[], None).await
    }

    /// Exchanges `code` with the authorization-code flow named `flow`: the code goes where
    /// the flow's `code` parameter goes, with the PKCE `code_verifier` and the `redirect_uri` of
    /// its authorization request beside it (unless the spec sets them itself); the ID token of
    /// the answer must carry the request's nonce, if it had one. `values` are the flow's other
    /// per-call values (the code's own slot is ignored).
    #[doc(hidden)]
    pub async fn exchange_code<F: FromFields>(
        &self,
        flow: &str,
        code: crate::AuthorizationCode,
        values: Vec<Option<ParamValue>>,
    ) -> Result<TokenResponse<F>, Error> {
        let (flow, values, extra, nonce) = self.code_request(flow, code, values)?;
        self.per_call(flow, &values, &extra, nonce.as_deref()).await
    }

    /// The request of a code exchange: the flow, its per-call values with the code in its
    /// slot, the PKCE verifier and redirect URI beside them (unless the spec sets them
    /// itself), and the nonce the ID token must carry back.
    #[allow(clippy::type_complexity)]
    pub(super) fn code_request(
        &self,
        flow: &str,
        code: crate::AuthorizationCode,
        mut values: Vec<Option<ParamValue>>,
    ) -> Result<
        (
            &'static Flow,
            Vec<Option<ParamValue>>,
            Vec<Extra<'static>>,
            Option<String>,
        ),
        Error,
    > {
        let flow = self.flow(flow)?;
        let Some((slot, location)) = flow.params.iter().find_map(|p| match p.source {
            crate::descriptor::Source::Call(i) if p.name == "code" => Some((i, p.location)),
            _ => None,
        }) else {
            return Err(Error::config(format!(
                "flow `{}` of {} has no per-call `code` parameter",
                flow.name, self.inner.provider.title
            )));
        };
        if values.len() <= slot {
            values.resize(slot + 1, None);
        }
        values[slot] = Some(ParamValue::Secret(code.code));
        let declared = |name: &str| flow.params.iter().any(|p| p.name == name);
        let mut extra = Vec::new();
        if let Some(verifier) = code.code_verifier.filter(|_| !declared("code_verifier")) {
            extra.push(Extra {
                name: "code_verifier",
                location,
                value: ParamValue::Secret(verifier),
            });
        }
        let redirect_uri = code
            .redirect_uri
            .or_else(|| self.inner.settings.redirect_uri.clone());
        if let Some(uri) = redirect_uri.filter(|_| !declared("redirect_uri")) {
            extra.push(Extra {
                name: "redirect_uri",
                location,
                value: ParamValue::Text(uri),
            });
        }
        Ok((flow, values, extra, code.nonce))
    }

    /// One per-call request with typed fields. A refresh token in the answer becomes the
    /// client's own (see [`TokenClient::refresh_token`]).
    pub(super) async fn per_call<F: FromFields>(
        &self,
        flow: &'static Flow,
        values: &[Option<ParamValue>],
        extra: &[Extra<'_>],
        nonce: Option<&str>,
    ) -> Result<TokenResponse<F>, Error> {
        let (token, fields) = self
            .per_call_raw(flow, values, extra, nonce, self.inner.dpop.as_ref())
            .await?;
        self.rotate_refresh_token(&fields);
        let mut fields = Fields::new(self.inner.provider.title, fields);
        Ok(TokenResponse {
            token,
            fields: F::from_fields(&mut fields)?,
        })
    }

    /// One per-call request, its ID token validated (with `nonce` when the authorization
    /// request had one) within the same deadline; its claims join the fields as
    /// `id_token_claims`.
    pub(super) async fn per_call_raw(
        &self,
        flow: &'static Flow,
        values: &[Option<ParamValue>],
        extra: &[Extra<'_>],
        nonce: Option<&str>,
        dpop: Option<&Dpop>,
    ) -> Result<(Token, Map<String, Value>), Error> {
        let started = Instant::now();
        let (token, mut fields) = self.fetch(flow, values, extra, dpop).await?;
        if let (Some(validator), Some(Value::String(id_token))) =
            (&self.inner.validator, fields.get("id_token"))
        {
            // Key fetches count against the same deadline as the token request.
            let deadline = self.inner.settings.deadline;
            let left = deadline.saturating_sub(started.elapsed());
            let claims = tokio::time::timeout(left, validator.validate(id_token, nonce))
                .await
                .map_err(|_| Error::Transport {
                    provider: self.inner.provider.title,
                    kind: TransportKind::Timeout,
                    detail: format!(
                        "the ID token could not be validated within the {deadline:?} deadline (the provider's keys did not arrive)"
                    ),
                    cause: None,
                })??;
            let claims = serde_json::to_value(claims)
                .map_err(|e| Error::config(format!("ID token claims: {e}")))?;
            fields.insert("id_token_claims".to_owned(), claims);
        } else if nonce.is_some() && self.inner.validator.is_some() {
            // The authorization request sent a nonce; only an ID token can carry it back.
            return Err(Error::IdToken(crate::oidc::IdTokenError::Malformed(
                "the answer to a code exchange with a nonce carries no `id_token`".to_owned(),
            )));
        }
        Ok((token, fields))
    }

    /// Keeps the refresh token an answer carries, replacing the previous one atomically, and
    /// tells the application's hook so it can persist it.
    pub(super) fn rotate_refresh_token(&self, fields: &Map<String, Value>) {
        let Some(Value::String(new)) = fields.get("refresh_token") else {
            return;
        };
        let token = RefreshToken::from(new.clone());
        let previous = self.inner.refresh_token.swap(Some(Arc::new(token.clone())));
        if previous.as_ref().is_some_and(|p| p.expose_secret() == new) {
            return;
        }
        if let Some(hook) = &self.inner.settings.on_refresh_token {
            hook(&token);
        }
    }

    /// A new token for the cache: through the spec's `renew_with` refresh-token flow while the
    /// client holds a refresh token, else through the cached flow itself, which also runs when
    /// the provider refuses the refresh token (it is then forgotten).
    pub(super) async fn fetch_own(
        &self,
        flow: &'static Flow,
    ) -> Result<(Token, Map<String, Value>), Error> {
        let provider = self.inner.provider;
        let refresh = provider.renew_with.and_then(|i| provider.flows.get(i));
        if let (Some(refresh), Some(refresh_token)) = (refresh, self.refresh_token())
            && let Some(values) = refresh_values(refresh, &refresh_token)
        {
            match self
                .fetch(refresh, &values, &[], self.inner.dpop.as_ref())
                .await
            {
                Ok(answer) => {
                    self.rotate_refresh_token(&answer.1);
                    return Ok(answer);
                }
                Err(e @ Error::Rejected { .. }) if !e.is_transient() => {
                    tracing::warn!(
                        provider = provider.name,
                        error = %e.chain(),
                        "the refresh token was refused; fetching a token with the original flow"
                    );
                    self.inner.refresh_token.store(None);
                }
                Err(e) => return Err(e),
            }
        }
        let answer = self.fetch(flow, &[], &[], self.inner.dpop.as_ref()).await?;
        self.rotate_refresh_token(&answer.1);
        Ok(answer)
    }
}
