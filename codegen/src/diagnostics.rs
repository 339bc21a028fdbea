//! Problems found in a spec, with where they are and what to do about them.
//!
//! Every stage (YAML parsing, serde, validation) reports [`Diagnostic`]s against a YAML path;
//! [`SourceMap`] turns the path into a line and column, and [`render`] prints them all with a
//! snippet of the source, the same way in build.rs, the CLI and tests.

use std::collections::BTreeMap;
use std::fmt;

use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};
use saphyr_parser::{Event, Parser};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Generation goes on; the user should look.
    Warning,
    /// Nothing is generated for this spec.
    Error,
}

/// One step of a YAML path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Where in the document a problem is, as keys and indices from the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YamlPath(pub Vec<Segment>);

impl YamlPath {
    /// The document root.
    pub fn root() -> Self {
        YamlPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_owned()));
        next
    }

    /// This path extended by an index.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// Parses serde_yaml's rendering (`flows.cc.params[0]`) back into a path.
    fn parse(text: &str) -> Self {
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (key, rest) = part.split_once('[').unwrap_or((part, ""));
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_owned()));
            }
            for index in rest.split('[') {
                if let Ok(i) = index.trim_end_matches(']').parse() {
                    segments.push(Segment::Index(i));
                }
            }
        }
        YamlPath(segments)
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document root)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A problem in a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is.
    pub path: YamlPath,
    /// What to do about it.
    pub help: Option<String>,
    /// A byte position known directly (from the YAML parser) rather than through `path`.
    pub offset: Option<usize>,
}

impl Diagnostic {
    /// An error at `path`.
    pub fn error(path: &YamlPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            path: path.clone(),
            help: None,
            offset: None,
        }
    }

    /// A warning at `path`.
    pub fn warning(path: &YamlPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, message)
        }
    }

    /// Adds what to do about it.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Turns a serde_yaml error (syntax or shape) into a diagnostic at its position.
    pub fn from_yaml_error(err: &serde_yaml::Error) -> Self {
        let text = err.to_string();
        // serde_yaml renders "path: message at line L column C"; keep the message, keep the path.
        let text = match text.rfind(" at line ") {
            Some(at) => text[..at].to_owned(),
            None => text,
        };
        let (path, message) = match text.split_once(": ") {
            Some((p, m)) if !p.contains(' ') && !p.contains('`') => {
                (YamlPath::parse(p), m.to_owned())
            }
            _ => (YamlPath::root(), text.clone()),
        };
        let mut diagnostic = Diagnostic::error(&path, message.clone());
        diagnostic.offset = err.location().map(|l| l.index());
        if let Some(help) = did_you_mean(&message) {
            diagnostic.help = Some(help);
        } else if let Some(field) = message.strip_prefix("missing field ") {
            diagnostic.help = Some(format!(
                "add {field} here; docs/spec-format.md describes every key"
            ));
        }
        diagnostic
    }
}

/// Says a serde error in the words of the spec: what the key holds, what it takes, and the
/// nearest value or key it takes, instead of serde's "invalid type: sequence, expected a map".
/// The key is the last key of the diagnostic's path. Messages in the spec's words are left
/// as they are.
pub fn in_plain_words(mut d: Diagnostic) -> Diagnostic {
    let message = d.message.clone();
    // An unknown key or variant is named in the message; the key it is under is its parent.
    let unknown = message
        .starts_with("unknown ")
        .then(|| message.split('`').nth(1))
        .flatten();
    let key = d
        .path
        .0
        .iter()
        .rev()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.clone()),
            Segment::Index(_) => None,
        })
        .find(|k| Some(k.as_str()) != unknown);
    let named = |what: &str| match &key {
        Some(k) => format!("`{k}` {what}"),
        None => format!("the spec {what}"),
    };
    if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let (takes, example) = expected_in_words(expected);
        d.message = named(&format!(
            "is {}, but it takes {takes}",
            found_in_words(found)
        ));
        d.help = Some(example);
    } else if message.starts_with("unknown variant `") {
        let found = message.split('`').nth(1).unwrap_or_default().to_owned();
        d.help = did_you_mean(&message);
        d.message = named(&format!("cannot be `{found}`"));
    } else if message.starts_with("unknown field `") {
        let found = message.split('`').nth(1).unwrap_or_default().to_owned();
        d.help = did_you_mean(&message);
        d.message = match &key {
            Some(parent) => format!("`{found}` is not a key of `{parent}`"),
            None => format!("`{found}` is not a top-level key"),
        };
    } else if let Some(field) = message.strip_prefix("missing field ") {
        let field = field.trim_matches('`');
        d.message = match &key {
            Some(parent) => format!("`{parent}` has no `{field}`, which it needs"),
            None => format!("the spec has no `{field}`, which it needs"),
        };
        d.help = Some(format!(
            "add `{field}:` here; docs/spec-format.md describes every key"
        ));
        // Serde points inside the mapping, at its first key: the mapping's own key is where
        // the missing one belongs.
        if !d.path.0.is_empty() {
            d.offset = None;
        }
    } else if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        d.message = named(&format!("holds {found} items, but it takes {expected}"));
    }
    // Whatever serde said that is not rewritten above still never names a Rust type.
    for (rust, words) in [
        ("expected struct ", "expected a mapping: "),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected u32", "expected a whole number of 0 or more"),
        ("expected u16", "expected a whole number of 0 or more"),
        ("expected i64", "expected a whole number"),
    ] {
        d.message = d.message.replace(rust, words);
    }
    d
}

