#[path = "synthetic_specs.rs"]
mod synthetic;
fn main() {
    let specs: Vec<String> = (0..200).map(synthetic::synthetic_spec).collect();
    let mut t_check = 0.0;
    let mut t_tokens = 0.0;
    let mut t_parse = 0.0;
    let mut t_fmt = 0.0;
    for (i, s) in specs.iter().enumerate() {
        let a = std::time::Instant::now();
        let p = tokenspec_codegen::check_source(&format!("specs/s{i}.yaml"), s)
            .provider
            .unwrap();
        let b = std::time::Instant::now();
        let src = tokenspec_codegen::emit::provider_source(&p);
        let c = std::time::Instant::now();
        let file = syn::parse_file(&src).unwrap();
        let d = std::time::Instant::now();
        let _ = prettyplease::unparse(&file);
        let e = std::time::Instant::now();
        t_check += (b - a).as_secs_f64();
        t_tokens += (c - b).as_secs_f64();
        t_parse += (d - c).as_secs_f64();
        t_fmt += (e - d).as_secs_f64();
    }
    println!(
        "per spec: check {:.3} ms, emit(total) {:.3} ms, [reparse {:.3} ms, unparse {:.3} ms]",
        t_check * 5.0,
        t_tokens * 5.0,
        t_parse * 5.0,
        t_fmt * 5.0
    );
}
