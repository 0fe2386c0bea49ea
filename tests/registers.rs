//! Registers with an initial value, from the control plane's side: a cell nobody wrote reads
//! as the initial value, a written value reads back as written, the program's adds start
//! from the initial value, and a reload that changes the initial value is refused (its cells
//! would change meaning).
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov_runtime::Module;
use net::privileged;
use std::path::Path;

fn object(text: &str) -> Vec<u8> {
    let checked = iov_sema::check(
        "register_initial.iov",
        text,
        &mut iov::loader::FsLoader::new(vec![]),
    );
    assert!(!checked.has_errors());
    iov_codegen::build(
        &checked,
        "register_initial",
        &iov_codegen::Options::default(),
    )
    .unwrap_or_else(|_| panic!("register_initial.iov builds"))
    .object
}

fn text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/register_initial.iov");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn initial_values_hold_for_the_control_plane_and_a_changed_one_is_refused_on_reload() {
    if !privileged() {
        return;
    }
    let m = Module::load(&object(&text())).expect("loads");
    assert_eq!(m.register_read("credit", 2).unwrap(), 1000);
    assert_eq!(
        m.register_read("delta", 0).unwrap(),
        0xfd,
        "-3 as an int<8>"
    );
    m.register_write("credit", 2, 50).unwrap();
    assert_eq!(m.register_read("credit", 2).unwrap(), 50);
    m.register_write("credit", 0, 0).unwrap();
    let mut f = vec![0xff; 6];
    f.extend([0, 0, 0, 0, 0, 1, 0x88, 0xb5, 1, 0, 0, 0, 9]);
    m.run(&f).unwrap();
    assert_eq!(
        m.register_read("credit", 0).unwrap(),
        9,
        "written 0, then 9 added"
    );

    let old = m.manifest().clone();
    let changed = text().replace(
        "register<bit<32>>(4, 1000) credit;",
        "register<bit<32>>(4, 2000) credit;",
    );
    let new = iov_runtime::read_manifest(&object(&changed)).unwrap();
    let plan = iov_runtime::carry::plan(&old, &new, &[]);
    assert_eq!(
        plan.refusals[0],
        "register `C.credit`: its initial value changed from 1000 to 2000"
    );
}