/// What serde found, as the spec's author wrote it: `string "maybe"` is the text `maybe`.
fn found_in_words(found: &str) -> String {
    let quoted = |s: &str| s.trim_matches(['"', '`']).to_owned();
    if let Some(text) = found.strip_prefix("string ") {
        format!("the text `{}`", quoted(text))
    } else if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        format!("the number {}", quoted(n))
    } else if let Some(b) = found.strip_prefix("boolean ") {
        format!("`{}`", quoted(b))
    } else {
        match found {
            "sequence" => "a list".to_owned(),
            "map" => "a mapping".to_owned(),
            "unit value" | "null" => "empty".to_owned(),
            other => other.to_owned(),
        }
    }
}

/// What serde expected, in the spec's words, with an example of it.
fn expected_in_words(expected: &str) -> (String, String) {
    let pair = |takes: &str, example: &str| (takes.to_owned(), example.to_owned());
    match expected {
        "a boolean" => pair("`true` or `false`", "write `true` or `false`, unquoted"),
        "u64" | "u32" | "u16" | "u8" | "usize" => pair(
            "a whole number of 0 or more",
            "write digits only, e.g. `60`",
        ),
        "i64" | "i32" => pair("a whole number", "write digits only, e.g. `60`"),
        "f64" | "f32" => pair("a number", "e.g. `1.5`"),
        "a sequence" => pair(
            "a list",
            "write the items as `[a, b]`, or one per line after `- `",
        ),
        "a map" => pair(
            "a mapping of names to values",
            "write one `name: value` per line, indented under the key",
        ),
        "a string" | "a borrowed string" | "a string or a list of strings" => {
            pair("text", "quote it if YAML reads it otherwise: `\"...\"`")
        }
        other => match other.strip_prefix("struct ") {
            Some(_) => pair(
                "a mapping of its keys",
                "write its keys indented under it; docs/spec-format.md lists them",
            ),
            None => pair(
                other.trim_start_matches("a ").trim_start_matches("an "),
                "docs/spec-format.md describes every key",
            ),
        },
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and "unknown variant"), names the
/// closest expected word, or lists them all.
fn did_you_mean(message: &str) -> Option<String> {
    let found = message.split('`').nth(1)?;
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    let expected: Vec<&str> = message
        .split_once("expected")?
        .1
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    if expected.is_empty() {
        return None;
    }
    match closest(found, expected.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None => Some(format!("use one of: {}", expected.join(", "))),
    }
}

/// The candidate most similar to `found`, if any is similar enough to be a likely typo.
pub fn closest<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Letters' case counts for nothing: `es256` is `ES256`, not the nearer-looking `HS256`.
    let lower = found.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::normalized_damerau_levenshtein(&lower, &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Line, column and byte span of every key and sequence item in a YAML document.
#[derive(Debug, Default)]
pub struct SourceMap {
    spans: BTreeMap<YamlPath, (usize, usize)>,
    /// The scalar value at a path (a mapping's value or a list's item): its span and text.
    values: BTreeMap<YamlPath, (usize, usize, String)>,
}

enum Frame {
    Map { key: Option<String> },
    Seq { next: usize },
}

impl SourceMap {
    /// Indexes `source`. A document the parser rejects yields an empty map; serde reports the
    /// syntax error itself, with its own position.
    pub fn new(source: &str) -> Self {
        let mut spans = BTreeMap::new();
        let mut values = BTreeMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut path = YamlPath::root();
        let char_to_byte: Vec<usize> = source
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(source.len()))
            .collect();
        let byte = |chars: usize| char_to_byte.get(chars).copied().unwrap_or(source.len());
        let mut parser = Parser::new_from_str(source);
        while let Some(Ok((event, span))) = parser.next_event() {
            let range = (byte(span.start.index()), byte(span.end.index()));
            let is_scalar = matches!(event, Event::Scalar(..) | Event::Alias(_));
            let is_start = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
            match event {
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    path.0.pop();
                    if let Some(Frame::Map { key }) = stack.last_mut() {
                        *key = None;
                    }
                    continue;
                }
                Event::Scalar(ref text, ..) => {
                    if let Some(Frame::Map { key: key @ None }) = stack.last_mut() {
                        *key = Some(text.to_string());
                        spans.entry(path.key(text)).or_insert(range);
                        continue;
                    }
                }
                _ => {}
            }
            if !(is_scalar || is_start) {
                continue;
            }
            let segment = match stack.last_mut() {
                Some(Frame::Map { key }) => Segment::Key(key.clone().unwrap_or_default()),
                Some(Frame::Seq { next }) => {
                    *next += 1;
                    Segment::Index(*next - 1)
                }
                None => {
                    if is_start {
                        stack.push(match event {
                            Event::MappingStart(..) => Frame::Map { key: None },
                            _ => Frame::Seq { next: 0 },
                        });
                        path.0.push(Segment::Key(String::new()));
                    }
                    continue;
                }
            };
            let mut item = path.clone();
            item.0.push(segment.clone());
            if let Event::Scalar(ref text, ..) = event {
                values
                    .entry(item.clone())
                    .or_insert((range.0, range.1, text.to_string()));
            }
            spans.entry(item).or_insert(range);
            if is_start {
                path.0.push(segment);
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Map { key: None },
                    _ => Frame::Seq { next: 0 },
                });
            } else if let Some(Frame::Map { key }) = stack.last_mut() {
                *key = None;
            }
        }
        // The root container was pushed with an empty key; strip it from every recorded path.
        fn unrooted<T>(found: BTreeMap<YamlPath, T>) -> BTreeMap<YamlPath, T> {
            found
                .into_iter()
                .map(|(mut p, r)| {
                    if p.0.first() == Some(&Segment::Key(String::new())) {
                        p.0.remove(0);
                    }
                    (p, r)
                })
                .collect()
        }
        SourceMap {
            spans: unrooted(spans),
            values: unrooted(values),
        }
    }

    /// The span of the scalar value at `path`, when the document writes one there and `said`
    /// quotes it in backticks: a diagnostic about a value points at the value, not its key.
    pub fn quoted_value(&self, path: &YamlPath, said: &str) -> Option<(usize, usize)> {
        let (start, end, text) = self.values.get(path)?;
        (!text.is_empty() && said.contains(&format!("`{text}`"))).then_some((*start, *end))
    }

    /// The deepest path whose key or scalar value starts at byte `offset`.
    pub fn path_at(&self, offset: usize) -> Option<YamlPath> {
        let keys = self
            .spans
            .iter()
            .filter(|(_, (start, _))| *start == offset)
            .map(|(p, _)| p);
        let values = self
            .values
            .iter()
            .filter(|(_, (start, ..))| *start == offset)
            .map(|(p, _)| p);
        keys.chain(values).max_by_key(|p| p.0.len()).cloned()
    }

    /// Where the span starting at `start` of the key or value at `path` ends, if `start`
    /// begins either.
    fn end_of(&self, path: &YamlPath, start: usize) -> Option<usize> {
        let key = self
            .locate(path)
            .filter(|(s, _)| *s == start)
            .map(|(_, e)| e);
        key.or_else(|| {
            self.values
                .get(path)
                .filter(|(s, ..)| *s == start)
                .map(|(_, e, _)| *e)
        })
    }

    /// The byte span of `path`, or of its closest ancestor that the document spells out.
    pub fn locate(&self, path: &YamlPath) -> Option<(usize, usize)> {
        let mut probe = path.clone();
        loop {
            if let Some(span) = self.spans.get(&probe) {
                return Some(*span);
            }
            probe.0.pop()?;
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The diagnostics of one file, positioned.
#[derive(Debug, Clone)]
pub struct FileDiagnostics {
    /// Path of the spec as the user should see it (`specs/acme.yaml`).
    pub file: String,
    /// The spec's text.
    pub source: String,
    /// Problems, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl FileDiagnostics {
    /// Positions every diagnostic and sorts them by where they are in the file.
    pub fn new(file: String, source: String, mut diagnostics: Vec<Diagnostic>) -> Self {
        // Positioning parses the YAML again: only worth it when something needs a position.
        let unplaced = diagnostics.iter().any(|d| d.offset.is_none());
        let map = if unplaced {
            SourceMap::new(&source)
        } else {
            SourceMap::default()
        };
        for d in &mut diagnostics {
            if d.offset.is_none() {
                let said = format!("{} {}", d.message, d.help.as_deref().unwrap_or(""));
                d.offset = map
                    .quoted_value(&d.path, &said)
                    .or_else(|| map.locate(&d.path))
                    .map(|(start, _)| start);
            }
        }
        diagnostics.sort_by_key(|d| (d.offset.unwrap_or(0), d.severity));
        diagnostics.dedup();
        FileDiagnostics {
            file,
            source,
            diagnostics,
        }
    }

    /// Each diagnostic as the public [`crate::Problem`], with its line and column.
    pub fn problems(&self) -> Vec<crate::Problem> {
        self.diagnostics
            .iter()
            .map(|d| {
                let (line, column) = d
                    .offset
                    .map(|o| line_col(&self.source, o))
                    .map_or((None, None), |(l, c)| (Some(l), Some(c)));
                crate::Problem {
                    severity: d.severity,
                    message: d.message.clone(),
                    help: d.help.clone(),
                    file: self.file.clone(),
                    path: d.path.to_string(),
                    line,
                    column,
                }
            })
            .collect()
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Renders diagnostics with source snippets, without colour, as build.rs, the CLI and tests show
/// them.
pub fn render(files: &[FileDiagnostics]) -> String {
    let config = Config::default();
    let mut out = String::new();
    for file in files {
        let simple = SimpleFile::new(file.file.as_str(), file.source.as_str());
        let map = SourceMap::new(&file.source);
        for d in &file.diagnostics {
            let severity = match d.severity {
                Severity::Error => ReportSeverity::Error,
                Severity::Warning => ReportSeverity::Warning,
            };
            let mut report = Report::new(severity).with_message(&d.message);
            let span = d.offset.map(|start| {
                let end = map
                    .end_of(&d.path, start)
                    .unwrap_or_else(|| token_end(&file.source, start));
                start..end.max(start)
            });
            let mut notes = vec![format!("at `{}`", d.path)];
            if let Some(help) = &d.help {
                notes.push(format!("help: {help}"));
            }
            match span {
                Some(span) => {
                    let (line, col) = line_col(&file.source, span.start);
                    report = report.with_labels(vec![Label::primary((), span)]);
                    notes[0] = if d.path.0.is_empty() {
                        format!("at {}:{line}:{col}", file.file)
                    } else {
                        format!("at `{}` ({}:{line}:{col})", d.path, file.file)
                    };
                }
                None => notes[0] = format!("at `{}` in {}", d.path, file.file),
            }
            report = report.with_notes(notes);
            match term::emit_into_string(&config, &simple, &report) {
                Ok(text) => out.push_str(&text),
                Err(_) => out.push_str(&format!("{}: {}\n", file.file, d.message)),
            }
        }
    }
    out
}

/// End of the word at `start`, so a label underlines something sensible.
fn token_end(source: &str, start: usize) -> usize {
    let rest = source.get(start..).unwrap_or("");
    let len = rest.find(['\n', ':', '#']).unwrap_or(rest.len());
    start + rest[..len].trim_end().len().max(1).min(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_map_finds_nested_keys_and_sequence_items() {
        let src = "a:\n  b:\n    - x\n    - c: 1\nd: 2\n";
        let map = SourceMap::new(src);
        let at = |p: &YamlPath| line_col(src, map.locate(p).unwrap().0);
        let root = YamlPath::root();
        assert_eq!(at(&root.key("a")), (1, 1));
        assert_eq!(at(&root.key("a").key("b")), (2, 3));
        assert_eq!(at(&root.key("a").key("b").index(1)), (4, 7));
        assert_eq!(at(&root.key("a").key("b").index(1).key("c")), (4, 7));
        assert_eq!(at(&root.key("d")), (5, 1));
        // A path the document does not spell out falls back to its closest ancestor.
        assert_eq!(at(&root.key("a").key("zzz")), (1, 1));
    }

    #[test]
    fn serde_paths_round_trip() {
        let p = YamlPath::parse("flows.cc.params[2].type");
        assert_eq!(p.to_string(), "flows.cc.params[2].type");
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let msg = "unknown field `expire_in`, expected one of `expires_in`, `at`, `jwt_exp`";
        assert_eq!(
            did_you_mean(msg).as_deref(),
            Some("did you mean `expires_in`?")
        );
        let msg = "unknown field `zzzz`, expected `a` or `b`";
        assert_eq!(did_you_mean(msg).as_deref(), Some("use one of: a, b"));
    }
}
