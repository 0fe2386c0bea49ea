//! The kernel side of the C programs in `benches/vs_c.rs`, and what both sides share: the raw
//! bpf() calls (test runs, map reads and writes on file descriptors), an object built by
//! clang and loaded through aya, and what the kernel says about a loaded program.
//!
//! Takes: a C source in `benches/c/`, file descriptors of programs and maps, frames.
//! Gives: [`compile`] (clang-19 run as a process, timed), [`CProgram`] (the loaded object:
//! program fd, map fds, prog info), [`test_run`] (retval, average ns, output frame), raw
//! map [`update`] and [`lookup`], [`Shape`] (xlated and verified counts of a program).

use aya::maps::{Map, MapData};
use aya::programs::{Program, SchedClassifier, Xdp};
use aya::Ebpf;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The clang this benchmark builds the C programs with.
pub const CLANG: &str = "clang-19";

/// Whether clang-19 runs here; says how to get it when not.
pub fn clang_available() -> bool {
    match Command::new(CLANG).arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            eprintln!(
                "skipping: the vs_c benchmark builds its C programs with {CLANG}, which is not \
                 installed; install it with `apt-get install -y clang-19` (scripts/install-deps \
                 does)"
            );
            false
        }
    }
}

/// Where the C sources live.
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c")
}

/// Compiles `benches/c/NAME.c` to `out` with `clang-19 -O2 -g -target bpf`; the wall time
/// of the process.
pub fn compile(name: &str, out: &Path) -> Duration {
    let src = c_dir().join(format!("{name}.c"));
    let start = Instant::now();
    let o = Command::new(CLANG)
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(out)
        .output()
        .expect("clang-19 runs");
    let took = start.elapsed();
    assert!(
        o.status.success(),
        "{CLANG} {}: {}",
        src.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    took
}

/// A C object loaded into the kernel: its maps and one program.
pub struct CProgram {
    ebpf: Ebpf,
    name: String,
}

impl CProgram {
    /// Loads `object` and its program `function` as XDP, or as a tc classifier with `tc`.
    pub fn load(object: &Path, function: &str, tc: bool) -> CProgram {
        let bytes = std::fs::read(object).expect("the C object");
        let mut ebpf = Ebpf::load(&bytes).expect("aya loads the C object");
        let program = ebpf.program_mut(function).expect("the C program");
        let loaded = if tc {
            let p: &mut SchedClassifier = program.try_into().expect("a tc program");
            p.load()
        } else {
            let p: &mut Xdp = program.try_into().expect("an XDP program");
            p.load()
        };
        loaded.unwrap_or_else(|e| panic!("{function} loads: {e:?}"));
        CProgram {
            ebpf,
            name: function.to_string(),
        }
    }

    fn program(&self) -> &Program {
        self.ebpf.program(&self.name).expect("the program")
    }

    /// The program's file descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.program().fd().expect("a loaded program").as_fd()
    }

    /// What the kernel says of the program.
    pub fn shape(&self) -> Shape {
        Shape::of(self.program())
    }

    /// The file descriptor of map `name`.
    pub fn map(&self, name: &str) -> BorrowedFd<'_> {
        let data: &MapData = match self.ebpf.map(name) {
            Some(
                Map::HashMap(d)
                | Map::LpmTrie(d)
                | Map::Array(d)
                | Map::PerCpuArray(d)
                | Map::LruHashMap(d),
            ) => d,
            _ => panic!("the C object has no map `{name}` of the kinds used here"),
        };
        data.fd().as_fd()
    }
}

/// What the kernel says about a loaded program.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub id: u32,
    /// Length of the translated (xlated) program in bytes; 8 bytes an instruction.
    pub xlated_bytes: u32,
    /// Length of the JIT-compiled machine code in bytes.
    pub jited_bytes: u32,
    /// Instructions the verifier processed (`verified_insns`).
    pub verified: u32,
}

