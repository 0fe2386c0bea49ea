//! Loading objects: what is accepted, and how each kind of bad object or missing privilege
//! is reported.
//!
//! Takes: the hand-written objects of `common::programs`, some deliberately broken.
//! Gives: proof that `Module::load` reads the manifest, loads XDP and TC programs into the
//! kernel, and refuses bad objects with messages that say what to do.

mod common;

use common::programs::{self, router_with};
use iov_manifest::{ActionCall, Hook, VERSION};
use iov_runtime::{read_manifest, Error, Module};
use std::process::Command;

#[test]
fn the_manifest_comes_back_out_of_the_object() {
    let manifest = read_manifest(&programs::router()).unwrap();
    assert_eq!(manifest, programs::router_manifest());
}

#[test]
fn objects_without_a_manifest_are_refused() {
    let err = read_manifest(&programs::pass_without_manifest()).unwrap_err();
    assert!(matches!(err, Error::NoManifest { .. }), "{err:?}");
    assert!(err.to_string().contains("iov build"), "{err}");
    let err = read_manifest(b"not an elf").unwrap_err();
    assert!(matches!(err, Error::NotAnObject(_)), "{err:?}");
    let err = Module::load(b"not an elf").err().unwrap();
    assert!(matches!(err, Error::NotAnObject(_)), "{err:?}");
}

#[test]
fn a_manifest_of_another_version_is_refused() {
    let err = read_manifest(&router_with(|m| m.version = VERSION + 1)).unwrap_err();
    assert!(matches!(err, Error::BadManifest(_)), "{err:?}");
    assert!(err.to_string().contains("not supported"), "{err}");
}

#[test]
fn loads_xdp_and_tc_programs() {
    require_kernel!();
    let m = Module::load(&programs::router()).unwrap();
    assert_eq!(m.manifest().hook, Hook::Xdp);
    assert!(m.verified_instructions().unwrap() > 10);
    let m = Module::load(&programs::tc_len("classifier")).unwrap();
    assert_eq!(m.manifest().hook, Hook::TcIngress);
}

#[test]
fn tc_section_spelled_tc_is_refused_before_aya_sees_it() {
    // aya 0.14 (aya-obj 0.3) knows TC programs only as section `classifier`.
    let err = Module::load(&programs::tc_len("tc")).err().unwrap();
    assert!(matches!(err, Error::UnsupportedSection { .. }), "{err:?}");
    assert!(err.to_string().contains("classifier"), "{err}");
}

#[test]
fn verifier_rejections_carry_the_log() {
    require_kernel!();
    let err = Module::load(&programs::unverifiable()).err().unwrap();
    let Error::Verifier { function, log, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(function, "bad");
    assert!(log.contains("R0 !read_ok"), "{log}");
}

#[test]
fn maps_that_disagree_with_the_manifest_are_refused() {
    require_kernel!();
    let err = Module::load(&router_with(|m| m.tables[0].key_size = 4))
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::MapMismatch { map, what: "the key size", .. } if map == "by_type"),
        "{err:?}"
    );
    let err = Module::load(&router_with(|m| m.counters[0].map = "nowhere".into()))
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::NoMap { map } if map == "nowhere"),
        "{err:?}"
    );
    let err = Module::load(&router_with(|m| m.function = "elsewhere".into()))
        .err()
        .unwrap();
    assert!(matches!(&err, Error::NoProgram { .. }), "{err:?}");
}

#[test]
fn bad_const_entries_in_the_manifest_fail_the_load() {
    require_kernel!();
    let object = router_with(|m| {
        m.tables[0].default_action = ActionCall {
            action: "fwd".into(),
            args: vec!["1000".into()],
        }
    });
    let err = Module::load(&object).err().unwrap();
    assert!(matches!(err, Error::TooWide { bits: 9, .. }), "{err:?}");
}

/// Run by `unprivileged_loads_say_to_run_as_root` in a child process that dropped root.
#[test]
fn unprivileged_child() {
    if std::env::var_os("IOV_UNPRIVILEGED_CHILD").is_none() {
        return;
    }
    // SAFETY: plain syscalls; the child process exists only for this test.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
    }
    let err = Module::load(&programs::router()).err().expect("refused");
    println!("ERROR: {err}");
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
}

#[test]
fn unprivileged_loads_say_to_run_as_root() {
    require_kernel!();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unprivileged_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("IOV_UNPRIVILEGED_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ERROR: permission denied"), "{stdout}");
    assert!(stdout.contains("run as root"), "{stdout}");
}

#[test]
fn pins_to_bpffs_and_explains_a_missing_bpffs() {
    require_kernel!();
    let mut m = Module::load(&programs::router()).unwrap();
    let err = m.pin(&std::env::temp_dir().join("iov-pin")).unwrap_err();
    assert!(matches!(err, Error::BpffsMissing { .. }), "{err:?}");
    assert!(
        err.to_string().contains("mount -t bpf bpf /sys/fs/bpf"),
        "{err}"
    );

    let root = std::path::Path::new("/sys/fs/bpf");
    if !iov_runtime::is_bpffs(root) {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI needs bpffs at /sys/fs/bpf"
        );
        println!("SKIPPED the pinning half: no bpffs at /sys/fs/bpf");
        return;
    }
    let dir = root.join(format!("iov-test-{}", std::process::id()));
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());
    let pinned = m.pin(&dir).unwrap();
    assert_eq!(pinned.len(), 8, "7 maps and the program: {pinned:?}");
    assert!(pinned.iter().all(|p| p.exists()));
    assert!(dir.join("router").exists() && dir.join("by_type").exists());
}
