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

    /// Text of several lines whose first line starts at the current depth and whose other
    /// lines are written as they are (a raw string literal, where indentation is data).
    pub fn verbatim(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
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
        for line in code_blocks_as_text(text) {
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

/// The lines of Markdown `text` with every code block marked `text`, as prost-build does:
/// rustdoc runs a code block of a doc comment as a doctest, so an example a spec author
/// quotes (a JSON answer, a curl command, or Rust written for another crate) would fail in
/// the crate that compiles the generated module. A fence keeps its indentation and length and
/// loses its language; an indented code block (four spaces after a blank line) is fenced; a
/// fence left open is closed, so it cannot swallow the documentation written after it.
pub(crate) fn code_blocks_as_text(text: &str) -> Vec<String> {
    code_blocks(text)
        .into_iter()
        .map(|(line, _)| line)
        .collect()
}

/// [`code_blocks_as_text`], each line with whether it belongs to a code block (its fences
/// included), where Markdown is not interpreted.
pub(crate) fn code_blocks(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    // The open fence's character and length; whether an indented block is open.
    let mut fence: Option<(char, usize)> = None;
    let mut indented = false;
    let mut after_blank = true;
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        let blank = line.trim().is_empty();
        let run = |c: char| body.chars().take_while(|&b| b == c).count();
        if let Some((c, len)) = fence {
            if indent < 4 && run(c) >= len && body.trim_start_matches(c).trim().is_empty() {
                fence = None;
            }
            out.push((line.to_owned(), true));
        } else if indented && (blank || indent >= 4 || line.starts_with('\t')) {
            out.push((line.to_owned(), true));
        } else {
            if indented {
                out.push(("```".to_owned(), true));
                indented = false;
            }
            let opening = ['`', '~']
                .into_iter()
                .map(|c| (c, run(c)))
                .find(|&(c, len)| len >= 3 && !(c == '`' && body[len..].contains('`')));
            if let (true, Some((c, len))) = (indent < 4, opening) {
                fence = Some((c, len));
                let marker: String = std::iter::repeat_n(c, len).collect();
                out.push((format!("{}{marker}text", &line[..indent]), true));
            } else if after_blank && !blank && (indent >= 4 || line.starts_with('\t')) {
                indented = true;
                out.push(("```text".to_owned(), true));
                out.push((line.to_owned(), true));
            } else {
                out.push((line.to_owned(), false));
            }
        }
        after_blank = blank;
    }
    if indented {
        out.push(("```".to_owned(), true));
    }
    if let Some((c, len)) = fence {
        out.push((std::iter::repeat_n(c, len).collect(), true));
    }
    out
}

/// `text` as a Rust string literal.
pub(crate) fn string(text: &str) -> String {
    // `Debug` for `str` writes a valid Rust literal: quotes, backslash escapes, and `\u{..}`
    // for anything unprintable.
    format!("{text:?}")
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
    fn code_blocks_in_spec_text_become_text_blocks_rustdoc_does_not_run() {
        let text = "Answer:\n\n```json\n{\"a\": [1]}\n```\n\n  ~~~~\n  let x = 1;\n  ~~~~\n\n```\nfn main() {}\n````\n";
        assert_eq!(
            code_blocks_as_text(text).join("\n"),
            "Answer:\n\n```text\n{\"a\": [1]}\n```\n\n  ~~~~text\n  let x = 1;\n  ~~~~\n\n```text\nfn main() {}\n````"
        );
        let indented = "Run:\n\n    cargo run\n    --release\n\nThen more.\n\n    last";
        assert_eq!(
            code_blocks_as_text(indented).join("\n"),
            "Run:\n\n```text\n    cargo run\n    --release\n\n```\nThen more.\n\n```text\n    last\n```"
        );
        // Inline code and a list item's continuation are no blocks.
        let plain = "Use ```a``` inline.\n- item\n    continued";
        assert_eq!(code_blocks_as_text(plain).join("\n"), plain);
        // A fence left open ends with the text, not with the documentation after it.
        assert_eq!(
            code_blocks_as_text("```\nopen").join("\n"),
            "```text\nopen\n```"
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
