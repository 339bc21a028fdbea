//! Generates typed token clients from tokenspec provider specs.
//!
//! One YAML file per API provider describes where its token endpoint wants the client
//! credentials, which parameters it takes, how its answer reads and how the token is sent back.
//! This crate checks such specs and turns each into a Rust module built on the `tokenspec`
//! runtime: `load → validate → IR → emit → format → write`.
//!
//! Use it from a `build.rs`, as with prost-build:
//!
//! ```no_run
//! // build.rs: a bad spec prints its diagnostics and fails the build, without a backtrace.
//! if let Err(e) = tokenspec_codegen::Builder::new().specs_dir("specs").generate() {
//!     eprintln!("{e}");
//!     std::process::exit(1);
//! }
//! ```
//!
//! and in the crate, `include!(concat!(env!("OUT_DIR"), "/tokenspec_providers.rs"));` declares
//! one module per spec. The crate must depend on `tokenspec` (the runtime).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Declares one of the generator's insides: public with the `internals` feature, which only
/// this repository's command line tests, runtime tests and fuzz targets turn on, and private
/// to the crate without it. Either way it is hidden from the documentation and carries no
/// compatibility promise; the API is what the crate root documents: `Builder`,
/// `check_source`, `check_file`, `schema`, and their output and error types.
macro_rules! internal {
    ($(#[$attr:meta])* pub $($item:tt)*) => {
        #[cfg(feature = "internals")]
        $(#[$attr])*
        #[doc(hidden)]
        pub $($item)*

        #[cfg(not(feature = "internals"))]
        $(#[$attr])*
        #[allow(dead_code)]
        pub(crate) $($item)*
    };
}

#[cfg(feature = "cli")]
mod cli;
internal! { pub mod descriptor; }
internal! { pub mod diagnostics; }
mod docs;
#[cfg(feature = "cli")]
mod edit;
internal! { pub mod emit; }
internal! { pub mod explain; }
internal! { pub mod ir; }
internal! { pub mod limits; }
internal! {
    #[cfg(feature = "cli")]
    pub mod live;
}
internal! { pub mod naming; }
#[cfg(feature = "cli")]
mod review;
internal! { pub mod spec; }
internal! { pub mod surface; }
internal! { pub mod validate; }

/// The `tokenspec-codegen` command line, for its binary (`src/main.rs`).
#[cfg(feature = "cli")]
#[doc(hidden)]
pub fn __command_line() -> std::process::ExitCode {
    cli::run()
}

pub use diagnostics::Severity;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use diagnostics::{Diagnostic, FileDiagnostics, YamlPath};

/// The JSON Schema of the spec format (draft 2020-12), pretty-printed, for editors and CI.
#[cfg(feature = "schema")]
pub fn schema() -> String {
    let schema = schemars::schema_for!(spec::Spec);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Name of the index file [`Builder::generate`] writes next to the modules.
pub const INDEX_FILE: &str = "tokenspec_providers.rs";

/// The release series of a version (`0.2` for every 0.2.x, `1` for every 1.x): the contract
/// between generated code and the `tokenspec` runtime. Generated modules state this
/// generator's series, and the runtime accepts only its own (`tokenspec::__private::CONTRACT`,
/// which the runtime's build script derives by the same rule from the same workspace version).
pub(crate) fn series(version: &str) -> &str {
    let mut dots = version.match_indices('.').map(|(i, _)| i);
    let end = if version.starts_with("0.") {
        dots.nth(1)
    } else {
        dots.next()
    };
    &version[..end.unwrap_or(version.len())]
}

/// One problem found in a spec: what, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// An error (nothing is generated for the spec) or a warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The spec file, as named to the user (`specs/acme.yaml`).
    pub file: String,
    /// Where in the spec, as keys and indices (`flows.client_credentials.expiry`); empty for
    /// the whole document.
    pub path: String,
    /// The 1-based line, when the spot is in the file.
    pub line: Option<usize>,
    /// The 1-based column, when the spot is in the file.
    pub column: Option<usize>,
}

/// What went wrong generating code.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// One or more specs have errors.
    Specs {
        /// Every problem of every spec (warnings included), in file and position order.
        problems: Vec<Problem>,
        /// The same, rendered with source snippets, as `Display` prints them.
        rendered: String,
    },
    /// A file or folder could not be read or written.
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Two specs would generate the same module.
    DuplicateModule {
        /// The module name.
        module: String,
        /// The two spec files.
        files: (String, String),
    },
    /// The provider catalog (`PROVIDERS.md`) could not be rendered.
    Catalog(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Specs { rendered, .. } => {
                write!(f, "tokenspec: invalid provider spec\n\n{rendered}")
            }
            Error::Io {
                action,
                path,
                source,
            } => write!(
                f,
                "tokenspec: could not {action} {}: {source}",
                path.display()
            ),
            Error::DuplicateModule { module, files } => write!(
                f,
                "tokenspec: {} and {} would both generate module `{module}`; rename one of them",
                files.0, files.1
            ),
            Error::Catalog(why) => {
                write!(f, "tokenspec: could not render the provider catalog: {why}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// One spec's result: whether it is valid, and every problem found in it.
#[derive(Debug)]
pub struct Checked {
    /// File name as shown to users.
    pub file: String,
    /// The provider, if the spec has no errors (the generator's insides).
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub provider: Option<ir::Provider>,
    #[cfg(not(feature = "internals"))]
    pub(crate) provider: Option<ir::Provider>,
    /// Every problem found, positioned and sorted (the generator's insides).
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub diagnostics: FileDiagnostics,
    #[cfg(not(feature = "internals"))]
    pub(crate) diagnostics: FileDiagnostics,
}

impl Checked {
    /// Whether the spec has no errors: code would be generated from it.
    pub fn is_valid(&self) -> bool {
        self.provider.is_some()
    }

    /// Every problem found (errors and warnings), in position order.
    pub fn problems(&self) -> Vec<Problem> {
        self.diagnostics.problems()
    }

    /// The problems rendered with source snippets, as `check` prints them; empty when there
    /// are none.
    pub fn render(&self) -> String {
        if self.diagnostics.diagnostics.is_empty() {
            String::new()
        } else {
            diagnostics::render(std::slice::from_ref(&self.diagnostics))
        }
    }
}

/// Checks one spec given as text. `file` is how the file is named in messages and in the
/// generated header (`specs/acme.yaml`); its stem is the default module name.
pub fn check_source(file: &str, source: &str) -> Checked {
    // A byte order mark says the file is UTF-8, which it is; it is not part of the YAML.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("provider");
    let (provider, diagnostics) = match load(source) {
        Err(diagnostics) => (None, diagnostics),
        Ok(spec) => {
            let passwords = user_info_anywhere(source);
            match validate::validate(&spec, stem, file) {
                Ok((provider, warnings)) if passwords.is_empty() => (Some(provider), warnings),
                Ok((_, warnings)) => (None, [passwords, warnings].concat()),
                Err(diagnostics) => (None, [passwords, diagnostics].concat()),
            }
        }
    };
    Checked {
        file: file.to_owned(),
        provider,
        diagnostics: FileDiagnostics::new(file.to_owned(), source.to_owned(), diagnostics),
    }
}

/// Every value of the spec holding a URL with user info (`https://user:password@host`), in a
/// description, a doc, a message to match, anywhere: spec text reaches the generated code, and
/// a password must not. Its messages never repeat the URL.
fn user_info_anywhere(source: &str) -> Vec<Diagnostic> {
    // Most specs have none: only those that do are read again.
    if !validate::carries_user_info(source) {
        return Vec::new();
    }
    let Ok(document) = serde_yaml::from_str::<serde_yaml::Value>(source) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut stack = vec![(YamlPath::root(), &document)];
    while let Some((at, value)) = stack.pop() {
        match value {
            serde_yaml::Value::String(text) if validate::carries_user_info(text) => {
                found.push(
                    Diagnostic::error(
                        &at,
                        "the URL carries user info (a name or password before `@`)",
                    )
                    .help("remove it: a password in a spec would reach the generated code"),
                );
            }
            serde_yaml::Value::Sequence(items) => {
                stack.extend(items.iter().enumerate().map(|(i, v)| (at.index(i), v)));
            }
            serde_yaml::Value::Mapping(entries) => {
                for (key, v) in entries {
                    if let Some(key) = key.as_str() {
                        stack.push((at.key(key), v));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

fn load(source: &str) -> Result<spec::Spec, Vec<Diagnostic>> {
    let problems = limits::check(source);
    if !problems.is_empty() {
        return Err(problems);
    }
    serde_yaml::from_str(source).map_err(|e| {
        let first = Diagnostic::from_yaml_error(&e);
        let more = shape_errors(source);
        let found = if more.len() > 1 { more } else { vec![first] };
        let map = diagnostics::SourceMap::new(source);
        found
            .into_iter()
            .flat_map(|d| {
                if d.message.ends_with("untagged enum ClientAuthChoice") {
                    let forms = client_auth_forms(source);
                    if !forms.is_empty() {
                        return forms;
                    }
                }
                vec![in_users_words(source, d)]
            })
            .map(|mut d| {
                // Serde's path can stop short of the key at fault (an unknown variant inside a
                // flow is reported at the flow): the key or value at the position is the one.
                if let Some(at) = d.offset.and_then(|o| map.path_at(o))
                    && at.0.starts_with(&d.path.0)
                    && !d.message.starts_with("missing field")
                {
                    d.path = at;
                }
                diagnostics::in_plain_words(d)
            })
            .collect()
    })
}

/// What is wrong with each `client_auth` (the spec's and each flow's) that is neither of its
/// two forms, said in the form its author meant: a list (a sequence) of methods, or one
/// method (a mapping); anything else is neither.
fn client_auth_forms(source: &str) -> Vec<Diagnostic> {
    let Ok(document) = serde_yaml::from_str::<serde_yaml::Value>(source) else {
        return Vec::new();
    };
    let mut places = vec![(
        YamlPath::root().key("client_auth"),
        document.get("client_auth"),
    )];
    if let Some(flows) = document
        .get("flows")
        .and_then(serde_yaml::Value::as_mapping)
    {
        for (name, flow) in flows {
            if let Some(name) = name.as_str() {
                let at = YamlPath::root().key("flows").key(name).key("client_auth");
                places.push((at, flow.get("client_auth")));
            }
        }
    }
    let map = diagnostics::SourceMap::new(source);
    let mut found = Vec::new();
    for (at, value) in places {
        let Some(value) = value else { continue };
        if serde_yaml::from_value::<spec::ClientAuthChoice>(value.clone()).is_ok() {
            continue;
        }
        let method = |item: &serde_yaml::Value, at: &YamlPath, form: &str| {
            let e = serde_yaml::from_value::<spec::ClientAuthSpec>(item.clone()).err()?;
            // Every key of a method is optional: the first key that fails alone is the one
            // at fault, so the message names it.
            let alone = item.as_mapping().and_then(|keys| {
                keys.iter().find_map(|(key, value)| {
                    let mut one = serde_yaml::Mapping::new();
                    one.insert(key.clone(), value.clone());
                    let e = serde_yaml::from_value::<spec::ClientAuthSpec>(
                        serde_yaml::Value::Mapping(one),
                    )
                    .err()?;
                    Some((key.as_str().map(str::to_owned), e))
                })
            });
            let (key, e) = alone.unwrap_or((None, e));
            // An unknown key is named in the message; any other is the key that failed alone.
            let prefix = match key.filter(|_| !e.to_string().starts_with("unknown field")) {
                Some(key) => at.key(&key),
                None => at.clone(),
            };
            let d = diagnostics::in_plain_words(placed(source, &map, &prefix, &e));
            Some(Diagnostic {
                message: format!("{form}: {}", d.message),
                ..d
            })
        };
        match value {
            serde_yaml::Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let iat = at.index(i);
                    if item.is_mapping() {
                        found.extend(method(
                            item,
                            &iat,
                            &format!(
                                "`client_auth` is a list of methods, and method {} is wrong",
                                i + 1
                            ),
                        ));
                    } else {
                        let written = item.as_str().map_or("this".into(), |t| format!("`{t}`"));
                        found.push(Diagnostic::error(&iat, format!("`client_auth` is a list of methods, and item {} ({written}) is no method", i + 1)).help(
                            "in the list form each method is a mapping: `- { basic: raw }`, `- { params: [body] }`; for one method, write the mapping alone: `client_auth: { basic: raw }`",
                        ));
                    }
                }
            }
            serde_yaml::Value::Mapping(_) => {
                found.extend(method(
                    value,
                    &at,
                    "`client_auth` is one method, and it is wrong",
                ));
            }
            _ => {
                let written = value
                    .as_str()
                    .map_or(String::new(), |t| format!(" (`{t}`)"));
                found.push(Diagnostic::error(&at, format!("`client_auth`{written} is neither one method nor a list of methods")).help(
                    "one method is a mapping, `client_auth: { basic: raw }`; several are a list of them, `client_auth: [{ basic: percent }, { params: [body] }]`",
                ));
            }
        }
    }
    found
}

/// The written forms of the spec's values that can take more than one shape, for messages that
/// would otherwise name an internal type: what the value is, its forms, and its keys.
const SHAPES: &[(&str, &str, &[&str])] = &[
    (
        "EnvironmentSpec",
        "an environment is a URL (`production: https://api.example.com`) or `{ url: …, doc: …, client_certificate: … }`",
        &["url", "doc", "client_certificate"],
    ),
    (
        "ParamTypeSpec",
        "a parameter's `type` is `string`, `integer`, `boolean`, `secret`, `{ enum: [a, b] }` or `{ set: [a, b] }`",
        &["enum", "set"],
    ),
    (
        "ExpiresInSpec",
        "`expires_in` is the answer's field (`expires_in: expires_in`) or `{ path: …, when_absent: … }`",
        &["path", "when_absent"],
    ),
    (
        "Paths",
        "a place in the answer is a path (`data.token`) or a list of paths tried in order (`[access_token, token]`)",
        &[],
    ),
    (
        "ClientAuthChoice",
        "`client_auth` is one method (`{ basic: raw }`) or a list of the methods the provider accepts",
        &[
            "basic",
            "params",
            "id_param",
            "secret_param",
            "assertion",
            "algorithm",
            "audience",
            "certificate",
        ],
    ),
];

/// Rewrites what serde says in terms of its own types ("data did not match any variant of
/// untagged enum EnvironmentSpec") and bare type errors into what the user wrote: the forms the
/// value may take and, for a mistyped key inside it, the key it probably meant; an unquoted
/// `{token}` is a YAML mapping, so say to quote it.
fn in_users_words(source: &str, mut d: Diagnostic) -> Diagnostic {
    if let Some(&(_, forms, keys)) = SHAPES
        .iter()
        .find(|(name, ..)| d.message.ends_with(&format!("untagged enum {name}")))
    {
        d.message = forms.to_owned();
        // The value starts after the key the offset points at; its keys are on the next lines,
        // indented deeper, or inside `{ }` on the same line.
        if keys.is_empty() {
            // A value without keys of its own (text or a list) was written as a mapping.
            d.help = Some("write it without `{ }` and its keys".into());
        } else if let Some(start) = d.offset {
            let text = &source[start.min(source.len())..];
            let own_indent = source[..start.min(source.len())]
                .rsplit('\n')
                .next()
                .map_or(0, |l| l.len());
            let mut written = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let indent = line.len() - line.trim_start().len();
                if i > 0 && (line.trim().is_empty() || indent <= own_indent) {
                    break;
                }
                let body = if i == 0 {
                    line.split_once(':').map_or("", |(_, v)| v)
                } else {
                    line
                };
                for part in body.split([',', '{', '}']) {
                    if let Some((key, _)) = part.split_once(':') {
                        let key = key.trim().trim_start_matches("- ");
                        if !key.is_empty() && !key.contains(' ') {
                            written.push(key.to_owned());
                        }
                    }
                }
            }
            if let Some(unknown) = written.iter().find(|k| !keys.contains(&k.as_str())) {
                d.help = Some(match diagnostics::closest(unknown, keys.iter().copied()) {
                    Some(best) => {
                        format!("`{unknown}` is not one of its keys: did you mean `{best}`?")
                    }
                    None => format!("`{unknown}` is not one of its keys ({})", keys.join(", ")),
                });
                if let Some(at) = find_word(source, start, unknown) {
                    d.offset = Some(at);
                }
            }
        }
    } else if d.message.ends_with("expected unit variant") {
        d.message = "this choice takes no value".into();
        d.help = Some("write it alone, e.g. `expiry: never`".into());
    } else if d
        .message
        .starts_with("invalid type: map, expected a string")
        && let Some(at) = d.offset
        && source[at.min(source.len())..].starts_with('{')
    {
        d.message = "this value starts with `{`, which YAML reads as a mapping, not text".into();
        d.help = Some("quote it: `\"Bearer {token}\"`".into());
    }
    d
}

/// Every shape error of a document serde refused, not just its first: each flow is read on its
/// own, then the rest. Positions come from the errors' paths.
fn shape_errors(source: &str) -> Vec<Diagnostic> {
    let Ok(mut document) = serde_yaml::from_str::<serde_yaml::Value>(source) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let map = diagnostics::SourceMap::new(source);
    let at = |prefix: &YamlPath, e: &serde_yaml::Error| placed(source, &map, prefix, e);
    if let Some(flows) = document
        .get_mut("flows")
        .and_then(serde_yaml::Value::as_mapping_mut)
    {
        for (name, flow) in flows.iter() {
            let Some(name) = name.as_str() else { continue };
            if let Err(e) = serde_yaml::from_value::<spec::FlowSpec>(flow.clone()) {
                found.push(at(&YamlPath::root().key("flows").key(name), &e));
            }
        }
        flows.clear();
    }
    if let Err(e) = serde_yaml::from_value::<spec::Spec>(document) {
        found.push(at(&YamlPath::root(), &e));
    }
    found
}

/// The diagnostic of serde error `e` from reading the value at `prefix` on its own: its path
/// under `prefix`, and an unknown key or value, which the message names, found after the
/// section's start.
fn placed(
    source: &str,
    map: &diagnostics::SourceMap,
    prefix: &YamlPath,
    e: &serde_yaml::Error,
) -> Diagnostic {
    let mut d = Diagnostic::from_yaml_error(e);
    let mut path = prefix.clone();
    path.0.append(&mut d.path.0);
    d.path = path;
    let from = map.locate(&d.path).map_or(0, |(start, _)| start);
    d.offset = d
        .message
        .starts_with("unknown")
        .then(|| d.message.split('`').nth(1))
        .flatten()
        .and_then(|word| find_word(source, from, word));
    d
}

/// Byte offset of `word` as a whole YAML word at or after `from`.
fn find_word(source: &str, from: usize, word: &str) -> Option<usize> {
    let is_part = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
    let mut start = from.min(source.len());
    while let Some(i) = source.get(start..)?.find(word) {
        let at = start + i;
        let before = source[..at].chars().next_back();
        let after = source[at + word.len()..].chars().next();
        if !before.is_some_and(is_part) && !after.is_some_and(is_part) {
            return Some(at);
        }
        start = at + word.len();
    }
    None
}

/// Checks one spec file on disk, naming it `display` in messages.
pub fn check_file(path: &Path, display: &str) -> Result<Checked, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let utf16 = bytes.starts_with(&[0xff, 0xfe])
        || bytes.starts_with(&[0xfe, 0xff])
        || bytes.iter().take(64).filter(|b| **b == 0).count() > 4;
    if utf16 {
        // Its text would print as NUL bytes; say what it is without showing it.
        let mut d = Diagnostic::error(
            &YamlPath::root(),
            "the file is UTF-16 (or holds NUL bytes), not UTF-8",
        )
        .help("save the spec as UTF-8 (most editors: \"Save with encoding\")");
        d.offset = None;
        return Ok(Checked {
            file: display.to_owned(),
            provider: None,
            diagnostics: FileDiagnostics::new(display.to_owned(), String::new(), vec![d]),
        });
    }
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let byte = e.as_bytes()[offset];
            let mut d = Diagnostic::error(
                &YamlPath::root(),
                format!("the file is not UTF-8: byte 0x{byte:02x} here is not valid UTF-8 (Latin-1 or Windows-1252 text, perhaps)"),
            )
            .help("save the spec as UTF-8");
            // The text before the bad byte is valid, so the offset points at the same place in
            // the lossy text shown.
            d.offset = Some(offset);
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            return Ok(Checked {
                file: display.to_owned(),
                provider: None,
                diagnostics: FileDiagnostics::new(display.to_owned(), text, vec![d]),
            });
        }
    };
    Ok(check_source(display, &source))
}

internal! {
    /// The `.yaml` / `.yml` files of a folder, sorted by name.
    pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
            action: "list",
            path: dir.to_owned(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| Error::Io {
                    action: "list",
                    path: dir.to_owned(),
                    source,
                })?
                .path();
            let is_yaml = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            );
            if is_yaml && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }
}

/// A generated provider module.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GeneratedModule {
    /// Rust module name.
    pub module: String,
    /// Spec file it came from, as displayed.
    pub spec: String,
    /// The formatted source, `@generated` header included.
    pub source: String,
}

/// Everything generated from a folder of specs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Output {
    /// One module per spec, sorted by module name.
    pub modules: Vec<GeneratedModule>,
    /// The provider catalog (`PROVIDERS.md`).
    pub catalog: String,
    /// Warnings, rendered; empty when there are none.
    pub warnings: String,
    /// Every spec file read.
    pub spec_files: Vec<PathBuf>,
}

internal! {
    /// Checks and generates every spec in `files`, naming each `<display_dir>/<file name>` in
    /// messages and headers. All problems of all files are reported together.
    pub fn generate_files(files: &[PathBuf], display_dir: &str) -> Result<Output, Error> {
        generate_some(files, display_dir, None)
    }
}

/// [`generate_files`], emitting code only for the modules `include` accepts (every spec is still
/// checked), so a build with one provider enabled costs the same however many specs exist.
fn generate_some(
    files: &[PathBuf],
    display_dir: &str,
    include: Option<&ModuleFilter>,
) -> Result<Output, Error> {
    let display = |path: &PathBuf| {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if display_dir.is_empty() {
            name
        } else {
            format!("{}/{name}", display_dir.trim_end_matches('/'))
        }
    };
    let checked = in_parallel(files, |path| check_file(path, &display(path)))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    // Only files with something to say are rendered: rendering maps a file's YAML to find
    // each diagnostic's span, which costs as much as checking a clean file.
    let said: Vec<FileDiagnostics> = checked
        .iter()
        .filter(|c| !c.diagnostics.diagnostics.is_empty())
        .map(|c| c.diagnostics.clone())
        .collect();
    if said.iter().any(FileDiagnostics::has_errors) {
        return Err(Error::Specs {
            problems: said.iter().flat_map(FileDiagnostics::problems).collect(),
            rendered: diagnostics::render(&said),
        });
    }
    let warnings = diagnostics::render(&said);
    let stable = stable_dir(Path::new(display_dir));
    let mut providers: Vec<ir::Provider> = checked
        .into_iter()
        .filter_map(|c| c.provider)
        .map(|mut p| {
            let name = p.file.rsplit('/').next().unwrap_or_default().to_owned();
            p.file = if stable.is_empty() {
                name
            } else {
                format!("{stable}/{name}")
            };
            p
        })
        .collect();
    providers.sort_by(|a, b| a.module.cmp(&b.module));
    for pair in providers.windows(2) {
        if pair[0].module == pair[1].module {
            return Err(Error::DuplicateModule {
                module: pair[0].module.clone(),
                files: (pair[0].file.clone(), pair[1].file.clone()),
            });
        }
    }
    let wanted: Vec<&ir::Provider> = providers
        .iter()
        .filter(|p| include.is_none_or(|f| f(&p.module)))
        .collect();
    let modules = in_parallel(&wanted, |p| GeneratedModule {
        module: p.module.clone(),
        spec: p.file.clone(),
        source: emit::provider_source(p),
    });
    let catalog = docs::catalog(&providers).map_err(|e| Error::Catalog(e.to_string()))?;
    Ok(Output {
        modules,
        catalog,
        warnings,
        spec_files: files.to_vec(),
    })
}

/// How a folder of specs is named in generated code (headers, module docs, the catalog):
/// relative to `base` (the crate being built, else the current folder) when it is inside it,
/// else by its own name, so the output is the same on every machine. Messages name the folder
/// as it was given.
fn stable_dir(dir: &Path) -> String {
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let base = base.as_deref();
    let shown = match base.and_then(|b| dir.strip_prefix(b).ok()) {
        Some(inside) => inside.to_path_buf(),
        None if dir.is_absolute() => dir.file_name().map(PathBuf::from).unwrap_or_default(),
        None => dir.to_path_buf(),
    };
    shown.to_string_lossy().replace('\\', "/")
}

/// The cores this process may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `work` over every item, spread over the machine's cores, results in input order: specs are
/// independent, and reading and checking them is most of the generator's work.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&work).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

internal! {
    /// Writes `contents` to `path` unless it already holds exactly that, so unchanged output keeps
    /// its timestamp and does not trigger rebuilds.
    pub fn write_if_changed(path: &Path, contents: &str) -> Result<bool, Error> {
        if std::fs::read(path).ok().as_deref() == Some(contents.as_bytes()) {
            return Ok(false);
        }
        std::fs::write(path, contents).map_err(|source| Error::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })?;
        Ok(true)
    }
}

/// Generates token clients from a build script, like `prost_build::Config`.
///
/// Writes one `<module>.rs` per spec and an index, [`INDEX_FILE`], into `OUT_DIR` (or
/// [`Builder::out_dir`]), and prints the `cargo:rerun-if-changed` lines Cargo needs to rerun the
/// build script when a spec is added, changed or removed.
#[derive(Clone, Default)]
pub struct Builder {
    specs_dir: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    include: Option<Arc<ModuleFilter>>,
    module_attributes: Vec<String>,
    quiet: bool,
}

/// Which modules a [`Builder`] generates, by module name.
type ModuleFilter = dyn Fn(&str) -> bool + Send + Sync;

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("specs_dir", &self.specs_dir)
            .field("out_dir", &self.out_dir)
            .field(
                "include_modules",
                &self.include.as_ref().map(|_| "(filter)"),
            )
            .field("module_attributes", &self.module_attributes)
            .field("quiet", &self.quiet)
            .finish()
    }
}

