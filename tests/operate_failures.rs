//! The module commands refusing what they cannot do: missing interfaces and namespaces, bad
//! names, names and hooks already taken, objects for another hook, bad control-plane requests
//! and batches, and no privileges. Each failure says what to do, exits 1 (refused) or 2
//! (environment, usage), and leaves nothing behind: the tests look at the pins and `ip link`
//! after each one. Needs root; skips with a message otherwise, and fails under CI=true.

mod net;

use net::{privileged, Net};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn failed_commands_leave_nothing_behind_and_say_what_to_do() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let ns = net.a.as_str();
    // Interface and namespace missing: environment errors, exit 2, nothing pinned.
    let err = net.fails(
        2,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "nosuch0",
            "--netns",
            ns,
        ],
    );
    assert!(
        err.contains("no network interface named `nosuch0`"),
        "{err}"
    );
    assert!(err.contains(&format!("ip -n {ns} link")), "{err}");
    let err = net.fails(
        2,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "va",
            "--netns",
            "nosuchns",
        ],
    );
    assert!(err.contains("no network namespace `nosuchns`"), "{err}");
    assert!(err.contains("ip netns list"), "{err}");
    assert_eq!(net.pins(), Vec::<String>::new());
    let err = net.fails(
        2,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "va",
            "--netns",
            ns,
            "--name",
            "a/b",
        ],
    );
    assert!(err.contains("is not a usable module name"), "{err}");
    let err = net.fails(
        2,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "va",
            "--netns",
            ns,
            "--hook",
            "tc-ingress",
            "--mode",
            "bogus",
        ],
    );
    assert!(err.contains("bogus"), "{err}");

    net.ok(&[
        "load",
        "examples/router.iov",
        "--dev",
        "va",
        "--netns",
        ns,
        "--name",
        "r1",
    ]);
    let before = net.xdp_progs(ns, "va");
    // The name is taken; the hook is taken by r1: refused, exit 1, r1 untouched.
    let err = net.fails(
        1,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "vc",
            "--netns",
            ns,
            "--name",
            "r1",
        ],
    );
    assert!(
        err.contains("a module named `r1` is loaded already"),
        "{err}"
    );
    let err = net.fails(
        1,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "va",
            "--netns",
            ns,
            "--name",
            "r2",
        ],
    );
    assert!(
        err.contains("module `r1` is attached to `va` at xdp already"),
        "{err}"
    );
    assert_eq!(net.pins(), vec!["r1".to_string()]);
    assert_eq!(net.xdp_progs(ns, "va"), before);
    // An object built for XDP cannot be put on a TC hook.
    let obj = std::env::temp_dir().join(format!("iov-op-{}.o", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_iov"))
        .args(["build", "examples/router.iov", "-o"])
        .arg(&obj)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let obj_arg = obj.to_str().unwrap();
    let err = net.fails(
        1,
        &[
            "load",
            obj_arg,
            "--dev",
            "vc",
            "--netns",
            ns,
            "--hook",
            "tc-ingress",
            "--name",
            "r3",
        ],
    );
    assert!(
        err.contains("built for hook xdp and cannot run at tc-ingress"),
        "{err}"
    );
    let _ = std::fs::remove_file(&obj);
    assert_eq!(net.pins(), vec!["r1".to_string()]);

    // Bad control-plane requests change nothing (exit 1); a bad line is a usage error (2).
    net.ok(&[
        "table",
        "r1",
        "add",
        "routes",
        "dst:10.0.0.0/8",
        "forward(dst_mac:1, src_mac:2, port:3)",
    ]);
    let cases: &[(&str, &str)] = &[
        ("add nosuch dst:1 drop_packet()", "no table `nosuch`"),
        ("add routes dst:10.0.0.0/8 fwd()", "has no action `fwd`"),
        (
            "add routes dst:10.0.0.0/8 forward(dst_mac:1, src_mac:2, port:3)",
            "already has an entry",
        ),
        (
            "add routes dst:10.0.0.1/8 forward(dst_mac:1, src_mac:2, port:3)",
            "has bits set after the first 8",
        ),
        (
            "add routes dst:10.0.0.0/40 forward(dst_mac:1, src_mac:2, port:3)",
            "longer than the field's 32 bits",
        ),
        (
            "add routes dst:11.0.0.0/8 forward(dst_mac:1, src_mac:2, port:4294967296)",
            "does not fit in 32 bits",
        ),
        (
            "add routes ttl:1 forward(dst_mac:1, src_mac:2, port:3)",
            "has no key `ttl`",
        ),
        (
            "add routes dst:11.0.0.0/8 forward(dst_mac:1, port:3)",
            "no value for parameter `src_mac`",
        ),
        ("del routes dst:12.0.0.0/8", "has no entry with these keys"),
    ];
    for (line, message) in cases {
        let words: Vec<&str> = std::iter::once("table")
            .chain(std::iter::once("r1"))
            .chain(line.split(' '))
            .collect();
        let err = net.fails(1, &words);
        assert!(err.contains(message), "{line}: {err}");
    }
    let err = net.fails(
        2,
        &[
            "table",
            "r1",
            "add",
            "routes",
            "dst:300.0.0.0/8",
            "drop_packet()",
        ],
    );
    assert!(err.contains("is not a value"), "{err}");
    let err = net.fails(2, &["table", "nosuch", "list"]);
    assert!(err.contains("no module named `nosuch`"), "{err}");
    // A batch with one bad line writes nothing, and neither does one the kernel refuses.
    let batch = std::env::temp_dir().join(format!("iov-op-{}.txt", std::process::id()));
    std::fs::write(
        &batch,
        "add routes dst:20.0.0.0/8 drop_packet()\nadd routes dst:10.0.0.0/8 drop_packet()\n",
    )
    .unwrap();
    let err = net.fails(1, &["table", "r1", "apply", batch.to_str().unwrap()]);
    assert!(
        err.contains(":2: table `RouterIngress.routes` already has an entry"),
        "{err}"
    );
    std::fs::write(
        &batch,
        "add routes dst:20.0.0.0/8 drop_packet()\nsetdefault routes forward(dst_mac:1)\n",
    )
    .unwrap();
    let err = net.fails(1, &["table", "r1", "apply", batch.to_str().unwrap()]);
    assert!(
        err.contains(":2: no value for parameter `src_mac`"),
        "{err}"
    );
    let _ = std::fs::remove_file(&batch);
    let listed = net.ok(&["table", "r1", "list", "routes"]);
    assert_eq!(
        listed.lines().count(),
        2,
        "one entry and the default: {listed}"
    );
    assert!(
        listed.contains("setdefault RouterIngress.routes drop_packet()"),
        "{listed}"
    );

    // Another loader's program holds the hook (here: an iov with another pin root, which this
    // one cannot see): the kernel refuses the link, exit 1, nothing left.
    // (bpffs refuses names with a dot.)
    let other_root = PathBuf::from(format!("{}other", net.root.display()));
    let other = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_iov"))
            .args(args)
            .env("IOV_PIN_ROOT", &other_root)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let out = other(&[
        "load",
        "examples/router.iov",
        "--dev",
        "vc",
        "--netns",
        ns,
        "--name",
        "x",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = net.fails(
        1,
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "vc",
            "--netns",
            ns,
            "--name",
            "r4",
        ],
    );
    assert!(err.contains("another program is attached to `vc`"), "{err}");
    assert_eq!(net.pins(), vec!["r1".to_string()]);
    assert!(other(&["unload", "x"]).status.success());
    let _ = std::fs::remove_dir_all(&other_root);

    net.ok(&["unload", "r1"]);
    let err = net.fails(2, &["unload", "r1"]);
    assert!(err.contains("no module named `r1`"), "{err}");
    assert_eq!(net.pins(), Vec::<String>::new());
    assert_eq!(net.xdp_progs(ns, "va"), "");
}

#[test]
fn without_privileges_every_command_says_to_run_as_root() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let ns = net.a.as_str();
    net.ok(&[
        "load",
        "examples/router.iov",
        "--dev",
        "va",
        "--netns",
        ns,
        "--name",
        "r1",
    ]);
    std::fs::set_permissions(
        &net.root,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    // The same commands as user `nobody`, with no capabilities.
    let as_nobody = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--",
            ])
            .arg(env!("CARGO_BIN_EXE_iov"))
            .args(args)
            .env("IOV_PIN_ROOT", &net.root)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("setpriv (util-linux)");
        let err = String::from_utf8_lossy(&out.stderr).replace("\n  │ ", " ");
        (out.status.code(), err)
    };
    for args in [
        &[
            "load",
            "examples/router.iov",
            "--dev",
            "vc",
            "--netns",
            ns,
            "--name",
            "r2",
        ][..],
        &["list"],
        &["table", "r1", "list"],
        &["counters", "r1"],
        &["unload", "r1"],
    ] {
        let (code, err) = as_nobody(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("permission denied"), "{args:?}: {err}");
        assert!(err.contains("needs root"), "{args:?}: {err}");
    }
    // Nothing changed.
    assert_eq!(net.pins(), vec!["r1".to_string()]);
    net.ok(&["unload", "r1"]);
}
