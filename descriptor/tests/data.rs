//! The data form of a descriptor: what a generated module holds, and how a runtime reads it.

use tokenspec_descriptor::*;

/// A module's `static PROVIDER`, made at run time.
fn embedded(data: String) -> &'static Embedded {
    Box::leak(Box::new(Embedded::new(Box::leak(data.into_boxed_str()))))
}

fn provider() -> Provider {
    Provider {
        name: "acme",
        title: "Acme",
        flows: &[Flow {
            name: "client_credentials",
            path: Some("/oauth/token"),
            client_auth: ClientAuth {
                name: "client_secret_basic",
                basic: Some(BasicEncoding::Percent),
                ..ClientAuth::NONE
            },
            params: &[Param {
                name: "grant_type",
                location: Location::Body,
                source: Source::Fixed(Literal::Text("client_credentials")),
            }],
            ..Flow::DEFAULT
        }],
        cached_flow: Some(0),
        errors: &[KnownError {
            name: "InvalidAppKey",
            message: Some("app key \"x\" is invalid"),
            code: None,
            status: Some(401),
        }],
        ..Provider::DEFAULT
    }
}

#[test]
fn a_descriptor_written_as_data_reads_back_as_the_same_descriptor() {
    let written = provider();
    let read = embedded(to_data(&written)).provider().expect("reads");
    assert_eq!(format!("{read:#?}"), format!("{written:#?}"));
}

#[test]
fn fields_holding_their_default_are_left_out_of_the_data() {
    let data = to_data(&provider());
    for absent in [
        "docs",
        "openid",
        "revocation",
        "error_answer",
        "renew_with",
        "certificate",
    ] {
        assert!(
            !data.contains(&format!("\"{absent}\"")),
            "{absent} in {data}"
        );
    }
    assert!(
        data.contains("\"access_token\": [[\"access_token\"]],"),
        "{data}"
    );
}

/// A module generated before a field existed does not mention it; a runtime that knows the
/// field reads the module with the field's default.
#[test]
fn data_from_before_a_field_existed_reads_with_the_fields_default() {
    let data = r#"{
  "name": "old",
  "title": "Old",
  "refresh_margin_secs": 60,
  "retry": {"attempts": 1, "initial_backoff_ms": 1, "max_backoff_ms": 1},
  "api_header": {"name": "Authorization", "prefix": "Bearer ", "suffix": ""},
  "flows": [
    {
      "name": "client_credentials",
      "grant": "client_credentials",
      "method": "post",
      "path": "/token",
      "body": "form",
      "client_auth": {"name": "none", "id_param": "client_id", "secret_param": "client_secret"},
      "access_token": [["access_token"]],
      "expiry": "never"
    }
  ]
}"#;
    let read = embedded(data.to_owned()).provider().expect("reads");
    assert!(read.openid.is_none() && read.revocation.is_none());
    assert!(read.error_answer.is_rfc6749());
    assert!(!read.flows[0].client_auth.certificate);
    assert!(read.client_auth_choices.is_empty() && read.errors.is_empty());
}

/// A module that uses a field this crate does not know is refused, with the field named: a
/// runtime never silently runs a provider without something its spec asked for.
#[test]
fn a_field_this_runtime_does_not_know_is_refused_by_name() {
    let data = to_data(&provider()).replacen(
        "\"name\": \"client_credentials\",",
        "\"name\": \"client_credentials\",\n      \"proof_of_possession\": \"dpop\",",
        1,
    );
    let e = embedded(data).provider().expect_err("an unknown field");
    let message = e.to_string();
    assert!(
        message.contains("unknown field `proof_of_possession`"),
        "{message}"
    );
    assert!(message.contains("upgrade tokenspec"), "{message}");
}

#[test]
fn a_modules_data_is_read_once_and_kept() {
    let module = embedded(to_data(&provider()));
    let first: *const Provider = module.provider().expect("reads");
    let second: *const Provider = module.provider().expect("reads");
    assert_eq!(first, second);
}

#[test]
fn text_with_quotes_and_hashes_survives_the_round_trip() {
    let written = Provider {
        title: "Acme \"#1\" API",
        ..provider()
    };
    let read = embedded(to_data(&written)).provider().expect("reads");
    assert_eq!(read.title, "Acme \"#1\" API");
}
