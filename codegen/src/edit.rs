//! Changes to a spec's YAML text that keep everything else as written: comments, key order,
//! quoting and blank lines outside the value that changes. `try --fix` writes its suggested
//! changes through here.
//!
//! A value is replaced in place (a scalar where the scalar was; a block where the old value
//! was, comments inside the old value going with it); a key the spec lacks is added as the
//! last key of its mapping, at the indentation that mapping's keys use, creating the mappings
//! on the way. A flow-style mapping (`{ a: b }`) on the way is not edited: the change is then
//! for the author to make by hand, and the error says so.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser};
use serde_yaml::Value;

/// One change: the value at a path of mapping keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Keys from the document root (`["flows", "client_credentials", "path"]`).
    pub path: Vec<String>,
    /// The new value.
    pub value: Value,
}

impl Edit {
    /// The value at `path` (keys from the root).
    pub fn new(path: &[&str], value: Value) -> Self {
        Edit {
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            value,
        }
    }
}

/// Changes as the YAML they write, each nested under its keys, keys they share written once:
/// what an author would paste into the spec.
pub fn as_yaml(edits: &[Edit]) -> String {
    let mut out = String::new();
    let mut previous: &[String] = &[];
    for edit in edits {
        let parents = &edit.path[..edit.path.len() - 1];
        let shared = previous
            .iter()
            .zip(parents)
            .take_while(|(a, b)| a == b)
            .count();
        for (depth, key) in parents.iter().enumerate().skip(shared) {
            out.push_str(&format!("{}{}:\n", "  ".repeat(depth), scalar_key(key)));
        }
        let depth = parents.len();
        let key = &edit.path[depth];
        out.push_str(&format!(
            "{}{}",
            "  ".repeat(depth),
            entry(key, &edit.value, depth * 2)
        ));
        previous = parents;
    }
    out
}

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The text is not YAML the parser reads.
    #[error("the spec is not valid YAML, so it cannot be edited: {0}")]
    Unparsable(String),
    /// A mapping on the way is written in flow style, or is not a mapping.
    #[error("`{0}` is not a block mapping, so the change cannot be made in place: make it by hand")]
    NotBlock(String),
}

/// Where a key and its value are in the text.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Byte where the key starts.
    key_start: usize,
    /// Byte just after the key.
    key_end: usize,
    /// Byte just after the value's last character.
    value_end: usize,
    /// Whether the value is a block mapping (its keys on the following lines).
    block_mapping: bool,
    /// Column of the value's first key, when it is a block mapping.
    child_column: Option<usize>,
    /// Whether the key is inside a flow-style mapping.
    in_flow: bool,
}

/// Every mapping key of a document by its path.
type Nodes = BTreeMap<Vec<String>, Node>;

