//! Spec files in encodings other than UTF-8: each refused with where and what, never a
//! misleading message or a snippet of NUL bytes.

use std::path::{Path, PathBuf};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenspec-encodings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

fn rendered(path: &Path) -> String {
    let checked = tokenspec_codegen::check_file(path, "specs/acme.yaml").expect("readable");
    assert!(checked.provider.is_none());
    tokenspec_codegen::diagnostics::render(&[checked.diagnostics])
}

#[test]
fn a_latin1_byte_is_reported_on_its_own_line_and_column() {
    let path = write(
        "latin1.yaml",
        b"title: Acme\nenvironments:\n  production: https://auth.acme.test\ndescription: caf\xe9\n",
    );
    let text = rendered(&path);
    assert!(text.contains("specs/acme.yaml:4:17"), "{text}");
    assert!(
        text.contains("byte 0xe9") && text.contains("save the spec as UTF-8"),
        "{text}"
    );
}

#[test]
fn a_utf16_file_is_named_as_such_without_printing_its_bytes() {
    let spec = "title: Acme\nenvironments:\n  production: https://auth.acme.test\n";
    let mut bytes = vec![0xff, 0xfe];
    for unit in spec.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let text = rendered(&write("utf16.yaml", &bytes));
    assert!(text.contains("UTF-16"), "{text}");
    assert!(
        !text.contains('\0'),
        "no NUL bytes in the message: {text:?}"
    );
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_yaml() {
    let path = write(
        "bom.yaml",
        "\u{feff}title: Acme\nenvironments:\n  production: https://auth.acme.test\nclient_auth: { basic: raw }\nflows:\n  client_credentials:\n    grant: client_credentials\n    path: /oauth/token\n    params: { grant_type: { value: client_credentials } }\n    expiry: { expires_in: expires_in }\n".as_bytes(),
    );
    let checked = tokenspec_codegen::check_file(&path, "specs/acme.yaml").expect("readable");
    assert!(
        checked.provider.is_some(),
        "a BOM before a valid spec changes nothing"
    );
}
