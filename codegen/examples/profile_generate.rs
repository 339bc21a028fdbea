//! Times the generator's stages on synthetic specs (for investigating the benchmark figures).
#[path = "synthetic_specs.rs"]
mod synthetic;

fn main() {
    let dir = std::env::temp_dir().join("tokenspec-profile");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let files: Vec<_> = (0..200)
        .map(|i| {
            let p = dir.join(format!("s{i:03}.yaml"));
            std::fs::write(&p, synthetic::synthetic_spec(i)).expect("write");
            p
        })
        .collect();
    let start = std::time::Instant::now();
    let out = tokenspec_codegen::generate_files(&files, "specs").expect("valid");
    let wall = start.elapsed();
    let providers: Vec<_> = files
        .iter()
        .filter_map(|f| tokenspec_codegen::check_file(f, "spec").ok()?.provider)
        .collect();
    assert_eq!(providers.len(), out.modules.len());
    let start = std::time::Instant::now();
    for m in &providers {
        std::hint::black_box(tokenspec_codegen::emit::provider_source(m));
    }
    let emit_seq = start.elapsed();
    println!(
        "generate_files: {:.3} ms per spec wall; sequential emit alone: {:.3} ms per spec",
        wall.as_secs_f64() * 1000.0 / 200.0,
        emit_seq.as_secs_f64() * 1000.0 / 200.0
    );
}
