//! Attaching to real interfaces: XDP (generic and native) and TC on a veth pair.
//!
//! Takes: the hand-written router and TC programs.
//! Gives: proof that an attached XDP program sees frames sent over a veth pair (its
//! counters grow by exactly the frames sent) and stops seeing them once detached, that TC
//! programs attach and detach, and that attach errors say what to do. Each test runs in a
//! private network namespace of its own thread, so nothing leaks into the host, even when
//! the test fails.

mod common;

use aya::programs::{SchedClassifier, TcAttachType};
use common::programs::{self, frame};
use iov_runtime::{Error, Match, Module, XdpMode};
use std::ffi::CString;
use std::process::Command;
use std::time::{Duration, Instant};

/// Moves this test's thread into a fresh network namespace (destroyed with the thread) and
/// creates the veth pair `va` <-> `vb` there, both up.
fn private_veth_pair() {
    // SAFETY: unshare affects only the calling thread's namespaces.
    let ret = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        ret,
        0,
        "unshare(CLONE_NEWNET): {}",
        std::io::Error::last_os_error()
    );
    for args in [
        &["link", "add", "va", "type", "veth", "peer", "name", "vb"][..],
        &["link", "set", "va", "up"],
        &["link", "set", "vb", "up"],
    ] {
        let out = Command::new("ip")
            .args(args)
            .output()
            .expect("iproute2 `ip`");
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Sends `frame` out of `iface` `n` times through an AF_PACKET socket.
fn send(iface: &str, frame: &[u8], n: usize) {
    let name = CString::new(iface).unwrap();
    // SAFETY: plain socket calls on buffers that outlive them.
    unsafe {
        let index = libc::if_nametoindex(name.as_ptr());
        assert_ne!(index, 0, "no interface {iface}");
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = index as i32;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&frame[..6]);
        for _ in 0..n {
            let sent = libc::sendto(
                fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            assert_eq!(
                sent,
                frame.len() as isize,
                "sendto: {}",
                std::io::Error::last_os_error()
            );
        }
        libc::close(fd);
    }
}

/// Waits until `counter(hits, DROP)` reaches `packets` (or a second passes) and returns it.
fn drops_after_wait(m: &Module, packets: u64) -> (u64, u64) {
    let start = Instant::now();
    loop {
        let now = m.counter("hits", programs::DROP).unwrap();
        if now.0 >= packets || start.elapsed() > Duration::from_secs(1) {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn xdp_sees_frames(mode: XdpMode) {
    private_veth_pair();
    let mut m = Module::load(&programs::router()).unwrap();
    m.add_entry("by_type", &[Match::Exact(0x88b5)], "drop", &[])
        .unwrap();
    let f = frame(0x88b5, [0; 4], 60);

    let attached = m.attach("va", mode).unwrap();
    assert_eq!(attached.interface(), "va");
    send("vb", &f, 5);
    assert_eq!(
        drops_after_wait(&m, 5),
        (5, 300),
        "five 60-byte frames seen"
    );

    m.detach(attached).unwrap();
    send("vb", &f, 5);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        m.counter("hits", programs::DROP).unwrap(),
        (5, 300),
        "detached"
    );
}

#[test]
fn xdp_generic_sees_frames_until_detached() {
    require_kernel!();
    xdp_sees_frames(XdpMode::Generic);
}

#[test]
fn xdp_native_sees_frames_until_detached() {
    require_kernel!();
    xdp_sees_frames(XdpMode::Native);
}

/// A `fork` in another thread copies the link's descriptor until the child's `exec`;
/// detaching must not wait for that copy to close. Twenty attach/detach rounds while a
/// thread starts commands without pause: no frame sent after a detach is seen.
#[test]
fn detach_is_immediate_while_other_threads_fork() {
    require_kernel!();
    private_veth_pair();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let forker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut forks = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = Command::new("true").status();
                forks += 1;
            }
            forks
        })
    };
    let mut m = Module::load(&programs::router()).unwrap();
    m.add_entry("by_type", &[Match::Exact(0x88b5)], "drop", &[])
        .unwrap();
    let f = frame(0x88b5, [0; 4], 60);
    let mut seen = 0;
    for round in 0..20 {
        let attached = m.attach("va", XdpMode::Generic).unwrap();
        send("vb", &f, 1);
        seen += 1;
        assert_eq!(
            drops_after_wait(&m, seen).0,
            seen,
            "round {round}: attached"
        );
        m.detach(attached).unwrap();
        send("vb", &f, 3);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            m.counter("hits", programs::DROP).unwrap().0,
            seen,
            "round {round}: frames counted after the detach returned"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(forker.join().unwrap() > 0, "the other thread forked");
}

/// Drops CAP_SYS_ADMIN from the calling thread's effective capabilities (capabilities are
/// per thread, so the rest of the test process keeps them).
fn drop_sys_admin() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const CAP_SYS_ADMIN: u32 = 21;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a version-3 header and two data words, as the ABI wants.
    unsafe {
        assert_eq!(
            libc::syscall(
                libc::SYS_capget,
                &mut header as *mut Header,
                data.as_mut_ptr()
            ),
            0
        );
        data[0].effective &= !(1 << CAP_SYS_ADMIN);
        assert_eq!(
            libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()),
            0,
            "capset: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Detaching by link id needs CAP_SYS_ADMIN for BPF_LINK_GET_FD_BY_ID; without it the
/// runtime finds the descriptor it holds and still detaches at once.
#[test]
fn detach_works_without_cap_sys_admin() {
    require_kernel!();
    private_veth_pair();
    let mut m = Module::load(&programs::router()).unwrap();
    m.add_entry("by_type", &[Match::Exact(0x88b5)], "drop", &[])
        .unwrap();
    let f = frame(0x88b5, [0; 4], 60);
    let attached = m.attach("va", XdpMode::Generic).unwrap();
    send("vb", &f, 2);
    assert_eq!(drops_after_wait(&m, 2).0, 2);
    drop_sys_admin();
    m.detach(attached).unwrap();
    send("vb", &f, 2);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(m.counter("hits", programs::DROP).unwrap().0, 2, "detached");
}

#[test]
fn attach_errors_say_what_to_do() {
    require_kernel!();
    private_veth_pair();
    let mut m = Module::load(&programs::router()).unwrap();
    let err = m.attach("nosuch0", XdpMode::Generic).unwrap_err();
    assert!(
        matches!(&err, Error::NoInterface { name, .. } if name == "nosuch0"),
        "{err:?}"
    );
    assert!(err.to_string().contains("ip link"), "{err}");

    let _first = m.attach("va", XdpMode::Generic).unwrap();
    let mut other = Module::load(&programs::router()).unwrap();
    let err = other.attach("va", XdpMode::Generic).unwrap_err();
    assert!(matches!(err, Error::HookBusy { .. }), "{err:?}");
    assert!(err.to_string().contains("detach it first"), "{err}");
}

#[test]
fn tc_attaches_and_detaches() {
    require_kernel!();
    private_veth_pair();
    let mut m = Module::load(&programs::tc_len("classifier")).unwrap();
    let attached = m.attach("va", XdpMode::default()).unwrap();
    let (_, progs) = SchedClassifier::query_tcx("va", TcAttachType::Ingress).unwrap();
    assert_eq!(progs.len(), 1, "one TCX ingress program");
    m.detach(attached).unwrap();
    let (_, progs) = SchedClassifier::query_tcx("va", TcAttachType::Ingress).unwrap();
    assert_eq!(progs.len(), 0, "detached");
}
