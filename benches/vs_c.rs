//! iov against hand-written C: ns per packet of the same logic, path by path, in the kernel
//! (BPF_PROG_TEST_RUN), beside a program that returns at once (the floor); and the size,
//! verifier work and build time of each. See docs/performance.md for what the columns mean.
//!
//! Run as root: `cargo bench --bench vs_c` (`IOV_BENCH_ROUNDS=N`, default 15;
//! `IOV_BENCH_REPEAT=N` runs per figure, default 100000; `IOV_BENCH_ONLY=router,nat` some
//! examples only; `IOV_BENCH_DUMP=DIR` writes `bpftool prog dump xlated` of both programs).
//! Needs clang-19 (scripts/install-deps installs it).
//!
//! Takes: `examples/NAME.iov` (built for production in process, imports resolved from the
//! file's directory as `iov build` does), `benches/c/NAME.c` (built by clang-19 -O2 -g
//! -target bpf as a process) and `benches/c/pass.c` (the floor); the entries, frames and
//! counters of `vs_c/cases.rs`.
//! Gives: two tables on stdout. Per path: the verdict, iov ns, C ns, the median over rounds
//! of the per-round ratio iov/C, floor ns. Per example: translated (xlated) and JIT-compiled
//! sizes, instructions the verifier processed, build times (median of five).
//!
//! How each figure proves its path: before timing, one run of each program per path must
//! give the path's verdict, the same output frame from iov and C (unless dropped), and the
//! path's counters must grow by exactly one (the others not at all). Every timed test run
//! must return the path's verdict and, over the figure, the counters must grow by exactly
//! the number of runs. A test run's repeats run on the frame the previous repeat left (the
//! kernel copies the frame in once per test run), so a path whose rewrite changes the next
//! run's path is split into test runs of at most `chunk` repeats, each from the original
//! frame (the router's hit path: TTL 255, 250 repeats, never down to the TTL drop).

#[path = "vs_c/cases.rs"]
mod cases;
#[allow(dead_code)] // `build` takes program text; this benchmark builds files.
mod common;
#[path = "vs_c/kernel.rs"]
mod kernel;

use cases::{verdict_name, Example, PathCase};
use common::{may_run, median, rounds};
use iov_runtime::Module;
use kernel::{CProgram, Shape};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Builds of each program for the build-time figures.
const BUILDS: usize = 5;

/// Builds `file` for production as `iov build` does; the object.
fn build_file(file: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(file).expect("the example's source");
    let name = file.display().to_string();
    let stem = file.file_stem().expect("a file name").to_string_lossy();
    let checked = iov_sema::check(&name, &text, &mut iov::loader::FsLoader::new(vec![]));
    assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
    iov_codegen::build(&checked, &stem, &iov_codegen::Options::default())
        .unwrap_or_else(|_| panic!("{name} builds"))
        .object
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One program under test, as something that runs a frame `n` times: (retval, avg ns).
type Runner<'a> = Box<dyn Fn(&[u8], u32) -> (u32, u32) + 'a>;

fn iov_runner(m: &Module) -> Runner<'_> {
    Box::new(move |frame, n| {
        let r = m.run_repeat(frame, n).expect("the iov test run");
        (r.retval, r.avg_ns)
    })
}

fn c_runner(p: &CProgram) -> Runner<'_> {
    Box::new(move |frame, n| {
        let r = kernel::test_run(p.fd(), frame, n);
        (r.retval, r.avg_ns)
    })
}

/// Average ns of `repeat` runs of `path`, in test runs of at most `path.chunk` repeats,
/// every one of which must give the path's verdict.
fn measure(run: &Runner<'_>, path: &PathCase, repeat: u32, who: &str) -> f64 {
    let (mut left, mut total) = (repeat, 0f64);
    while left > 0 {
        let n = left.min(path.chunk);
        let (retval, avg) = run(&path.frame, n);
        assert_eq!(
            retval, path.retval,
            "{who} {}: the path's verdict",
            path.name
        );
        total += f64::from(avg) * f64::from(n);
        left -= n;
    }
    total / f64::from(repeat)
}

/// The counts of `ex`'s watches in the iov module and in the C program.
fn counts(ex: &Example, m: &Module, c: &CProgram) -> (Vec<u64>, Vec<u64>) {
    let iov = ex.watches.iter().map(|w| w.read_iov(m)).collect();
    let c = ex.watches.iter().map(|w| w.read_c(c)).collect();
    (iov, c)
}