impl Builder {
    /// A builder that reads `specs/` and writes into `OUT_DIR`.
    pub fn new() -> Self {
        Builder::default()
    }

    /// The folder of spec files (default `specs`, relative to the crate).
    pub fn specs_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.specs_dir = Some(dir.into());
        self
    }

    /// Where to write (default: the `OUT_DIR` Cargo gives build scripts).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Reads, generates and declares only the specs whose module (their file stem) `include`
    /// accepts; tokenspec uses it for per-provider cargo features.
    pub fn include_modules(
        mut self,
        include: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.include = Some(Arc::new(include));
        self
    }

    /// Puts an attribute on every generated module's declaration, e.g. `#[deny(warnings)]` or
    /// `#[allow(missing_docs)]`.
    pub fn module_attribute(mut self, attribute: impl Into<String>) -> Self {
        self.module_attributes.push(attribute.into());
        self
    }

    /// Prints no `cargo:` lines (for use outside build scripts).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Checks every spec, and writes the modules and the index if all are valid.
    pub fn generate(self) -> Result<Output, Error> {
        let specs_dir = self
            .specs_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("specs"));
        let out_dir = match self
            .out_dir
            .clone()
            .or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from))
        {
            Some(dir) => dir,
            None => {
                return Err(Error::Io {
                    action: "find the output folder",
                    path: PathBuf::from("OUT_DIR"),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "OUT_DIR is not set; call Builder::out_dir outside build scripts",
                    ),
                });
            }
        };
        if !self.quiet {
            println!("cargo:rerun-if-changed={}", specs_dir.display());
        }
        let mut files = spec_files(&specs_dir)?;
        // Specs of excluded modules are not even read: with one provider enabled, the build costs
        // the same however many specs exist. (Modules are matched by file stem here.) Cargo reruns
        // this script anyway when features change, and the folder line catches added files.
        if let Some(include) = &self.include {
            files.retain(|f| {
                f.file_stem()
                    .and_then(|s| s.to_str())
                    .is_none_or(|stem| include(&naming::snake_ident(stem)))
            });
        }
        if !self.quiet {
            for f in &files {
                println!("cargo:rerun-if-changed={}", f.display());
            }
        }
        let display_dir = specs_dir.to_string_lossy().replace('\\', "/");
        let output = generate_some(&files, &display_dir, self.include.as_deref())?;
        if !self.quiet {
            for line in output.warnings.lines().filter(|l| !l.trim().is_empty()) {
                println!("cargo:warning={line}");
            }
        }
        std::fs::create_dir_all(&out_dir).map_err(|source| Error::Io {
            action: "create",
            path: out_dir.clone(),
            source,
        })?;
        let mut index =
            String::from("// @generated by tokenspec-codegen: one module per provider spec.\n");
        for m in &output.modules {
            let path = out_dir.join(format!("{}.rs", m.module));
            write_if_changed(&path, &m.source)?;
            for attribute in &self.module_attributes {
                index.push_str(attribute);
                index.push('\n');
            }
            index.push_str(&format!(
                "#[path = {:?}]\npub mod {};\n",
                path.to_string_lossy(),
                m.module
            ));
        }
        write_if_changed(&out_dir.join(INDEX_FILE), &index)?;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_release_series_is_what_semver_lets_differ_only_compatibly() {
        assert_eq!(super::series("0.2.0"), "0.2");
        assert_eq!(super::series("0.2.17"), "0.2");
        assert_eq!(super::series("0.10.1-rc.1"), "0.10");
        assert_eq!(super::series("1.4.2"), "1");
        assert_eq!(super::series("12.0.0"), "12");
    }

    #[test]
    fn the_generator_writes_the_series_the_runtime_accepts() {
        assert_eq!(
            super::series(env!("CARGO_PKG_VERSION")),
            tokenspec::__private::CONTRACT
        );
    }
}
