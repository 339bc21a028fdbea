//! The build-script API: a folder of specs in, modules and an index out.

use std::path::Path;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tokenspec-builder-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn a_new_spec_file_becomes_a_new_module_in_the_index() {
    let specs = temp_dir("specs");
    let out = temp_dir("out");
    let bs2 =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/bs2.yaml"))
            .expect("bs2 spec");
    std::fs::write(specs.join("bs2.yaml"), &bs2).expect("write");
    std::fs::write(specs.join("acme_bank.yaml"), &bs2).expect("write");
    let output = tokenspec_codegen::Builder::new()
        .specs_dir(&specs)
        .out_dir(&out)
        .quiet()
        .generate()
        .expect("valid specs");
    let modules: Vec<&str> = output.modules.iter().map(|m| m.module.as_str()).collect();
    assert_eq!(modules, ["acme_bank", "bs2"]);
    let index = std::fs::read_to_string(out.join(tokenspec_codegen::INDEX_FILE)).expect("index");
    assert!(
        index.contains("pub mod acme_bank;") && index.contains("pub mod bs2;"),
        "{index}"
    );
    assert!(out.join("acme_bank.rs").is_file());
}

#[test]
fn include_modules_and_module_attributes_shape_the_index() {
    let specs = temp_dir("filter-specs");
    let out = temp_dir("filter-out");
    let bs2 =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/bs2.yaml"))
            .expect("bs2 spec");
    std::fs::write(specs.join("bs2.yaml"), &bs2).expect("write");
    std::fs::write(specs.join("other.yaml"), &bs2).expect("write");
    tokenspec_codegen::Builder::new()
        .specs_dir(&specs)
        .out_dir(&out)
        .quiet()
        // A filter may capture its state, as one built from the enabled cargo features does.
        .include_modules({
            let excluded = ["other".to_owned()];
            move |m: &str| !excluded.iter().any(|e| e == m)
        })
        .module_attribute("#[deny(warnings)]")
        .generate()
        .expect("valid specs");
    let index = std::fs::read_to_string(out.join(tokenspec_codegen::INDEX_FILE)).expect("index");
    assert!(index.contains("#[deny(warnings)]\n#[path"), "{index}");
    assert!(
        !index.contains("pub mod other;"),
        "excluded modules are not declared"
    );
    assert!(
        !out.join("other.rs").exists(),
        "nor generated: they cost the build nothing"
    );
}

#[test]
fn a_broken_spec_fails_with_every_problem_named_by_file_and_line() {
    let specs = temp_dir("broken");
    std::fs::write(
        specs.join("one.yaml"),
        "title: One\nenvironments:\n  prod: http://x\nflows: {}\n",
    )
    .expect("write");
    std::fs::write(specs.join("two.yaml"), "title: Two\nenvironment: {}\n").expect("write");
    let err = tokenspec_codegen::Builder::new()
        .specs_dir(&specs)
        .out_dir(temp_dir("broken-out"))
        .quiet()
        .generate()
        .unwrap_err();
    let text = err.to_string();
    let shown = specs.to_string_lossy().replace('\\', "/");
    // The label is on the plain-http URL itself.
    assert!(text.contains(&format!("{shown}/one.yaml:3:9")), "{text}");
    assert!(text.contains("the spec has no flows"), "{text}");
    assert!(
        text.contains(&format!("{shown}/two.yaml:2:1"))
            && text.contains("did you mean `environments`?"),
        "{text}"
    );
}

#[test]
fn a_broken_specs_problems_are_data_a_build_script_can_read() {
    let specs = temp_dir("broken-data");
    std::fs::write(
        specs.join("one.yaml"),
        "title: One\nenvironments:\n  prod: http://x\nflows: {}\n",
    )
    .expect("write");
    let err = tokenspec_codegen::Builder::new()
        .specs_dir(&specs)
        .out_dir(temp_dir("broken-data-out"))
        .quiet()
        .generate()
        .unwrap_err();
    let tokenspec_codegen::Error::Specs { problems, rendered } = &err else {
        panic!("not a spec error: {err}");
    };
    let shown = specs.to_string_lossy().replace('\\', "/");
    let http = problems
        .iter()
        .find(|p| p.path == "environments.prod")
        .unwrap_or_else(|| panic!("no problem at the URL: {problems:#?}"));
    assert_eq!(http.severity, tokenspec_codegen::Severity::Error);
    assert_eq!(http.file, format!("{shown}/one.yaml"));
    assert_eq!((http.line, http.column), (Some(3), Some(9)));
    assert!(
        problems.iter().any(|p| p.message.contains("no flows")),
        "{problems:#?}"
    );
    assert!(rendered.contains("one.yaml:3:9"), "{rendered}");
}

#[test]
fn check_source_says_whether_a_spec_is_valid_and_lists_its_problems() {
    let bs2 =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/bs2.yaml"))
            .expect("bs2 spec");
    let good = tokenspec_codegen::check_source("specs/bs2.yaml", &bs2);
    assert!(good.is_valid(), "{}", good.render());
    assert!(
        good.problems()
            .iter()
            .all(|p| p.severity != tokenspec_codegen::Severity::Error)
    );
    let bad = tokenspec_codegen::check_source("specs/bad.yaml", "title: Bad\nenvironment: {}\n");
    assert!(!bad.is_valid());
    let problems = bad.problems();
    assert!(
        problems.iter().any(|p| p.line == Some(2)
            && p.help
                .as_deref()
                .is_some_and(|h| h.contains("environments"))),
        "{problems:#?}"
    );
    assert!(
        bad.render().contains("specs/bad.yaml:2:1"),
        "{}",
        bad.render()
    );
}

#[test]
fn two_specs_naming_the_same_module_are_refused() {
    let specs = temp_dir("dup");
    let bs2 =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/bs2.yaml"))
            .expect("bs2 spec");
    std::fs::write(specs.join("a.yaml"), format!("name: same\n{bs2}")).expect("write");
    std::fs::write(specs.join("b.yaml"), format!("name: same\n{bs2}")).expect("write");
    let err = tokenspec_codegen::Builder::new()
        .specs_dir(&specs)
        .out_dir(temp_dir("dup-out"))
        .quiet()
        .generate()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("would both generate module `same`"),
        "{err}"
    );
}

#[test]
fn non_utf8_and_oversized_files_get_a_clear_error() {
    let dir = temp_dir("bytes");
    let latin1 = dir.join("latin1.yaml");
    std::fs::write(&latin1, b"title: Ac\xe7\xe3o\n").expect("write");
    let checked = tokenspec_codegen::check_file(&latin1, "specs/latin1.yaml").expect("readable");
    let text = tokenspec_codegen::diagnostics::render(&[checked.diagnostics]);
    assert!(
        text.contains("not UTF-8") && text.contains("save the spec as UTF-8"),
        "{text}"
    );

    let big = format!(
        "title: Big\ndescription: |\n{}",
        "  lorem ipsum\n".repeat(30_000)
    );
    let checked = tokenspec_codegen::check_source("specs/big.yaml", &big);
    let text = tokenspec_codegen::diagnostics::render(&[checked.diagnostics]);
    assert!(text.contains("specs are limited to 262144"), "{text}");
}
