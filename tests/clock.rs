//! Which clock a build reads: a production build's `timestamp()` is the kernel's monotonic
//! clock (between the host's CLOCK_MONOTONIC readings before and after the run), and it has no
//! clock to set; a test build's reads exactly what the test set, however much real time passes.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov_runtime::{Error, Module};
use net::privileged;
use std::path::Path;

fn build(test_build: bool) -> Module {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/test_clock.iov");
    let text = std::fs::read_to_string(&path).unwrap();
    let checked = iov_sema::check(
        "test_clock.iov",
        &text,
        &mut iov::loader::FsLoader::new(vec![]),
    );
    assert!(!checked.has_errors());
    let opts = iov_codegen::Options {
        test_build,
        ..Default::default()
    };
    let object = iov_codegen::build(&checked, "clock", &opts)
        .unwrap_or_else(|_| panic!("test_clock.iov builds"))
        .object;
    Module::load(&object).expect("loads")
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) },
        0
    );
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The timestamp the program wrote into the frame.
fn stamped(m: &Module) -> u64 {
    let mut frame = vec![0xff; 6];
    frame.extend([0, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    frame.extend([0; 8]);
    let out = m.run(&frame).expect("runs");
    u64::from_be_bytes(out.data[14..22].try_into().unwrap())
}

#[test]
fn a_production_build_reads_the_kernel_clock_and_a_test_build_the_test_clock() {
    if !privileged() {
        return;
    }
    let production = build(false);
    let before = monotonic_ns();
    let t = stamped(&production);
    let after = monotonic_ns();
    assert!(before <= t && t <= after, "{before} <= {t} <= {after}");
    assert!(matches!(production.set_clock(5), Err(Error::NoClock)));

    let test = build(true);
    assert_eq!(stamped(&test), 0, "the test clock starts at 0");
    test.set_clock(123_456_789).unwrap();
    assert_eq!(stamped(&test), 123_456_789);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(stamped(&test), 123_456_789, "real time does not move it");
    assert_eq!(test.clock().unwrap(), 123_456_789);
}