/// Every mapping key of the document by its path, with the spans of its key and value, and the
/// column of the root mapping's keys.
fn index(source: &str) -> Result<(Nodes, Option<usize>), EditError> {
    let char_to_byte: Vec<usize> = source
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(source.len()))
        .collect();
    let byte = |chars: usize| char_to_byte.get(chars).copied().unwrap_or(source.len());
    let column = |at: usize| at - source[..at].rfind('\n').map_or(0, |n| n + 1);
    enum Frame {
        Map { key: Option<String>, flow: bool },
        Seq,
    }
    let mut nodes: Nodes = BTreeMap::new();
    let mut stack: Vec<(Frame, Option<Vec<String>>)> = Vec::new();
    let mut last_end = 0;
    let mut root_column = None;
    let mut parser = Parser::new_from_str(source);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| EditError::Unparsable(e.to_string()))?;
        let (start, end) = (byte(span.start.index()), byte(span.end.index()));
        // The path of the value this event starts, if it is a mapping's value.
        let value_path = |stack: &[(Frame, Option<Vec<String>>)]| match stack.last() {
            Some((Frame::Map { key: Some(k), .. }, Some(path))) => {
                let mut p = path.clone();
                p.push(k.clone());
                Some(p)
            }
            _ => None,
        };
        match event {
            Event::Scalar(text, ..) => {
                last_end = end;
                if let Some((
                    Frame::Map {
                        key: key @ None,
                        flow,
                    },
                    Some(path),
                )) = stack.last_mut()
                {
                    let in_flow = *flow;
                    let mut p = path.clone();
                    p.push(text.to_string());
                    nodes.insert(
                        p,
                        Node {
                            key_start: start,
                            key_end: end,
                            value_end: end,
                            block_mapping: false,
                            child_column: None,
                            in_flow,
                        },
                    );
                    *key = Some(text.to_string());
                    continue;
                }
                if let Some(p) = value_path(&stack)
                    && let Some(node) = nodes.get_mut(&p)
                {
                    node.value_end = end;
                }
                if let Some((Frame::Map { key, .. }, _)) = stack.last_mut() {
                    *key = None;
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let flow = source[start..].starts_with(['{', '[']);
                let path = if stack.is_empty() {
                    if is_map && !flow {
                        root_column = Some(column(start));
                    }
                    Some(Vec::new())
                } else {
                    value_path(&stack)
                };
                if let Some(p) = &path
                    && let Some(node) = nodes.get_mut(p)
                {
                    node.block_mapping = is_map && !flow;
                }
                let frame = if is_map {
                    Frame::Map { key: None, flow }
                } else {
                    Frame::Seq
                };
                stack.push((frame, if is_map { path } else { None }));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if end > start {
                    last_end = end;
                }
                let Some((frame, path)) = stack.pop() else {
                    continue;
                };
                if let (Frame::Map { flow: false, .. }, Some(path)) = (&frame, &path) {
                    let first_child = nodes
                        .range(path.clone()..)
                        .find(|(p, _)| p.len() == path.len() + 1 && p.starts_with(path))
                        .map(|(_, n)| column(n.key_start));
                    if let Some(node) = nodes.get_mut(path) {
                        node.child_column = first_child;
                    }
                }
                if let Some(p) = path.filter(|p| !p.is_empty())
                    && let Some(node) = nodes.get_mut(&p)
                {
                    node.value_end = last_end;
                }
                if let Some((Frame::Map { key, .. }, _)) = stack.last_mut() {
                    *key = None;
                }
            }
            _ => {}
        }
    }
    Ok((nodes, root_column))
}

/// Applies `edits` in order to `source`.
pub fn apply(source: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut text = source.to_owned();
    for edit in edits {
        text = apply_one(&text, edit)?;
    }
    Ok(text)
}

fn apply_one(source: &str, edit: &Edit) -> Result<String, EditError> {
    let (nodes, root_column) = index(source)?;
    let line_start = |at: usize| source[..at].rfind('\n').map_or(0, |n| n + 1);
    let column = |at: usize| at - line_start(at);
    if let Some(node) = nodes.get(&edit.path) {
        if node.in_flow && matches!(edit.value, Value::Mapping(_)) {
            return Err(EditError::NotBlock(edit.path.join(".")));
        }
        // Replace the value: from just after the key to the end of the old value.
        let indent = column(node.key_start);
        let mut out = String::with_capacity(source.len() + 64);
        out.push_str(&source[..node.key_end]);
        out.push_str(value_after_key(&edit.value, indent).trim_end_matches('\n'));
        out.push_str(&source[node.value_end.max(node.key_end)..]);
        return Ok(out);
    }
    // The deepest mapping on the way that exists; the rest is created under it.
    let mut depth = edit.path.len() - 1;
    while depth > 0 && !nodes.contains_key(&edit.path[..depth]) {
        depth -= 1;
    }
    let parent = &edit.path[..depth];
    let (insert_at, indent) = if parent.is_empty() {
        (source.len(), root_column.unwrap_or(0))
    } else {
        let node = nodes[parent];
        if !node.block_mapping {
            return Err(EditError::NotBlock(parent.join(".")));
        }
        let end_of_line = source[node.value_end..]
            .find('\n')
            .map_or(source.len(), |n| node.value_end + n + 1);
        let indent = node.child_column.unwrap_or(column(node.key_start) + 2);
        (end_of_line, indent)
    };
    let mut block = String::new();
    let rest = &edit.path[depth..];
    for (i, key) in rest.iter().enumerate() {
        let pad = " ".repeat(indent + 2 * i);
        if i + 1 == rest.len() {
            block.push_str(&pad);
            block.push_str(&entry(key, &edit.value, indent + 2 * i));
        } else {
            block.push_str(&format!("{pad}{}:\n", scalar_key(key)));
        }
    }
    let mut out = String::with_capacity(source.len() + block.len() + 1);
    out.push_str(&source[..insert_at]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&block);
    out.push_str(&source[insert_at..]);
    Ok(out)
}

