//! The kernel verifier in the loop: accepted programs report their instruction count, and
//! a rejected program is reported as E0701 on the `.iov` line the bad instruction came from.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

use iov_diagnostics::Code;
use std::path::Path;
use std::process::Command;

fn privileged() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id runs");
    if String::from_utf8_lossy(&out.stdout).trim() == "0" {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "verifier tests need root, and CI must run them"
    );
    eprintln!("skipping: loading BPF programs needs root (or CAP_BPF); run `sudo -E cargo test`");
    false
}

fn check(rel: &str) -> iov_sema::Checked {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(rel)).unwrap();
    std::env::set_current_dir(root).unwrap();
    iov_sema::check(rel, &text, &mut iov::loader::FsLoader::new(vec![]))
}

#[test]
fn a_rejected_program_is_reported_on_its_iov_line() {
    if !privileged() {
        return;
    }
    let checked = check("examples/router.iov");
    // Leave out the bounds checks: every header read is then unproven, and the first one is
    // the parser's `select` on `hdr.eth.ether_type`.
    let opts = iov_codegen::Options {
        hook: None,
        omit_bounds_checks: true,
        ..Default::default()
    };
    let out =
        iov_codegen::build(&checked, "router", &opts).unwrap_or_else(|_| panic!("router compiles"));
    let err = iov_runtime::Module::load(&out.object)
        .err()
        .expect("the verifier rejects it");
    let iov_runtime::Error::Verifier { log, .. } = err else {
        panic!("expected a verifier error, got {err}")
    };
    let entry = checked.program.entry.as_ref().unwrap().span;
    let d = iov::verifier::diagnose(&log, &checked.files, entry);
    assert_eq!(d.code, Code::E0701);
    assert!(
        d.message
            .starts_with("the kernel verifier rejected the program: invalid access to packet"),
        "{}",
        d.message
    );
    let file = checked.files.get(d.primary.span.file);
    assert_eq!(file.name, "examples/router.iov");
    let line = file.line_col(d.primary.span.start as usize).line + 1;
    assert_eq!(line, 11, "{log}");
    assert_eq!(
        &file.text[d.primary.span.range()],
        "transition select(hdr.eth.ether_type) {"
    );
}

#[test]
fn build_verify_reports_the_instruction_count() {
    if !privileged() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let obj = std::env::temp_dir().join(format!("iov-verify-{}.o", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .args(["build", "--verify", "examples/router.iov", "-o"])
        .arg(&obj)
        .current_dir(root)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("the kernel verifier accepted it ("), "{err}");
    let _ = std::fs::remove_file(obj);
}

#[test]
fn libbpf_loads_the_object_too() {
    if !privileged() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("iov-libbpf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The router, and vlan_filter, whose tuple-space search is a `bpf_loop` with a
    // callback in `.text` (a subprogram and a function reference for libbpf to relocate).
    for example in ["router", "vlan_filter"] {
        let obj = dir.join(format!("{example}.o"));
        let built = Command::new(env!("CARGO_BIN_EXE_iov"))
            .args(["build", &format!("examples/{example}.iov"), "-o"])
            .arg(&obj)
            .current_dir(root)
            .status()
            .unwrap();
        assert!(built.success());
        let pin = format!("/sys/fs/bpf/iov-test-{}", std::process::id());
        let out = Command::new("bpftool")
            .args(["prog", "loadall"])
            .arg(&obj)
            .arg(&pin)
            .output()
            .expect("bpftool is installed");
        let _ = Command::new("rm").args(["-rf", &pin]).status();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "bpftool could not load {example}: {stderr}"
        );
        assert!(
            !stderr.contains("Retrying without BTF"),
            "libbpf dropped the BTF of {example}: {stderr}"
        );
        assert!(!stderr.contains("Error"), "{example}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// 900 `if`s, each rewriting the Ethernet header: about 43,000 BPF instructions, more than a
/// BPF v3 conditional jump can span.
fn long_program() -> String {
    let body: String = (0..900)
        .map(|i| {
            format!(
                "        if (hdr.eth.ether_type > {i}) {{ hdr.eth.src = hdr.eth.dst + {i}; \
                 hdr.eth.dst = hdr.eth.src ^ {}; hdr.eth.ether_type = hdr.eth.ether_type + {}; }}\n",
                i * 7,
                i % 5
            )
        })
        .collect();
    format!(
        "import std.net.{{ethernet_t}};\nstruct headers_t {{ ethernet_t eth; }}\n\
         parser P(packet_in pkt, out headers_t hdr) {{ state start {{ pkt.extract(hdr.eth); transition accept; }} }}\n\
         control C(inout headers_t hdr, inout std_meta_t meta) {{\n    apply {{\n{body}    }}\n}}\n\
         deparser D(packet_out pkt, inout headers_t hdr) {{ apply {{ pkt.emit(hdr.eth); }} }}\n\
         xdp(P(), C(), D()) main;\n"
    )
}

#[test]
fn a_program_longer_than_a_jump_can_span_builds_with_long_jumps_and_loads() {
    if !privileged() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("iov-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("long.iov");
    std::fs::write(&src, long_program()).unwrap();
    // LLVM used to abort the whole process here ("Branch target out of insn range").
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .arg("build")
        .arg("--verify")
        .arg(&src)
        .args(["--emit", "obj,asm", "-o"])
        .arg(dir.join("long.o"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("the kernel verifier accepted it"), "{err}");
    let asm = std::fs::read_to_string(dir.join("long.s")).unwrap();
    assert!(
        asm.contains("gotol"),
        "long jumps (BPF v4) where a jump is too long"
    );
    // A small program stays BPF v3, which every kernel loads: no v4 long jumps.
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "examples/router.iov", "--emit", "asm", "-o"])
        .arg(dir.join("router.o"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let asm = std::fs::read_to_string(dir.join("router.s")).unwrap();
    assert!(!asm.contains("gotol"), "the router is v3");
    let _ = std::fs::remove_dir_all(&dir);
}
