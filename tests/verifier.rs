//! The kernel verifier in the loop: accepted programs report their instruction count, and
//! a rejected program is reported as E0701 on the `.iov` line the bad instruction came from;
//! what the verifier spends on table searches grows with key words and fields, not
//! 2^fields, so tables that check clean pass it.
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

/// A program of `tables` tables applied in a row, each keyed on `fields` fields of
/// `bit<width>` of one header with match kind `kind`, `size` entries (and `masks` masks
/// where the table is searched by masks).
fn tables_program(
    tables: u32,
    kind: &str,
    fields: u32,
    width: u32,
    size: u32,
    masks: u32,
) -> String {
    let decls: String = (0..fields)
        .map(|i| format!("    bit<{width}> f{i};\n"))
        .collect();
    let keys: String = (0..fields)
        .map(|i| format!("hdr.h.f{i}: {kind}; "))
        .collect();
    let masks = if kind == "ternary" {
        format!("masks = {masks};")
    } else {
        String::new()
    };
    let mut tabs = String::new();
    let mut applies = String::new();
    for t in 0..tables {
        tabs += &format!(
            "    table t{t} {{\n        key = {{ {keys}}}\n        actions = {{ hit; NoAction; }}\n        \
             default_action = NoAction();\n        size = {size};\n        {masks}\n    }}\n"
        );
        applies += &format!(" t{t}.apply();");
    }
    format!(
        "import std.net.ethernet_t;\nheader h_t {{\n{decls}}}\nstruct hs {{ ethernet_t eth; h_t h; }}\n\
         parser P(packet_in pkt, out hs hdr) {{\n    state start {{ pkt.extract(hdr.eth); pkt.extract(hdr.h); transition accept; }}\n}}\n\
         control C(inout hs hdr, inout std_meta_t meta) {{\n    counter(4, CounterType.packets) c;\n    \
         action hit(bit<32> i) {{ c.count(i); }}\n{tabs}    apply {{{applies} }}\n}}\nxdp(P(), C()) main;\n"
    )
}

