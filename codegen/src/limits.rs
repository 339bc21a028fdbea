//! Checks a spec's raw YAML before serde reads it: size, structure and the YAML 1.1 spellings that
//! other tools read differently. Each problem is an error with a position, never a hang, a crash or
//! a silent misreading.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diagnostics::{Diagnostic, YamlPath};

/// Largest spec file read, in bytes; a provider spec is a page or two.
pub const MAX_SPEC_BYTES: usize = 256 * 1024;
/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 32;
/// Most nodes a spec may expand to once aliases are followed.
pub const MAX_NODES: u64 = 100_000;

/// YAML 1.1 booleans that YAML 1.2 (and tokenspec) reads as text.
const YAML11_BOOLEANS: &[&str] = &["y", "yes", "n", "no", "on", "off"];

fn at(source: &str, char_index: usize, message: String, help: &str) -> Diagnostic {
    let mut d = Diagnostic::error(&YamlPath::root(), message).help(help);
    d.offset = Some(
        source
            .char_indices()
            .nth(char_index)
            .map_or(source.len(), |(b, _)| b),
    );
    d
}

/// Every limit the text breaks; empty when serde may read it.
pub fn check(source: &str) -> Vec<Diagnostic> {
    if source.len() > MAX_SPEC_BYTES {
        let mut d = Diagnostic::error(
            &YamlPath::root(),
            format!(
                "the spec is {} bytes; specs are limited to {MAX_SPEC_BYTES}",
                source.len()
            ),
        )
        .help("a provider spec is a page or two of YAML; is this the right file?");
        d.offset = Some(0);
        return vec![d];
    }
    let mut problems = Vec::new();
    if let Some((line_no, line)) = source
        .lines()
        .enumerate()
        .find(|(_, l)| l.trim_start_matches(' ').starts_with('\t'))
    {
        let offset: usize = source
            .lines()
            .take(line_no)
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + line.find('\t').unwrap_or(0);
        let mut d = Diagnostic::error(
            &YamlPath::root(),
            "a tab indents this line; YAML indents with spaces only",
        )
        .help("replace the tab with spaces");
        d.offset = Some(offset);
        return vec![d];
    }
    // Node counts of the containers being read, and the expanded size of each anchor.
    let mut open: Vec<(usize, u64)> = Vec::new();
    // The mappings and sequences being read, to tell keys from values and find repeated keys.
    let mut frames: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, u64> = HashMap::new();
    let mut documents = 0;
    let mut total: u64 = 0;
    let mut parser = Parser::new_from_str(source);
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(e) => e,
            Err(e) => {
                let message = format!("the YAML cannot be read: {}", e.info());
                problems.push(at(
                    source,
                    e.marker().index(),
                    message,
                    "check quotes, brackets and indentation near this point",
                ));
                return problems;
            }
        };
        let here = span.start.index();
        // Whether this event starts a node that is a mapping's key.
        let is_key = match event {
            Event::Scalar(..)
            | Event::Alias(_)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => match frames.last_mut() {
                Some(Frame::Mapping { expect_key, .. }) => {
                    let key = *expect_key;
                    *expect_key = !key;
                    key
                }
                _ => false,
            },
            _ => false,
        };
        if is_key
            && let Event::Scalar(ref text, ..) = event
            && let Some(Frame::Mapping { keys, .. }) = frames.last_mut()
            && let Some(first) = keys.insert(text.to_string(), here)
        {
            let line = source.chars().take(first).filter(|c| *c == '\n').count() + 1;
            problems.push(at(
                source,
                here,
                format!("`{text}` is written twice in this mapping (first on line {line}); YAML would keep only this one, silently"),
                "remove one of them, or rename it",
            ));
        }
        match event {
            Event::MappingStart(..) => frames.push(Frame::Mapping {
                expect_key: true,
                keys: HashMap::new(),
            }),
            Event::SequenceStart(..) => frames.push(Frame::Sequence),
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
            }
            _ => {}
        }
        let added = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    problems.push(at(
                        source,
                        here,
                        "the file holds more than one YAML document".into(),
                        "keep one provider per file and remove the `---` separator",
                    ));
                    return problems;
                }
                continue;
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                open.push((anchor, 1));
                if open.len() > MAX_DEPTH {
                    problems.push(at(
                        source,
                        here,
                        format!("the spec nests deeper than {MAX_DEPTH} levels"),
                        "a provider spec needs a handful of levels; flatten it",
                    ));
                    return problems;
                }
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some((anchor, size)) = open.pop() else {
                    continue;
                };
                if anchor != 0 {
                    anchors.insert(anchor, size);
                }
                size
            }
            Event::Scalar(ref text, style, anchor, _) => {
                // A key is text to every reader (`y:` as a field name); a value may not be.
                if style == ScalarStyle::Plain
                    && !is_key
                    && let Some(d) = ambiguous_scalar(source, here, text)
                {
                    problems.push(d);
                }
                if anchor != 0 {
                    anchors.insert(anchor, 1);
                }
                1
            }
            Event::Alias(anchor) => anchors.get(&anchor).copied().unwrap_or(1),
            _ => continue,
        };
        match open.last_mut() {
            Some((_, size)) => *size = size.saturating_add(added),
            None => total = total.saturating_add(added),
        }
        let expanded = total.saturating_add(open.iter().map(|(_, s)| *s).sum::<u64>());
        if expanded > MAX_NODES {
            problems.push(at(
                source,
                here,
                format!("the spec expands to more than {MAX_NODES} values through its aliases"),
                "remove the `*alias` references that repeat large parts (an alias bomb)",
            ));
            return problems;
        }
    }
    problems
}

