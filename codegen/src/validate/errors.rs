//! Documented provider errors and how an answer is matched to one.

use super::*;

impl Cx {
    pub(super) fn errors(&mut self, spec: &Spec, type_names: &mut Names) -> Vec<ir::KnownError> {
        let _ = type_names;
        let mut variants = Names::reserved(&["Other"], "the catch-all variant");
        let mut out = Vec::new();
        for (i, e) in spec.errors.iter().enumerate() {
            let at = root().key("errors").index(i);
            let variant = camel_ident(&e.name);
            if variant != e.name {
                self.error(
                    &at.key("name"),
                    format!("error name `{}` is not an UpperCamelCase Rust name", e.name),
                    format!("call it `{}`", variant.trim_start_matches("r#")),
                );
            }
            if let Err(previous) = variants.claim(&variant, &e.name) {
                self.error(
                    &at.key("name"),
                    format!("error variant `{variant}` clashes with {previous}"),
                    "give each documented error its own name",
                );
            }
            if e.message.is_none() && e.code.is_none() {
                self.error(
                    &at,
                    format!("error `{}` matches nothing", e.name),
                    "give the exact `message:` the provider sends, or its RFC 6749 `code:`",
                );
            }
            if let Some(status) = e.status
                && !(400..=599).contains(&status)
            {
                self.error(
                    &at.key("status"),
                    format!("status {status} is not an error status"),
                    "use the 4xx or 5xx code the provider answers with",
                );
            }
            out.push(ir::KnownError {
                variant,
                message: e.message.clone(),
                code: e.code.clone(),
                status: e.status,
                doc: e.doc.clone(),
            });
        }
        out
    }
}
