//! scratch
mod common;
#[test]
fn scratch() {
    let m = iov_runtime::Module::load(&common::programs::router()).unwrap();
    for n in [3000usize, 3520, 3600, 4000, 10000] {
        let r = m
            .run(&common::programs::frame(0x800, [1, 2, 3, 4], n))
            .unwrap();
        println!(
            "{n}: ret {} out {} seen {}",
            r.retval,
            r.data.len(),
            m.register_read("last_len", 0).unwrap()
        );
    }
    let m = iov_runtime::Module::load(&common::programs::tc_len("classifier")).unwrap();
    println!("{:?}", m.run(&vec![0u8; 5000]).unwrap_err().to_string());
}
