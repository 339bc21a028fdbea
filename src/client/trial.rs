//! One token request made to show, not to use: `tokenspec-codegen try` runs a spec's flow
//! through the same request building and answer reading as its generated client, and keeps
//! what went over the wire so the tool can print it (masked) and diagnose a spec that does not
//! fit what the provider answers. Not part of the supported API (`__private`).

use super::*;

/// A token request as it went on the wire. Header values the runtime marks sensitive (the
/// Basic credentials, parameters sent as headers) keep their mark; nothing here is masked.
#[derive(Debug)]
pub struct SentRequest {
    /// `GET`, `POST` or `PUT`.
    pub method: String,
    /// The URL, query included.
    pub url: Url,
    /// Every header the request carried.
    pub headers: reqwest::header::HeaderMap,
    /// The body, when it is bytes (form and JSON bodies; a multipart body is a stream).
    pub body: Option<Vec<u8>>,
}

/// What the server answered, whole (within the client's size limit). A redirect is kept as
/// it came, never followed.
#[derive(Debug)]
pub struct RawAnswer {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

/// What the client made of the answer.
#[derive(Debug)]
pub struct Parsed {
    /// The access token.
    pub token: SecretString,
    /// Its lifetime, from the spec's expiry source.
    pub lifetime: Duration,
    /// The declared fields the answer had, by key.
    pub fields: Map<String, Value>,
}

/// One request and answer of a trial, and the outcome the client would have seen.
#[derive(Debug)]
pub struct Trial {
    /// The request, once built (`None`: the values could not make one).
    pub request: Option<SentRequest>,
    /// When it was sent.
    pub sent_at: std::time::SystemTime,
    /// The answer (`None`: none arrived).
    pub answer: Option<RawAnswer>,
    /// The token and fields, or the error the client would have returned.
    pub outcome: Result<Parsed, Error>,
}

impl TokenClient {
    /// Sends one request of the flow named `flow` with `values` (in the order of its
    /// `call_params`), without retries, the cache or ID-token validation, and keeps the
    /// request, the answer and what the client read from it. `extra` are the values a code
    /// exchange adds beside the code when the spec does not declare them (`redirect_uri`,
    /// `code_verifier`), sent where the code goes.
    #[doc(hidden)]
    pub async fn trial(
        &self,
        flow: &str,
        values: Vec<Option<ParamValue>>,
        extra: Vec<(&'static str, ParamValue)>,
    ) -> Trial {
        let sent_at = self.inner.settings.clock.wall();
        let mut trial = Trial {
            request: None,
            sent_at,
            answer: None,
            outcome: Err(Error::config("the request was not sent")),
        };
        let flow = match self.flow(flow) {
            Ok(flow) => flow,
            Err(e) => {
                trial.outcome = Err(e);
                return trial;
            }
        };
        let endpoint = match self.token_endpoint(flow).await {
            Ok(endpoint) => endpoint,
            Err(e) => {
                trial.outcome = Err(e);
                return trial;
            }
        };
        let inner = &self.inner;
        let provider = inner.provider;
        let title = provider.title;
        let location = flow
            .params
            .iter()
            .find(|p| p.name == "code")
            .map_or(crate::descriptor::Location::Body, |p| p.location);
        let declared = |name: &str| flow.params.iter().any(|p| p.name == name);
        let extra: Vec<Extra<'static>> = extra
            .into_iter()
            .filter(|(name, _)| !declared(name))
            .map(|(name, value)| Extra {
                name,
                location,
                value,
            })
            .collect();
        let keys = inner.credentials.load_full();
        let read = crate::request::read_files(&inner.config).and_then(|config| {
            Ok((
                config,
                keys.credentials.for_request(self.client_auth(flow))?,
            ))
        });
        let (config, credentials) = match read {
            Ok(read) => read,
            Err(e) => {
                trial.outcome = Err(e);
                return trial;
            }
        };
        // A DPoP provider's requests carry a proof (RFC 9449); a nonce challenge is met once,
        // with the request built again, as the client's own requests do.
        let make = |http: &reqwest::Client, now| -> Result<reqwest::Request, Error> {
            let mut request = self
                .build_request(
                    http,
                    &endpoint,
                    flow,
                    (&config, &values),
                    &extra,
                    &credentials,
                    now,
                )?
                .build()
                .map_err(|e| Fault::from_reqwest(e).for_token_request(title))?;
            if let Some(dpop) = &inner.dpop {
                dpop.sign(&mut request, None, now)?;
            }
            Ok(request)
        };
        let mut answer = None;
        for _ in 0..2 {
            let built = inner
                .http
                .client()
                .and_then(|http| Ok((make(&http, inner.settings.clock.wall())?, http)));
            let (request, http) = match built {
                Ok(built) => built,
                Err(e) => {
                    trial.outcome = Err(e);
                    return trial;
                }
            };
            trial.request = Some(SentRequest {
                method: request.method().to_string(),
                url: request.url().clone(),
                headers: request.headers().clone(),
                body: request
                    .body()
                    .and_then(reqwest::Body::as_bytes)
                    .map(<[u8]>::to_vec),
            });
            let url = request.url().clone();
            let read = crate::outbound::read_answer(
                &http,
                request,
                inner.settings.max_body_bytes,
                inner.settings.timeout,
                true,
            )
            .await;
            let read = match read {
                Ok(read) => read,
                Err(fault) => {
                    trial.outcome = Err(fault.for_token_request(title));
                    return trial;
                }
            };
            let challenged = inner.dpop.as_ref().is_some_and(|dpop| {
                dpop.remember(&url, &read.headers);
                read.headers.contains_key(crate::dpop::DPOP_NONCE)
                    && crate::dpop::token_endpoint_wants_nonce(read.status, &read.body)
            });
            answer = Some(read);
            if !challenged {
                break;
            }
        }
        let Some(answer) = answer else {
            return trial;
        };
        let redactor = {
            let secrets: Vec<String> = values
                .iter()
                .flatten()
                .chain(extra.iter().map(|e| &e.value))
                .chain(config.iter().flatten())
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
            keys.redactor.with(secrets)
        };
        trial.outcome = response::interpret(
            provider,
            flow,
            answer.status,
            &answer.body,
            sent_at,
            &redactor,
        )
        .map(|parsed| Parsed {
            token: parsed.token,
            lifetime: parsed.lifetime,
            fields: parsed.fields,
        });
        trial.answer = Some(RawAnswer {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        });
        trial
    }
}
