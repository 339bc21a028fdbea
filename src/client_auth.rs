//! Client authentication: how a token request proves which client sends it (RFC 6749 §2.3).
//!
//! Each method is one function here, and [`apply`] picks them as the flow's descriptor says.
//! Request building calls `apply` and nothing else, and the cache never sees credentials, so a
//! new method (a signed client assertion, a client certificate) joins here without touching
//! either.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::form_urlencoded;

use crate::descriptor::{BasicEncoding, ClientAuth, Location};
use crate::error::Error;
use crate::keys::ClientKey;
use crate::request::Outgoing;

/// The client's identity.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub id: String,
    pub secret: SecretString,
    /// The private key of `private_key_jwt`, when the builder was given one.
    pub key: Option<ClientKey>,
    /// Where the platform writes a federated client assertion, when the builder was given it.
    pub assertion_file: Option<std::path::PathBuf>,
    /// That assertion, read for the request being made (so its redactor knows it); `None`:
    /// read it when the request is built.
    pub assertion: Option<SecretString>,
}

impl Credentials {
    /// These credentials with the federated assertion read from its file now, when `auth`
    /// sends one: a request and its redactor then use the same token. Otherwise as they are.
    pub(crate) fn for_request(
        &self,
        auth: &ClientAuth,
    ) -> Result<std::borrow::Cow<'_, Credentials>, Error> {
        let federated = auth
            .assertion
            .is_some_and(|a| a.signer == crate::descriptor::Signer::Federated);
        match (&self.assertion_file, federated) {
            (Some(path), true) => Ok(std::borrow::Cow::Owned(Credentials {
                assertion: Some(crate::request::read_secret_file(path)?),
                ..self.clone()
            })),
            _ => Ok(std::borrow::Cow::Borrowed(self)),
        }
    }
}

/// How a request proves which client sends it: the method, the credentials, and the time
/// (assertions carry it).
pub(crate) struct Proof<'a> {
    pub auth: &'a ClientAuth,
    pub credentials: &'a Credentials,
    pub now: std::time::SystemTime,
    /// The authorization server's issuer, for an assertion whose audience is `{issuer}`.
    pub issuer: &'a str,
}

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Whether authenticating as `auth` puts `client_id` in the request body already (a client
/// assertion, a certificate, or the id as a body parameter): requests that carry their own
/// `client_id` then leave theirs out, so it goes once.
pub(crate) fn sends_client_id(auth: &crate::descriptor::ClientAuth) -> bool {
    auth.assertion.is_some()
        || auth.certificate
        || (auth.params.contains(&crate::descriptor::Location::Body)
            && auth.id_param == "client_id")
}

/// Adds the client's credentials to a token request sent to `endpoint` at `now` as `auth`
/// says: a Basic header, parameters in the query string or the body, several of these, or a
/// signed client assertion.
pub(crate) fn apply<'a>(
    proof: &Proof<'a>,
    endpoint: &url::Url,
    out: &mut Outgoing<'a>,
) -> Result<(), Error> {
    let (auth, credentials, now) = (proof.auth, proof.credentials, proof.now);
    if let Some(assertion) = &auth.assertion {
        let audience = crate::assertion::Audience {
            endpoint: Some(endpoint),
            issuer: proof.issuer,
        };
        let jwt = crate::assertion::client_assertion(assertion, credentials, audience, now)?;
        out.text(Location::Body, auth.id_param, &credentials.id);
        out.text(
            Location::Body,
            "client_assertion_type",
            JWT_BEARER_ASSERTION,
        );
        out.secret(Location::Body, "client_assertion", jwt);
        return Ok(());
    }
    if auth.certificate {
        // RFC 8705 §2: the TLS handshake's client certificate authenticates; the request only
        // says which client it is.
        out.text(Location::Body, auth.id_param, &credentials.id);
        return Ok(());
    }
    for location in auth.params {
        in_parameters(*location, auth, credentials, out);
    }
    if let Some(encoding) = auth.basic {
        basic(encoding, credentials, out)?;
    }
    Ok(())
}

/// `client_secret_basic` (RFC 6749 §2.3.1): `Authorization: Basic base64(id:secret)`.
fn basic(
    encoding: BasicEncoding,
    credentials: &Credentials,
    out: &mut Outgoing<'_>,
) -> Result<(), Error> {
    let value = HeaderValue::from_str(&basic_header(
        encoding,
        &credentials.id,
        credentials.secret.expose_secret(),
    ))
    .map_err(|_| {
        Error::config(
            "the client id or secret contains characters that cannot go in an HTTP header",
        )
    })?;
    out.sensitive_header(AUTHORIZATION, value);
    Ok(())
}

/// `client_secret_post` (RFC 6749 §2.3.1) in the body, or the query string where a provider
/// demands it: the id and secret as two parameters.
fn in_parameters<'a>(
    location: Location,
    auth: &'a ClientAuth,
    credentials: &'a Credentials,
    out: &mut Outgoing<'a>,
) {
    out.text(location, auth.id_param, &credentials.id);
    out.text(
        location,
        auth.secret_param,
        credentials.secret.expose_secret(),
    );
}

