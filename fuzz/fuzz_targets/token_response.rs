//! Any status, `Retry-After` header and body from a token endpoint, read through every kind of
//! response mapping and expiry: an error or a token, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenspec::__private::descriptor::*;

const AUTH: ClientAuth = ClientAuth { name: "client_secret_basic", basic: Some(BasicEncoding::Raw), ..ClientAuth::NONE };

const fn flow(access_token: &'static [&'static [&'static str]], fields: &'static [Field], expiry: Expiry) -> Flow {
    Flow { name: "fuzz", path: "/token", client_auth: AUTH, access_token, fields, expiry, ..Flow::DEFAULT }
}

const FIELDS: &[Field] = &[
    Field { key: "token_type", paths: &[&["token_type"]], kind: FieldKind::Text, required: false },
    Field { key: "refresh_token", paths: &[&["refresh_token"]], kind: FieldKind::Secret, required: false },
    Field { key: "tenant", paths: &[&["data", "tenant", "id"], &["tenant"]], kind: FieldKind::Integer, required: true },
    Field { key: "ratio", paths: &[&["data", "ratio"]], kind: FieldKind::Number, required: false },
    Field { key: "flag", paths: &[&["flag"]], kind: FieldKind::Boolean, required: false },
    Field { key: "raw", paths: &[&["raw"]], kind: FieldKind::Json, required: false },
];

static PROVIDER: Provider = Provider {
    name: "fuzz",
    title: "Fuzz",
    retry: Retry { attempts: 1, initial_backoff_ms: 1, max_backoff_ms: 1 },
    flows: &[
        flow(&[&["access_token"]], &[], Expiry::ExpiresIn { path: &["expires_in"], when_absent: None }),
        flow(&[&["data", "token"], &["token"]], FIELDS, Expiry::ExpiresIn { path: &["data", "ttl"], when_absent: Some(60) }),
        flow(&[&["access_token"]], FIELDS, Expiry::At { path: &["expires_at"], format: TimeFormat::Rfc3339 }),
        flow(&[&["access_token"]], &[], Expiry::At { path: &["expires_at"], format: TimeFormat::EpochSeconds }),
        flow(&[&["access_token"]], &[], Expiry::At { path: &["expires_at"], format: TimeFormat::EpochMillis }),
        flow(&[&["access_token"]], &[], Expiry::JwtExp { path: &["access_token"] }),
        flow(&[&["access_token"]], &[], Expiry::Lifetime(3600)),
    ],
    cached_flow: Some(0),
    errors: &[KnownError { name: "Known", message: Some("known message"), code: Some("invalid_client"), status: None }],
    ..Provider::DEFAULT
};

fuzz_target!(|data: &[u8]| {
    let [flow, status_hi, status_lo, header_len, rest @ ..] = data else { return };
    let status = u16::from_be_bytes([*status_hi, *status_lo]) % 600;
    let split = usize::from(*header_len).min(rest.len());
    let (header, body) = rest.split_at(split);
    let header = std::str::from_utf8(header).ok();
    let _ = tokenspec::fuzz::token_response(&PROVIDER, usize::from(*flow), status, header, body);
});
