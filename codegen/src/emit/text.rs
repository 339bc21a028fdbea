//! Rust source written as text, already laid out.
//!
//! The data-shaped parts of a module (the module documentation, type declarations, the error
//! enum, the descriptor) have a fixed layout that does not depend on what the spec says, only
//! on how many items it lists. They are written here line by line: building tokens, parsing
//! them with syn and printing them with prettyplease costs about ten times as much and decides
//! nothing for such parts. Parts with expressions whose layout depends on their length (the
//! builder's and client's methods) still go through prettyplease.
//!
//! Every string that comes from a spec goes through [`string`] (a Rust string literal) or
//! [`Source::doc`] (doc comment lines); identifiers come sanitized from the IR.

use std::fmt::Write as _;

/// A Rust source file being written, one line at a time, indented by block depth.
#[derive(Default)]
pub(crate) struct Source {
    out: String,
    depth: usize,
}

impl Source {
    /// One line at the current depth.
    pub fn line(&mut self, text: impl std::fmt::Display) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        // Writing into a String cannot fail.
        let _ = writeln!(self.out, "{text}");
    }

    /// A line that opens a block (ends with `{`, `[` or `(`): what follows is one level deeper.
    pub fn open(&mut self, text: impl std::fmt::Display) {
        self.line(text);
        self.depth += 1;
    }

    /// A line that closes the block opened last.
    pub fn close(&mut self, text: impl std::fmt::Display) {
        self.depth = self.depth.saturating_sub(1);
        self.line(text);
    }

    /// A line that closes one block and opens the next at the same depth (`} else {`).
    pub fn reopen(&mut self, text: impl std::fmt::Display) {
        self.depth = self.depth.saturating_sub(1);
        self.open(text);
    }

    /// `[a, b]` as a block with one item per line (`[]` when empty), then `after`.
    pub fn list(&mut self, items: &[&str], after: &str) {
        if items.is_empty() {
            self.line(format_args!("[]{after}"));
            return;
        }
        self.open("[");
        for item in items {
            self.line(format_args!("{item},"));
        }
        self.close(format_args!("]{after}"));
    }

    /// A function's signature and the `{` opening its body: on one line when it fits in 100
    /// columns, else one parameter per line, as rustfmt lays it out. `head` is everything
    /// before the parameters (`pub fn name`), `tail` everything after them (`-> Self`).
    pub fn signature(&mut self, head: &str, params: &[String], tail: &str) {
        let one_line = format!("{head}({}) {tail} {{", params.join(", "));
        if self.depth * 4 + one_line.len() <= 100 {
            self.open(one_line);
            return;
        }
        self.open(format_args!("{head}("));
        for param in params {
            self.line(format_args!("{param},"));
        }
        self.reopen(format_args!(") {tail} {{"));
    }

    /// Outer documentation (`///`), one line of comment per line of `text`.
    pub fn doc(&mut self, text: &str) {
        self.doc_lines(text, "///", "#[doc = ");
    }

    /// Inner documentation (`//!`), for the module itself.
    pub fn inner_doc(&mut self, text: &str) {
        self.doc_lines(text, "//!", "#![doc = ");
    }

    fn doc_lines(&mut self, text: &str, comment: &str, attribute: &str) {
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                self.line(comment);
            } else if line.starts_with('/') || line.chars().any(char::is_control) {
                // `////` would be a plain comment, and a comment cannot hold a bare carriage
                // return: the attribute form says the same to rustdoc.
                self.line(format_args!("{attribute}{}]", string(&format!(" {line}"))));
            } else {
                self.line(format_args!("{comment} {line}"));
            }
        }
    }

    /// The source written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// `text` as a Rust string literal.
pub(crate) fn string(text: &str) -> String {
    // `Debug` for `str` writes a valid Rust literal: quotes, backslash escapes, and `\u{..}`
    // for anything unprintable.
    format!("{text:?}")
}

/// `Some("text")` or `None`.
pub(crate) fn option_string(text: Option<&String>) -> String {
    match text {
        Some(t) => format!("Some({})", string(t)),
        None => "None".into(),
    }
}

/// `&["a", "b"]`: a slice of string literals.
pub(crate) fn strings(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| string(s)).collect();
    format!("&[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_lines_become_comments_unless_a_comment_cannot_hold_them() {
        let mut s = Source::default();
        s.doc("first line  \n\n/ starts with a slash\nbare\rreturn");
        assert_eq!(
            s.finish(),
            "/// first line\n///\n#[doc = \" / starts with a slash\"]\n#[doc = \" bare\\rreturn\"]\n"
        );
    }

    #[test]
    fn blocks_indent_what_they_hold() {
        let mut s = Source::default();
        s.open("pub enum A {");
        s.doc("One.");
        s.line("One,");
        s.close("}");
        assert_eq!(s.finish(), "pub enum A {\n    /// One.\n    One,\n}\n");
    }

    #[test]
    fn signatures_break_one_parameter_per_line_past_a_hundred_columns() {
        let mut s = Source::default();
        s.signature("pub fn short", &["&self".into()], "-> u8");
        s.close("}");
        let long = "x".repeat(90);
        s.signature(
            "pub fn long",
            &["&self".into(), format!("{long}: u8")],
            "-> u8",
        );
        s.close("}");
        assert_eq!(
            s.finish(),
            format!(
                "pub fn short(&self) -> u8 {{\n}}\npub fn long(\n    &self,\n    {long}: u8,\n) -> u8 {{\n}}\n"
            )
        );
    }

    #[test]
    fn string_literals_escape_what_rust_needs() {
        assert_eq!(string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