/// Checks that the watches of `path` grew by `runs` from `before` to `after`, the others
/// not at all.
fn check_growth(
    ex: &Example,
    path: &PathCase,
    before: &[u64],
    after: &[u64],
    runs: u64,
    who: &str,
) {
    for (i, w) in ex.watches.iter().enumerate() {
        let want = if path.grows.contains(&i) { runs } else { 0 };
        let got = after[i] - before[i];
        assert_eq!(
            got,
            want,
            "{who} {} {}: counter {} grew by {got}, not {want}",
            ex.name,
            path.name,
            w.label()
        );
    }
}

/// One example, loaded both ways.
struct Loaded {
    ex: Example,
    iov: Module,
    c: CProgram,
    iov_shape: Shape,
    c_shape: Shape,
    iov_build: f64,
    clang_build: f64,
}

fn load(ex: Example, dir: &Path, dump: Option<&Path>) -> Loaded {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{}.iov", ex.name));
    let mut iov_times = Vec::new();
    let mut object = Vec::new();
    for _ in 0..BUILDS {
        let start = Instant::now();
        object = build_file(&source);
        iov_times.push(ms(start.elapsed()));
    }
    let c_object = dir.join(format!("{}.o", ex.name));
    let clang_times = (0..BUILDS)
        .map(|_| ms(kernel::compile(ex.name, &c_object)))
        .collect();
    let iov = Module::load(&object).unwrap_or_else(|e| panic!("{}: {e}", ex.name));
    (ex.fill_iov)(&iov);
    let c = CProgram::load(&c_object, ex.c_function, ex.tc);
    (ex.fill_c)(&c);
    let program = iov
        .ebpf()
        .and_then(|e| e.program(&iov.manifest().function))
        .expect("the iov program");
    let iov_shape = Shape::of(program);
    let c_shape = c.shape();
    if let Some(d) = dump {
        kernel::dump_xlated(iov_shape.id, &d.join(format!("{}.iov.xlated", ex.name)));
        kernel::dump_xlated(c_shape.id, &d.join(format!("{}.c.xlated", ex.name)));
    }
    Loaded {
        ex,
        iov,
        c,
        iov_shape,
        c_shape,
        iov_build: median(iov_times),
        clang_build: median(clang_times),
    }
}

/// One run of each program per path: the verdict, the same output frame, counters by one.
fn prove_single_runs(l: &Loaded, floor: &CProgram) {
    let ex = &l.ex;
    for path in &ex.paths {
        let before = counts(ex, &l.iov, &l.c);
        let iov = l.iov.run(&path.frame).expect("the iov test run");
        let c = kernel::test_run(l.c.fd(), &path.frame, 1);
        let after = counts(ex, &l.iov, &l.c);
        let what = format!("{} {}", ex.name, path.name);
        assert_eq!(iov.retval, path.retval, "iov {what}: the path's verdict");
        assert_eq!(c.retval, path.retval, "C {what}: the path's verdict");
        let dropped =
            path.retval == cases::XDP_DROP && !ex.tc || path.retval == cases::TC_ACT_SHOT && ex.tc;
        if !dropped {
            assert_eq!(iov.data, c.data, "{what}: iov and C leave the same frame");
        }
        let pick =
            |v: &(Vec<u64>, Vec<u64>), iov: bool| if iov { v.0.clone() } else { v.1.clone() };
        check_growth(
            ex,
            path,
            &pick(&before, true),
            &pick(&after, true),
            1,
            "iov",
        );
        check_growth(
            ex,
            path,
            &pick(&before, false),
            &pick(&after, false),
            1,
            "C",
        );
        let f = kernel::test_run(floor.fd(), &path.frame, 1);
        let pass = if ex.tc {
            cases::TC_ACT_OK
        } else {
            cases::XDP_PASS
        };
        assert_eq!(f.retval, pass, "the floor passes");
    }
}