impl Shape {
    /// The prog info of `program` (aya's `ProgramInfo`, from `bpf_obj_get_info_by_fd`).
    pub fn of(program: &Program) -> Shape {
        let info = program.info().expect("prog info");
        Shape {
            id: info.id(),
            xlated_bytes: info.size_translated().unwrap_or(0),
            jited_bytes: info.size_jitted(),
            verified: info.verified_instruction_count().unwrap_or(0),
        }
    }
}

/// `union bpf_attr` for `BPF_PROG_TEST_RUN` (its `test` member) and the map commands, as
/// words: 80 bytes covers both.
#[repr(C, align(8))]
#[derive(Default)]
struct Attr([u32; 20]);

impl Attr {
    fn set64(&mut self, word: usize, v: u64) {
        self.0[word] = v as u32;
        self.0[word + 1] = (v >> 32) as u32;
    }
}

fn bpf(cmd: libc::c_long, attr: &mut Attr) -> std::io::Result<()> {
    // SAFETY: `attr` is a valid, writable bpf_attr of the size passed, and every pointer in
    // it points into a live buffer of the length given beside it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// What `repeat` test runs of a program did.
pub struct Run {
    /// The return value of the last run.
    pub retval: u32,
    /// Average nanoseconds per run, as the kernel measured it.
    pub avg_ns: u32,
    /// The frame the last run left.
    pub data: Vec<u8>,
}

/// `BPF_PROG_TEST_RUN` of `prog` on `frame`, `repeat` times.
pub fn test_run(prog: BorrowedFd<'_>, frame: &[u8], repeat: u32) -> Run {
    let mut out = vec![0u8; frame.len() + 256];
    let mut a = Attr::default();
    a.0[0] = prog.as_raw_fd() as u32;
    a.0[2] = frame.len() as u32;
    a.0[3] = out.len() as u32;
    a.set64(4, frame.as_ptr() as u64);
    a.set64(6, out.as_mut_ptr() as u64);
    a.0[8] = repeat;
    bpf(10, &mut a).expect("BPF_PROG_TEST_RUN");
    out.truncate(a.0[3] as usize);
    Run {
        retval: a.0[1],
        avg_ns: a.0[9],
        data: out,
    }
}

/// `BPF_MAP_UPDATE_ELEM` (any) of `key` to `value` in map `map`.
pub fn update(map: BorrowedFd<'_>, key: &[u8], value: &[u8]) {
    let mut a = Attr::default();
    a.0[0] = map.as_raw_fd() as u32;
    a.set64(2, key.as_ptr() as u64);
    a.set64(4, value.as_ptr() as u64);
    bpf(2, &mut a).expect("BPF_MAP_UPDATE_ELEM");
}

/// `BPF_MAP_LOOKUP_ELEM` of `key` in map `map`, whose values (all CPUs' for a per-CPU map)
/// take `size` bytes.
pub fn lookup(map: BorrowedFd<'_>, key: &[u8], size: usize) -> Vec<u8> {
    let mut value = vec![0u8; size];
    let mut a = Attr::default();
    a.0[0] = map.as_raw_fd() as u32;
    a.set64(2, key.as_ptr() as u64);
    a.set64(4, value.as_mut_ptr() as u64);
    bpf(1, &mut a).expect("BPF_MAP_LOOKUP_ELEM");
    value
}

/// How many CPUs the kernel may run on: values a per-CPU map lookup gives.
pub fn possible_cpus() -> usize {
    aya::util::nr_cpus().expect("the possible CPUs")
}

/// `bpftool prog dump xlated id ID` into `path` (for reading where the time goes).
pub fn dump_xlated(id: u32, path: &Path) {
    let out = Command::new("bpftool")
        .args(["prog", "dump", "xlated", "id", &id.to_string()])
        .output();
    match out {
        Ok(o) if o.status.success() => std::fs::write(path, o.stdout).expect("write the dump"),
        _ => eprintln!("note: `bpftool prog dump xlated id {id}` failed; no dump"),
    }
}
