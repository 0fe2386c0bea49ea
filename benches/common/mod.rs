//! What the kernel benchmarks share: building a program from source, the root check, the
//! round count, medians.
//!
//! Takes: program text; the environment (`IOV_BENCH_ROUNDS`).
//! Gives: the object, whether to run (root), how many interleaved rounds, a median.

/// Builds `text` for production (no test build), to run alone.
pub fn build(text: &str) -> Vec<u8> {
    build_with(text, &iov_codegen::Options::default())
}

/// Builds `text` with `opts` (a chain stage, for instance).
#[allow(dead_code)] // not every benchmark builds stages
pub fn build_with(text: &str, opts: &iov_codegen::Options) -> Vec<u8> {
    let checked = iov_sema::check("bench.iov", text, &mut iov::loader::FsLoader::new(vec![]));
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    iov_codegen::build(&checked, "bench", opts)
        .unwrap_or_else(|_| panic!("the bench program builds"))
        .object
}

/// Whether this process may load programs; says why not when it may not.
pub fn may_run(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: the {what} benchmark loads programs; run it as root");
        return false;
    }
    true
}

/// Interleaved rounds: `IOV_BENCH_ROUNDS`, default 15.
pub fn rounds() -> usize {
    std::env::var("IOV_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15)
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}
