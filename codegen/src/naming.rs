//! The one place where names from a spec become Rust identifiers.
//!
//! Every identifier in generated code goes through [`snake_ident`] or [`camel_ident`], so a
//! provider called `my-api`, a parameter called `type` or a scope called `2fa.read` still yields
//! valid, readable Rust. [`Names`] detects two spec names that end up as the same identifier.

use std::collections::BTreeMap;

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Words Rust reserves (strict, reserved and edition-2024 keywords).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers (`r#self` is invalid).
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super"];

/// Turns any text into a snake_case identifier: `my-api` → `my_api`, `type` → `r#type`,
/// `2fa` → `_2fa`, `--` → `unnamed`.
pub fn snake_ident(name: &str) -> String {
    finish(clean(name).to_snake_case(), "unnamed")
}

/// Turns any text into an UpperCamelCase identifier: `cob.write` → `CobWrite`,
/// `self` → `Self_`, `2fa` → `_2fa`.
pub fn camel_ident(name: &str) -> String {
    finish(clean(name).to_upper_camel_case(), "Unnamed")
}

/// Replaces everything that cannot be part of an identifier by a word break.
fn clean(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() && c.is_ascii() {
                c
            } else {
                ' '
            }
        })
        .collect()
}

fn finish(ident: String, empty: &str) -> String {
    // `_` alone is not an identifier, so a name with no letters or digits gets a word.
    let ident = if ident.is_empty() {
        empty.to_owned()
    } else {
        ident
    };
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{ident}")
    } else if NOT_RAW.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else {
        ident
    }
}

/// Collects identifiers of one namespace and reports spec names that collide after conversion.
#[derive(Debug, Default)]
pub struct Names {
    taken: BTreeMap<String, String>,
}

impl Names {
    /// A namespace that already holds the given identifiers (generated items the spec must not
    /// shadow), each described by `why`.
    pub fn reserved(idents: &[&str], why: &str) -> Self {
        let taken = idents
            .iter()
            .map(|i| ((*i).to_owned(), why.to_owned()))
            .collect();
        Names { taken }
    }

    /// Records `ident` for the spec name `original`; returns what already holds it, if anything.
    pub fn claim(&mut self, ident: &str, original: &str) -> Result<(), String> {
        match self.taken.get(ident) {
            Some(previous) => Err(previous.clone()),
            None => {
                self.taken.insert(ident.to_owned(), original.to_owned());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_become_raw_identifiers_or_get_a_suffix() {
        assert_eq!(snake_ident("type"), "r#type");
        assert_eq!(snake_ident("async"), "r#async");
        assert_eq!(snake_ident("self"), "self_");
        assert_eq!(camel_ident("self"), "Self_");
        assert_eq!(snake_ident("crate"), "crate_");
    }

    #[test]
    fn leading_digits_get_an_underscore() {
        assert_eq!(snake_ident("2fa"), "_2fa");
        assert_eq!(camel_ident("3ds.read"), "_3dsRead");
    }

    #[test]
    fn hyphens_dots_and_spaces_become_word_breaks() {
        assert_eq!(snake_ident("my-api"), "my_api");
        assert_eq!(snake_ident("validity period"), "validity_period");
        assert_eq!(camel_ident("cob.write"), "CobWrite");
        assert_eq!(camel_ident("webhook-read"), "WebhookRead");
        assert_eq!(snake_ident("clientId"), "client_id");
    }

    #[test]
    fn non_ascii_and_empty_names_still_yield_identifiers() {
        assert_eq!(snake_ident("ação"), "a_o");
        assert_eq!(snake_ident(""), "unnamed");
        assert_eq!(camel_ident("--"), "Unnamed");
        assert_eq!(camel_ident("+"), "Unnamed");
    }

    #[test]
    fn names_that_convert_to_the_same_identifier_collide() {
        let mut names = Names::default();
        assert_eq!(names.claim(&snake_ident("my-api"), "my-api"), Ok(()));
        assert_eq!(
            names.claim(&snake_ident("my_api"), "my_api"),
            Err("my-api".to_owned())
        );
    }

    #[test]
    fn reserved_names_collide_with_spec_names() {
        let mut names = Names::reserved(&["Client"], "the generated client type");
        assert_eq!(
            names.claim(&camel_ident("client"), "client"),
            Err("the generated client type".to_owned())
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn every_name_becomes_a_valid_identifier(name in ".*") {
            for ident in [snake_ident(&name), camel_ident(&name)] {
                prop_assert!(syn::parse_str::<syn::Ident>(&ident).is_ok(), "{ident:?} from {name:?}");
            }
        }

        #[test]
        fn claimed_identifiers_are_unique(names in proptest::collection::vec(".{0,12}", 0..20)) {
            let mut registry = Names::default();
            let mut claimed = std::collections::BTreeSet::new();
            for name in &names {
                let ident = snake_ident(name);
                let fresh = !claimed.contains(&ident);
                prop_assert_eq!(registry.claim(&ident, name).is_ok(), fresh, "collisions are always reported");
                claimed.insert(ident);
            }
        }
    }
}