/// A mapping or a sequence being read.
enum Frame {
    /// A mapping: whether its next node is a key, and the keys seen (with where).
    Mapping {
        expect_key: bool,
        keys: HashMap<String, usize>,
    },
    Sequence,
}

/// A plain scalar that YAML 1.1 tools read as a boolean, an octal or a base-60 number.
fn ambiguous_scalar(source: &str, at_char: usize, text: &str) -> Option<Diagnostic> {
    let lower = text.to_ascii_lowercase();
    let digits = text.trim_start_matches(['-', '+']);
    if YAML11_BOOLEANS.contains(&lower.as_str()) {
        let meaning = if matches!(lower.as_str(), "y" | "yes" | "on") {
            "true"
        } else {
            "false"
        };
        return Some(at(
            source,
            at_char,
            format!("`{text}` is a boolean in YAML 1.1 but text in YAML 1.2"),
            &format!("write `{meaning}` for a boolean, or `\"{text}\"` for text"),
        ));
    }
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(at(
            source,
            at_char,
            format!("`{text}` is an octal number in YAML 1.1 and a decimal in YAML 1.2"),
            &format!("write `\"{text}\"` for text, or drop the leading zero"),
        ));
    }
    let sexagesimal = text.contains(':')
        && text
            .split(':')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if sexagesimal {
        return Some(at(
            source,
            at_char,
            format!("`{text}` is a base-60 number in YAML 1.1"),
            &format!("write `\"{text}\"` for text, or the number of seconds"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spelled_like_yaml11_booleans_are_text_and_values_are_not() {
        // A response field named `y` is a key: every YAML reader takes it as text.
        assert!(check("response:\n  y: y_coordinate\n  n: n_value\n").is_empty());
        let problems = check("flag: y\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("boolean in YAML 1.1"));
    }

    #[test]
    fn a_key_written_twice_is_reported_where_it_is_repeated() {
        let source = "environments:\n  production: https://a.test\n  production: https://b.test\n";
        let problems = check(source);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("first on line 2"),
            "{}",
            problems[0].message
        );
        assert_eq!(problems[0].offset, source.rfind("production"));
        // The same key in two different mappings is fine.
        assert!(check("a:\n  name: first\nb:\n  name: second\n").is_empty());
    }

    #[test]
    fn a_billion_laughs_is_stopped_early() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let problems = check(&doc);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("alias"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn small_aliases_are_fine() {
        assert!(check("a: &x {k: v}\nb: *x\nc: *x\n").is_empty());
    }

    #[test]
    fn yaml11_spellings_are_flagged_unless_quoted() {
        assert_eq!(check("a: no\n").len(), 1);
        assert_eq!(check("a: 0123\n").len(), 1);
        assert_eq!(check("a: 1:30\n").len(), 1);
        assert!(
            check("a: \"no\"\nb: '0123'\nc: false\nd: 0\ne: 10\nf: https://x:8080\n").is_empty()
        );
    }

    #[test]
    fn deep_nesting_and_extra_documents_are_refused() {
        assert_eq!(
            check(&format!("{}{}", "[".repeat(40), "]".repeat(40))).len(),
            1
        );
        assert_eq!(check("a: 1\n---\nb: 2\n").len(), 1);
    }
}
