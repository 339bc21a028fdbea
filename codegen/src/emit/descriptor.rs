//! The provider's descriptor as data: one `static` holding the JSON the one IR → descriptor
//! function (`crate::descriptor`) makes, which the runtime reads once. One fact per line, so a
//! spec change shows in review as the facts it changes; a field that holds its default is left
//! out, so a field the descriptor gains later shows only in the modules of specs that use it.

use super::text::Source;
use crate::ir::Provider;

/// `r#"…"#` around `data`, with as many `#` as it takes for no `"` in `data` to end it.
fn raw_string(data: &str) -> String {
    let mut hashes = 1;
    while data.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let hashes = "#".repeat(hashes);
    format!("r{hashes}\"{data}\"{hashes}")
}

pub(super) fn provider(p: &Provider, s: &mut Source) {
    let data = tokenspec_descriptor::to_data(crate::descriptor::descriptor(p));
    s.doc("What the runtime needs to know about this provider, as declared in its spec: data the");
    s.doc("runtime reads once, when the first client is built.");
    // Laid out as rustfmt lays out a statement too long for one line; the data's own lines are
    // kept as they are, as rustfmt keeps a raw string's.
    s.line("pub static PROVIDER: ::tokenspec::__private::descriptor::Embedded =");
    s.line("    ::tokenspec::__private::descriptor::Embedded::new(");
    s.verbatim(&format!("        {},", raw_string(&data)));
    s.line("    );");
}

#[cfg(test)]
mod tests {
    use super::raw_string;

    #[test]
    fn a_raw_string_has_more_hashes_than_any_quote_in_its_data_is_followed_by() {
        assert_eq!(raw_string("{\"a\": 1}"), "r#\"{\"a\": 1}\"#");
        assert_eq!(raw_string("a \"# b"), "r##\"a \"# b\"##");
        assert_eq!(raw_string("a \"## b"), "r###\"a \"## b\"###");
    }
}