/// Every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const OUTSIDE_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `Authorization: Basic …` for the given encoding.
pub fn basic_header(encoding: BasicEncoding, id: &str, secret: &str) -> String {
    let pair = match encoding {
        BasicEncoding::Raw => format!("{id}:{secret}"),
        BasicEncoding::Rfc6749 => {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            format!("{}:{}", enc(id), enc(secret))
        }
        BasicEncoding::Percent => {
            let enc = |s: &str| utf8_percent_encode(s, OUTSIDE_UNRESERVED).to_string();
            format!("{}:{}", enc(id), enc(secret))
        }
    };
    format!("Basic {}", STANDARD.encode(pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_basic_header_encodes_id_colon_secret() {
        assert_eq!(
            basic_header(BasicEncoding::Raw, "id", "s:e+cret"),
            format!("Basic {}", STANDARD.encode("id:s:e+cret"))
        );
    }

    #[test]
    fn the_encodings_agree_on_letters_digits_and_dash_dot_underscore_and_differ_on_tilde_and_star()
    {
        let decoded = |encoding, secret: &str| {
            let header = basic_header(encoding, "id", secret);
            let bytes = STANDARD
                .decode(header.trim_start_matches("Basic "))
                .expect("base64");
            String::from_utf8(bytes).expect("UTF-8")
        };
        let all = [
            BasicEncoding::Raw,
            BasicEncoding::Rfc6749,
            BasicEncoding::Percent,
        ];
        for encoding in all {
            assert_eq!(decoded(encoding, "aZ09-._"), "id:aZ09-._");
        }
        assert_eq!(decoded(BasicEncoding::Raw, "~*"), "id:~*");
        assert_eq!(decoded(BasicEncoding::Percent, "~*"), "id:~%2A");
        assert_eq!(decoded(BasicEncoding::Rfc6749, "~*"), "id:%7E*");
    }

    /// The hostile pair: a `:` and a `+` in the id; `&`, `=`, `/`, `+`, a space and non-ASCII in
    /// the secret.
    const HOSTILE: (&str, &str) = ("cli:ent+id", "s3cr&t=/+ é");

    fn decoded(header: &str) -> String {
        String::from_utf8(
            STANDARD
                .decode(header.trim_start_matches("Basic "))
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn percent_basic_header_encodes_everything_outside_the_unreserved_set() {
        let header = basic_header(BasicEncoding::Percent, HOSTILE.0, HOSTILE.1);
        assert_eq!(
            decoded(&header),
            "cli%3Aent%2Bid:s3cr%26t%3D%2F%2B%20%C3%A9"
        );
        let header = basic_header(BasicEncoding::Percent, "a-b.c_d~e", "has %41 and a space");
        assert_eq!(decoded(&header), "a-b.c_d~e:has%20%2541%20and%20a%20space");
    }

    #[test]
    fn percent_credentials_decode_the_same_under_form_rules_and_plain_percent_rules() {
        // Servers decode Basic credentials either as form data (`+` is a space) or with plain
        // percent-decoding (`+` stays `+`). Only the percent encoding reads the same under both.
        let form = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let plain = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        for (id, secret) in [HOSTILE, ("id", "has %41 and a space")] {
            let percent = decoded(&basic_header(BasicEncoding::Percent, id, secret));
            let (a, b) = percent.split_once(':').unwrap();
            assert_eq!((form(a), form(b)), (id.to_owned(), secret.to_owned()));
            assert_eq!((plain(a), plain(b)), (id.to_owned(), secret.to_owned()));
            let rfc6749 = decoded(&basic_header(BasicEncoding::Rfc6749, id, secret));
            let (_, b) = rfc6749.split_once(':').unwrap();
            assert_ne!(
                plain(b),
                secret,
                "a space as `+` reads as `+` under plain rules"
            );
        }
    }

    #[test]
    fn rfc6749_basic_header_form_encodes_before_base64() {
        // RFC 6749 §2.3.1 + Appendix B: space → '+', ':' '+' '/' '=' '&' and non-ASCII percent-encoded.
        let header = basic_header(BasicEncoding::Rfc6749, "my id:ç", "a+b/c=d&e f");
        let decoded = String::from_utf8(
            STANDARD
                .decode(header.trim_start_matches("Basic "))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(decoded, "my+id%3A%C3%A7:a%2Bb%2Fc%3Dd%26e+f");
    }
}

#[cfg(test)]
mod properties {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    use super::*;

    fn decode(header: &str) -> String {
        let bytes = STANDARD
            .decode(header.strip_prefix("Basic ").expect("Basic prefix"))
            .expect("base64");
        String::from_utf8(bytes).expect("UTF-8")
    }

    fn form_decode(part: &str) -> String {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    proptest! {
        #[test]
        fn rfc6749_basic_credentials_round_trip_for_any_id_and_secret(id in ".*", secret in ".*") {
            let decoded = decode(&basic_header(BasicEncoding::Rfc6749, &id, &secret));
            let (a, b) = decoded.split_once(':').expect("one separator");
            prop_assert!(!b.contains(':'), "colons inside the secret are encoded");
            prop_assert_eq!(form_decode(a), id);
            prop_assert_eq!(form_decode(b), secret);
        }

        #[test]
        fn percent_basic_credentials_round_trip_for_any_id_and_secret(id in ".*", secret in ".*") {
            let decoded = decode(&basic_header(BasicEncoding::Percent, &id, &secret));
            let (a, b) = decoded.split_once(':').expect("one separator");
            prop_assert!(!b.contains(':'), "colons inside the secret are encoded");
            let plain = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
            prop_assert_eq!(plain(a).ok(), Some(id.clone()));
            prop_assert_eq!(plain(b).ok(), Some(secret.clone()));
            prop_assert_eq!(form_decode(a), id);
            prop_assert_eq!(form_decode(b), secret);
        }

        #[test]
        fn raw_basic_credentials_round_trip_when_the_id_has_no_colon(id in "[^:]*", secret in ".*") {
            let decoded = decode(&basic_header(BasicEncoding::Raw, &id, &secret));
            prop_assert_eq!(decoded.split_once(':'), Some((id.as_str(), secret.as_str())));
        }
    }
}
