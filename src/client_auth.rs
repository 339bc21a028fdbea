//! Client authentication: how a token request proves which client sends it (RFC 6749 §2.3).
//!
//! Each method is one function here, and [`apply`] picks them as the flow's descriptor says.
//! Request building calls `apply` and nothing else, and the cache never sees credentials, so a
//! new method (a signed client assertion, a client certificate) joins here without touching
//! either.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::form_urlencoded;

use crate::descriptor::{BasicEncoding, ClientAuth, Location};
use crate::error::Error;
use crate::request::Outgoing;

/// The client's identity.
pub(crate) struct Credentials {
    pub id: String,
    pub secret: SecretString,
}

/// Adds the client's credentials to a token request as `auth` says: a Basic header, parameters
/// in the query string or the body, or several of these.
pub(crate) fn apply<'a>(
    auth: &'a ClientAuth,
    credentials: &'a Credentials,
    out: &mut Outgoing<'a>,
) -> Result<(), Error> {
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

/// `Authorization: Basic …` for the given encoding.
pub(crate) fn basic_header(encoding: BasicEncoding, id: &str, secret: &str) -> String {
    let pair = match encoding {
        BasicEncoding::Raw => format!("{id}:{secret}"),
        BasicEncoding::Rfc6749 => {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
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
        fn raw_basic_credentials_round_trip_when_the_id_has_no_colon(id in "[^:]*", secret in ".*") {
            let decoded = decode(&basic_header(BasicEncoding::Raw, &id, &secret));
            prop_assert_eq!(decoded.split_once(':'), Some((id.as_str(), secret.as_str())));
        }
    }
}
