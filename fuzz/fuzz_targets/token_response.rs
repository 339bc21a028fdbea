//! Any status, `Retry-After` header and body from a token endpoint, read through every kind of
//! response mapping and expiry: an error or a token, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenspec::__private::descriptor::*;

const AUTH: ClientAuth = ClientAuth { basic: Some(BasicEncoding::Raw), params: &[], id_param: "client_id", secret_param: "client_secret", assertion: None };

const fn flow(access_token: &'static [&'static str], fields: &'static [Field], expiry: Expiry) -> Flow {
    Flow {
        name: "fuzz",
        grant: Grant::ClientCredentials,
        method: Method::Post,
        path: "/token",
        body: Body::Form,
        client_auth: AUTH,
        params: &[],
        call_params: &[],
        access_token,
        fields,
        expiry,
    }
}

const FIELDS: &[Field] = &[
    Field { key: "token_type", path: &["token_type"], kind: FieldKind::Text, required: false },
    Field { key: "refresh_token", path: &["refresh_token"], kind: FieldKind::Secret, required: false },
    Field { key: "tenant", path: &["data", "tenant", "id"], kind: FieldKind::Integer, required: true },
    Field { key: "ratio", path: &["data", "ratio"], kind: FieldKind::Number, required: false },
    Field { key: "flag", path: &["flag"], kind: FieldKind::Boolean, required: false },
    Field { key: "raw", path: &["raw"], kind: FieldKind::Json, required: false },
];

static PROVIDER: Provider = Provider {
    name: "fuzz",
    title: "Fuzz",
    docs: None,
    allow_insecure_http: false,
    refresh_margin_secs: 60,
    retry: Retry { attempts: 1, initial_backoff_ms: 1, max_backoff_ms: 1 },
    openid: None,
    authorization: None,
    client_auth_choices: &[],
    revocation: None,
    api_header: ApiHeader { name: "Authorization", prefix: "Bearer ", suffix: "" },
    flows: &[
        flow(&["access_token"], &[], Expiry::ExpiresIn { path: &["expires_in"], when_absent: None }),
        flow(&["data", "token"], FIELDS, Expiry::ExpiresIn { path: &["data", "ttl"], when_absent: Some(60) }),
        flow(&["access_token"], FIELDS, Expiry::At { path: &["expires_at"], format: TimeFormat::Rfc3339 }),
        flow(&["access_token"], &[], Expiry::At { path: &["expires_at"], format: TimeFormat::EpochSeconds }),
        flow(&["access_token"], &[], Expiry::At { path: &["expires_at"], format: TimeFormat::EpochMillis }),
        flow(&["access_token"], &[], Expiry::JwtExp { path: &["access_token"] }),
        flow(&["access_token"], &[], Expiry::Lifetime(3600)),
    ],
    cached_flow: Some(0),
    renew_with: None,
    config: &[],
    errors: &[KnownError { name: "Known", message: Some("known message"), code: Some("invalid_client"), status: None }],
};

fuzz_target!(|data: &[u8]| {
    let [flow, status_hi, status_lo, header_len, rest @ ..] = data else { return };
    let status = u16::from_be_bytes([*status_hi, *status_lo]) % 600;
    let split = usize::from(*header_len).min(rest.len());
    let (header, body) = rest.split_at(split);
    let header = std::str::from_utf8(header).ok();
    let _ = tokenspec::fuzz::token_response(&PROVIDER, usize::from(*flow), status, header, body);
});