/// Per path: iov ns, C ns, floor ns and iov/C of every round.
#[derive(Default, Clone)]
struct Samples {
    iov: Vec<f64>,
    c: Vec<f64>,
    floor: Vec<f64>,
    ratio: Vec<f64>,
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

fn main() {
    if !may_run("vs_c") || !kernel::clang_available() {
        return;
    }
    let rounds = rounds();
    let repeat = env_u32("IOV_BENCH_REPEAT", 100_000);
    let only: Option<Vec<String>> = std::env::var("IOV_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|n| n.trim().to_string()).collect());
    let dump = std::env::var_os("IOV_BENCH_DUMP").map(PathBuf::from);
    if let Some(d) = &dump {
        std::fs::create_dir_all(d).expect("the dump directory");
    }
    let dir = std::env::temp_dir().join(format!("iov-vs-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let floor_object = dir.join("pass.o");
    kernel::compile("pass", &floor_object);
    let floor_xdp = CProgram::load(&floor_object, "xdp_pass", false);
    let floor_tc = CProgram::load(&floor_object, "tc_pass", true);

    let loaded: Vec<Loaded> = cases::examples()
        .into_iter()
        .filter(|e| only.as_ref().is_none_or(|o| o.iter().any(|n| n == e.name)))
        .map(|e| load(e, &dir, dump.as_deref()))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    for l in &loaded {
        prove_single_runs(l, if l.ex.tc { &floor_tc } else { &floor_xdp });
    }

    let mut samples: Vec<Vec<Samples>> = loaded
        .iter()
        .map(|l| vec![Samples::default(); l.ex.paths.len()])
        .collect();
    for round in 0..rounds {
        for (l, per_path) in loaded.iter().zip(&mut samples) {
            let ex = &l.ex;
            let floor = if ex.tc { &floor_tc } else { &floor_xdp };
            let (iov, c, f) = (iov_runner(&l.iov), c_runner(&l.c), c_runner(floor));
            for (path, s) in ex.paths.iter().zip(per_path.iter_mut()) {
                let before = counts(ex, &l.iov, &l.c);
                // Alternate which of the two goes first, so neither always follows the floor.
                let (iov_ns, c_ns) = if round % 2 == 0 {
                    let a = measure(&iov, path, repeat, "iov");
                    (a, measure(&c, path, repeat, "C"))
                } else {
                    let b = measure(&c, path, repeat, "C");
                    (measure(&iov, path, repeat, "iov"), b)
                };
                let floor_ns = measure(&f, &floor_path(path, ex.tc), repeat, "floor");
                let after = counts(ex, &l.iov, &l.c);
                let runs = u64::from(repeat);
                check_growth(ex, path, &before.0, &after.0, runs, "iov");
                check_growth(ex, path, &before.1, &after.1, runs, "C");
                s.iov.push(iov_ns);
                s.c.push(c_ns);
                s.floor.push(floor_ns);
                s.ratio.push(iov_ns / c_ns);
            }
        }
    }

    println!(
        "iov vs C (ns per packet, BPF_PROG_TEST_RUN; median of {rounds} interleaved rounds of \
         {repeat} runs; iov/C: median of the per-round ratios)"
    );
    println!(
        "{:<12} {:<22} {:<9} {:>8} {:>8} {:>7} {:>9}",
        "example", "path", "verdict", "iov ns", "C ns", "iov/C", "floor ns"
    );
    for (l, per_path) in loaded.iter().zip(&samples) {
        for (path, s) in l.ex.paths.iter().zip(per_path) {
            println!(
                "{:<12} {:<22} {:<9} {:>8.1} {:>8.1} {:>7.2} {:>9.1}",
                l.ex.name,
                path.name,
                verdict_name(l.ex.tc, path.retval),
                median(s.iov.clone()),
                median(s.c.clone()),
                median(s.ratio.clone()),
                median(s.floor.clone()),
            );
        }
    }
    println!();
    println!(
        "program size and build (xlated: instructions (bytes) after the verifier; verified: \
         instructions the verifier processed; build: median of {BUILDS}, ms)"
    );
    println!(
        "{:<12} {:>16} {:>16} {:>9} {:>9} {:>10} {:>10} {:>9} {:>9}",
        "example",
        "iov xlated",
        "C xlated",
        "iov jit B",
        "C jit B",
        "iov verif",
        "C verif",
        "iov ms",
        "clang ms"
    );
    for l in &loaded {
        let xl = |s: &Shape| format!("{} ({})", s.xlated_bytes / 8, s.xlated_bytes);
        println!(
            "{:<12} {:>16} {:>16} {:>9} {:>9} {:>10} {:>10} {:>9.1} {:>9.1}",
            l.ex.name,
            xl(&l.iov_shape),
            xl(&l.c_shape),
            l.iov_shape.jited_bytes,
            l.c_shape.jited_bytes,
            l.iov_shape.verified,
            l.c_shape.verified,
            l.iov_build,
            l.clang_build
        );
    }
}

/// The floor runs the path's frame whole (it never rewrites it) and always passes.
fn floor_path(path: &PathCase, tc: bool) -> PathCase {
    PathCase {
        name: "floor",
        frame: path.frame.clone(),
        retval: if tc {
            cases::TC_ACT_OK
        } else {
            cases::XDP_PASS
        },
        grows: &[],
        chunk: u32::MAX,
    }
}