/// The verifier's processed instructions for `text`, or the build's whole output.
fn steps(text: &str) -> Result<u64, String> {
    let dir = std::env::temp_dir().join(format!("iov-vcost-{}-{}", std::process::id(), text.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("p.iov");
    std::fs::write(&src, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .arg("build")
        .arg("--verify")
        .arg(&src)
        .arg("-o")
        .arg(dir.join("p.o"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let n = err
        .split("the kernel verifier accepted it (")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok());
    match (out.status.success(), n) {
        (true, Some(n)) => Ok(n),
        _ => Err(err),
    }
}

#[test]
fn wide_ternary_keys_cost_the_verifier_in_proportion_to_their_words() {
    if !privileged() {
        return;
    }
    // 1, 3, 5 and 9 words of masked key (the mask's slot index, then the fields).
    let one = steps(&tables_program(1, "ternary", 1, 32, 1024, 64)).unwrap();
    let three = steps(&tables_program(1, "ternary", 4, 32, 1024, 64)).unwrap();
    let nine = steps(&tables_program(1, "ternary", 16, 32, 1024, 64)).unwrap();
    let wide = steps(&tables_program(1, "ternary", 4, 128, 1024, 64)).unwrap();
    // Each word's comparison used to be a branch of its own: 16 fields of bit<32> with 64
    // masks ran out of the verifier's 1,000,000 steps, as did 4 of bit<128>.
    assert!(
        nine < 3 * one && nine < 150_000,
        "1 word {one}, 3 words {three}, 9 words {nine}"
    );
    assert!(wide < 2 * three, "3 words {three}, 4 x bit<128> {wide}");
}

#[test]
fn range_tables_of_many_fields_cost_the_verifier_in_proportion_to_their_fields() {
    if !privileged() {
        return;
    }
    let one = steps(&tables_program(1, "range", 1, 32, 64, 0)).unwrap();
    let sixteen = steps(&tables_program(1, "range", 16, 32, 64, 0)).unwrap();
    let wide = steps(&tables_program(1, "range", 4, 64, 64, 0)).unwrap();
    assert!(sixteen < 16 * one, "1 field {one}, 16 fields {sixteen}");
    assert!(wide < 8 * one, "1 field {one}, 4 x bit<64> {wide}");
    // Fields of 64 bits and more used to branch twice each: 12 of bit<64> over 512 slots and
    // 2 of bit<128> over 1,024 ran past the verifier's 8,192-jump history.
    for (fields, width) in [(12, 64), (2, 128)] {
        let r = steps(&tables_program(1, "range", fields, width, 1024, 0));
        assert!(r.is_ok(), "{fields} x bit<{width}>: {}", r.unwrap_err());
    }
}

/// The fixture's program with `n` values kept across the apply of a table searched by masks.
fn kept_across_a_search(n: usize) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = "tests/fixtures/e0702_stack_with_a_search_by_masks.iov";
    let text = std::fs::read_to_string(root.join(fixture)).unwrap();
    let kept: String = (0..n)
        .map(|i| format!("        bit<64> s{i} = hdr.ipv6.src[63:0] ^ {i};\n"))
        .collect();
    let written: String = (0..n)
        .map(|i| format!("        seen.write({i}, s{i});\n"))
        .collect();
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("bit<64> s") || line.trim_start().starts_with("seen.write")
        {
            continue;
        }
        if line.contains("acl.apply();") {
            out.push_str(&kept);
            out.push_str("        acl.apply();\n");
            out.push_str(&written);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn e0702_refuses_what_the_kernel_refuses_for_stack_and_builds_what_it_loads() {
    if !privileged() {
        return;
    }
    let (mut loaded, mut refused_by_both) = (0, 0);
    for n in 38..=50 {
        let text = kept_across_a_search(n);
        let checked = iov_sema::check("kept.iov", &text, &mut iov::loader::FsLoader::new(vec![]));
        assert!(
            !checked.has_errors(),
            "{n} values: {:?}",
            checked.diagnostics
        );
        match iov_codegen::build(&checked, "kept", &Default::default()) {
            Ok(out) => {
                let m = iov_runtime::Module::load(&out.object);
                assert!(
                    m.is_ok(),
                    "{n} values: iov built it and the kernel refused it: {:?}",
                    m.err()
                );
                loaded += 1;
            }
            Err(d) => {
                assert_eq!(d[0].code, Code::E0702, "{n} values: {}", d[0].message);
                let opts = iov_codegen::Options {
                    skip_stack_budget: true,
                    ..Default::default()
                };
                // LLVM itself cannot fit a program over 512 bytes: nothing to load.
                let Ok(out) = iov_codegen::build(&checked, "kept", &opts) else {
                    continue;
                };
                match iov_runtime::Module::load(&out.object) {
                    Err(iov_runtime::Error::Verifier { log, .. }) => {
                        assert!(log.contains("combined stack size"), "{n} values: {log}");
                        refused_by_both += 1;
                    }
                    Err(e) => panic!("{n} values: {e}"),
                    // A JIT-compiled program's frames count in steps of 16 (Linux 6.18), E0702's
                    // in 32: only a program within that margin may load anyway.
                    Ok(_) => {
                        let frames = iov_codegen::frames::frames(&out.object).unwrap();
                        let sixteen: u32 =
                            frames.iter().map(|f| f.depth.next_multiple_of(16)).sum();
                        assert!(
                            sixteen <= 512,
                            "{n} values: refused, and loaded at {sixteen} bytes"
                        );
                    }
                }
            }
        }
    }
    assert!(
        loaded > 0 && refused_by_both > 0,
        "{loaded} loaded, {refused_by_both} refused by both"
    );
}

/// `n` exact tables applied in a row, each counting its hits.
fn tables_in_a_row(n: usize) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = "tests/fixtures/e0700_more_maps_than_the_kernel_allows.iov";
    let text = std::fs::read_to_string(root.join(fixture)).unwrap();
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            let number = |p: &str| {
                t.strip_prefix(p)
                    .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|d| d.parse::<usize>().ok())
            };
            number("table t").or(number("t")).is_none_or(|i| i < n)
        })
        .map(|l| l.replace(" //~ E0700", "") + "\n")
        .collect()
}

#[test]
fn thirty_one_tables_in_a_row_load_and_the_maps_past_64_are_refused() {
    if !privileged() {
        return;
    }
    // Each lookup of a constant key and each counter index used to take 8 bytes of stack of
    // its own: 32 tables in a row ran out of the 512 bytes (E0702) before the 64 maps.
    let r = steps(&tables_in_a_row(31));
    assert!(r.is_ok(), "31 tables: {}", r.unwrap_err());
    // A key buffer per apply: 16 tables keyed on an IPv6 flow ran out of the stack.
    let flow = tables_in_a_row(20)
        .replace(
            "import std.net.ethernet_t;",
            "import std.net.{ethernet_t, ipv6_t};",
        )
        .replace(
            "struct headers_t { ethernet_t eth; }",
            "struct headers_t { ethernet_t eth; ipv6_t ip; }",
        )
        .replace(
            "pkt.extract(hdr.eth);",
            "pkt.extract(hdr.eth); pkt.extract(hdr.ip);",
        )
        .replace(
            "key = { hdr.eth.dst: exact; }",
            "key = { hdr.ip.src: exact; hdr.ip.dst: exact; hdr.ip.next_hdr: exact; }",
        );
    let r = steps(&flow);
    assert!(r.is_ok(), "20 flow tables: {}", r.unwrap_err());
    let err = steps(&tables_in_a_row(32)).unwrap_err();
    assert!(
        err.contains("error[E0700]: a program of 65 maps is not supported (the kernel allows 64 to one program)"),
        "{err}"
    );
}
