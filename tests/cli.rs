//! The `iov` command line as a user runs it: exit codes, human and JSON output, `explain`.

use std::process::{Command, Output};

fn iov(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iov"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("iov runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("iov-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn clean_programs_exit_zero_and_print_nothing() {
    let out = iov(&["check", "examples/router.iov", "examples/firewall.iov"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn errors_exit_one_with_code_span_and_summary() {
    let path = temp_file("bad.iov", "const bit<8> X = 300;\n");
    let out = iov(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0202]: value 300 does not fit in `bit<8>`"),
        "{err}"
    );
    assert!(err.contains("bad.iov:1:18"), "{err}");
    assert!(err.ends_with("1 error, 0 warnings\n"), "{err}");
}

#[test]
fn json_output_is_one_object_per_diagnostic() {
    let path = temp_file("json.iov", "const bit<8> X = 300;\nconst bit<4> Y = 16;\n");
    let out = iov(&["check", "--message-format", "json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    let first = &lines[0];
    assert_eq!(first["code"], "E0202");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["message"], "value 300 does not fit in `bit<8>`");
    assert_eq!(first["primary"]["line_start"], 1);
    assert_eq!(first["primary"]["column_start"], 18);
    assert_eq!(first["primary"]["byte_start"], 17);
    assert_eq!(first["primary"]["byte_end"], 20);
    assert_eq!(lines[1]["primary"]["line_start"], 2);
}

#[test]
fn usage_and_input_errors_exit_two() {
    assert_eq!(iov(&["check"]).status.code(), Some(2));
    assert_eq!(iov(&["frobnicate"]).status.code(), Some(2));
    let out = iov(&["check", "does/not/exist.iov"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read does/not/exist.iov"),
        "{}",
        text(&out.stderr)
    );
    let binary = temp_file("binary.iov", "");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let out = iov(&["check", binary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not valid UTF-8"));
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "}}}}",
        "/* never closed",
        "parser P(packet_in pkt) { state start { transition select(",
        "const bit<8> X = ((((((((((((((((((((1))))))))))))))))))));",
        "const bit<128> X = 0xffffffffffffffffffffffffffffffffff;",
        "header h { bit<8> a; } struct s { h x; } control C(inout s hdr) { apply { hdr.x.a = hdr.x.a >> 1 >>; } }",
        "\u{0}\u{1}\u{7f}$@#",
    ];
    let deep = format!("const bit<8> X = {}1{};", "(".repeat(300), ")".repeat(300));
    let long = format!("const bit<32> X = {};", vec!["1"; 20_000].join(" + "));
    let inputs: Vec<&str> = inputs
        .iter()
        .copied()
        .chain([deep.as_str(), long.as_str()])
        .collect();
    for (i, src) in inputs.iter().enumerate() {
        let path = temp_file(&format!("garbage{i}.iov"), src);
        let out = iov(&["check", path.to_str().unwrap()]);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "input {src:?} gave {code:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "input {src:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn explain_prints_the_page_of_a_code() {
    let out = iov(&["explain", "E0201"]);
    assert_eq!(out.status.code(), Some(0));
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/errors/E0201.md"))
            .unwrap();
    assert_eq!(text(&out.stdout), page);
    let lower = iov(&["explain", "e0201"]);
    assert_eq!(text(&lower.stdout), page);
}

#[test]
fn explain_rejects_unknown_codes_with_a_suggestion() {
    let out = iov(&["explain", "E0210x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `E0210`?"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn fmt_rewrites_checks_and_refuses_broken_files() {
    let path = temp_file(
        "fmt.iov",
        "const bit<8> X=1;   // one\nconst bit<8> Y = X+1;\n",
    );
    let check = iov(&["fmt", "--check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    assert!(text(&check.stdout).contains("is not formatted"));
    assert_eq!(iov(&["fmt", path.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "const bit<8> X = 1; // one\nconst bit<8> Y = X + 1;\n"
    );
    assert_eq!(
        iov(&["fmt", "--check", path.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let broken = temp_file("broken.iov", "const bit<8> X = ;\n");
    let out = iov(&["fmt", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("has syntax errors"));
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "const bit<8> X = ;\n"
    );
}

#[test]
fn build_of_a_library_says_there_is_nothing_to_compile() {
    let out = iov(&["build", "stdlib/std/net.iov", "-o", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0600]: this file has no entry, so there is nothing to compile"),
        "{err}"
    );
    assert!(err.contains("stdlib/std/net.iov:1:1"), "{err}");
}

#[test]
fn completions_and_man_pages_cover_every_command() {
    let out = iov(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    for cmd in [
        "load",
        "reload",
        "unload",
        "list",
        "table",
        "counters",
        "registers",
        "stats",
        "metrics",
    ] {
        assert!(script.contains(cmd), "bash completion knows `{cmd}`");
    }
    assert!(script.contains("--netns"), "and the options of `load`");
    let dir = std::env::temp_dir().join(format!("iov-man-{}", std::process::id()));
    let out = iov(&["man", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = std::fs::read_to_string(dir.join("iov-load.1")).unwrap();
    assert!(
        page.starts_with(".ie"),
        "roff: {}",
        &page[..40.min(page.len())]
    );
    assert!(page.contains("netns"), "{page}");
    assert!(dir.join("iov.1").exists() && dir.join("iov-table.1").exists());
    let _ = std::fs::remove_dir_all(&dir);
    let out = iov(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn module_commands_explain_a_missing_module_and_bad_lines() {
    let root = std::env::temp_dir().join(format!("iov-noroot-{}", std::process::id()));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_iov"))
            .args(args)
            .env("IOV_PIN_ROOT", &root)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let out = run(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).starts_with("no modules loaded"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&["list", "--json"]);
    assert_eq!(text(&out.stdout), "{\"modules\":[]}\n");
    for args in [
        &["table", "r1", "list"][..],
        &["counters", "r1"],
        &["registers", "r1"],
        &["unload", "r1"],
        &["reload", "r1", "examples/router.iov"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("no module named `r1` is loaded"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run(&["unload", "../etc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a usable module name"));
}

#[test]
fn an_expect_after_a_packet_the_kernel_refused_fails_instead_of_judging_the_one_before() {
    // TC test runs refuse an IPv4 frame with less than an IPv4 header after Ethernet.
    let untagged = "001122334455aabbccddeeff88b500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    let stf = temp_file(
        "refused.stf",
        &format!("packet 1 {untagged}\nexpect pass {untagged}\npacket 1 001122334455aabbccddeeff08004500\nexpect pass {untagged}\n"),
    );
    let out = iov(&["test", "examples/vlan_filter.iov", stf.to_str().unwrap()]);
    if out.status.code() == Some(2) && text(&out.stderr).contains("permission denied") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root"
        );
        eprintln!("skipping: needs root to load programs");
        return;
    }
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(":4: FAILED: expected a packet passed to the kernel, but none came"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 2 failed"), "{stdout}");
}

#[test]
fn build_timings_name_every_phase_and_llvm_ir_is_written_only_when_asked() {
    let dir = std::env::temp_dir().join(format!("iov-timings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join("router.o");
    let out = iov(&[
        "build",
        "examples/router.iov",
        "--timings",
        "-o",
        obj.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let phases: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split_once(" ms  ").map(|(_, name)| name))
        .collect();
    assert_eq!(
        phases,
        [
            "read the source",
            "parse and check",
            "lower to LLVM IR",
            "check the IR",
            "LLVM passes (O2)",
            "BPF code and object",
            "write",
            "in all (process start-up and exit not included)"
        ],
        "{err}"
    );
    assert!(!dir.join("router.ll").exists());
    let out = iov(&[
        "build",
        "examples/router.iov",
        "--emit",
        "llvm-ir",
        "-o",
        obj.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ir = std::fs::read_to_string(dir.join("router.ll")).unwrap();
    assert!(ir.contains("define") && ir.contains("iov_main"), "{ir}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_program_too_large_to_optimise_is_refused_on_its_entry_instead_of_built_for_minutes() {
    // 20,000 header-field assignments: 500,074 LLVM instructions (460,073 before every bounds
    // check compared an end of its own, when LLVM's passes took five minutes over them).
    // Refused after lowering, with what to do.
    let mut src = String::from(
        "import std.net.ethernet_t;\nstruct hs { ethernet_t eth; }\n\
         parser P(packet_in pkt, out hs hdr) { state start { pkt.extract(hdr.eth); transition accept; } }\n\
         control C(inout hs hdr, inout std_meta_t meta) {\n    apply {\n",
    );
    for i in 0..20_000 {
        src += &format!(
            "        hdr.eth.ether_type = hdr.eth.ether_type + {};\n",
            i % 7 + 1
        );
    }
    src += "    }\n}\ndeparser D(packet_out pkt, inout hs hdr) { apply { pkt.emit(hdr.eth); } }\n\
            xdp(P(), C(), D()) main;\n";
    let file = temp_file("huge.iov", &src);
    let obj = file.with_extension("o");
    let out = iov(&["build", file.to_str().unwrap(), "-o", obj.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "error[E0700]: a program of 500074 LLVM instructions is not supported by code \
             generation yet (at most 250000)"
        ),
        "{err}"
    );
    assert!(
        err.contains("xdp(P(), C(), D()) main;"),
        "on the entry: {err}"
    );
    assert!(!obj.exists(), "no object is written");
    let _ = std::fs::remove_file(file);
}