/// `key: value` and a line break, the value laid out for a key at column `indent`.
fn entry(key: &str, value: &Value, indent: usize) -> String {
    format!("{}{}", scalar_key(key), value_after_key(value, indent))
}

/// What follows a key at column `indent`: `: scalar\n`, or `:\n` and an indented block.
fn value_after_key(value: &Value, indent: usize) -> String {
    match value {
        Value::Mapping(map) if !map.is_empty() => {
            let mut out = String::from(":\n");
            for (k, v) in map {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => inline(other),
                };
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&entry(&key, v, indent + 2));
            }
            out
        }
        other => format!(": {}\n", inline(other)),
    }
}

fn scalar_key(key: &str) -> String {
    inline(&Value::String(key.to_owned()))
}

/// A value on one line: plain scalars where YAML reads them back the same, flow style for
/// collections.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./{}:".contains(c))
                && s.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '_')
                && !s.contains(": ")
                && !s.ends_with(':')
                && !s.starts_with('{')
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
                );
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Mapping(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", inline(k), inline(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        Value::Tagged(tagged) => inline(&tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        let mut m = serde_yaml::Mapping::new();
        for (k, v) in pairs {
            m.insert(Value::String((*k).into()), v.clone());
        }
        Value::Mapping(m)
    }

    const SPEC: &str = "# header comment\ntitle: Acme\nflows:\n  cc:\n    grant: client_credentials\n    path: /token # the documented path\n    # how long tokens live\n    expiry:\n      expires_in: expires_in\n\n# trailing comment\n";

    #[test]
    fn a_scalar_is_replaced_in_place_keeping_its_comment() {
        let out = apply(
            SPEC,
            &[Edit::new(&["flows", "cc", "path"], "/oauth/token".into())],
        )
        .unwrap();
        assert!(
            out.contains("    path: /oauth/token # the documented path\n"),
            "{out}"
        );
        assert_eq!(out.replace("/oauth/token", "/token"), SPEC);
    }

    #[test]
    fn a_block_value_is_replaced_by_a_block_and_the_comments_around_it_stay() {
        let value = map(&[(
            "at",
            map(&[("path", "exp".into()), ("format", "rfc3339".into())]),
        )]);
        let out = apply(SPEC, &[Edit::new(&["flows", "cc", "expiry"], value)]).unwrap();
        assert!(
            out.contains("    # how long tokens live\n    expiry:\n      at:\n        path: exp\n        format: rfc3339\n\n# trailing comment\n"),
            "{out}"
        );
    }

    #[test]
    fn missing_keys_are_added_with_the_mappings_on_the_way_at_the_right_indent() {
        let out = apply(
            SPEC,
            &[Edit::new(
                &["flows", "cc", "response", "access_token"],
                "data.token".into(),
            )],
        )
        .unwrap();
        assert!(
            out.contains(
                "      expires_in: expires_in\n    response:\n      access_token: data.token\n"
            ),
            "{out}"
        );
        let out = apply(
            SPEC,
            &[Edit::new(&["error_answer", "code"], "error.code".into())],
        )
        .unwrap();
        assert!(
            out.ends_with("# trailing comment\nerror_answer:\n  code: error.code\n"),
            "{out}"
        );
        serde_yaml::from_str::<Value>(&out).expect("still YAML");
    }

    #[test]
    fn changes_print_as_one_snippet_sharing_their_keys() {
        let edits = [
            Edit::new(&["error_answer", "code"], "error.code".into()),
            Edit::new(&["error_answer", "message"], "error.message".into()),
            Edit::new(&["flows", "cc", "body"], "form".into()),
        ];
        assert_eq!(
            as_yaml(&edits),
            "error_answer:\n  code: error.code\n  message: error.message\nflows:\n  cc:\n    body: form\n"
        );
    }

    #[test]
    fn values_yaml_would_misread_are_quoted() {
        for (text, shown) in [
            ("true", "\"true\""),
            ("3600", "\"3600\""),
            ("a b", "\"a b\""),
            ("", "\"\""),
        ] {
            assert_eq!(inline(&Value::String(text.into())), shown);
        }
        assert_eq!(inline(&Value::Bool(false)), "false");
    }

    #[test]
    fn flow_style_mappings_are_left_to_the_author() {
        let src = "flows: { cc: { path: /t } }\n";
        let e = apply(src, &[Edit::new(&["flows", "cc", "body"], "json".into())]).unwrap_err();
        assert!(matches!(e, EditError::NotBlock(_)), "{e}");
    }
}
