//! A test bench of network namespaces for the module commands: two namespaces joined by two
//! veth pairs, a private pin root, the `iov` binary run against it, and frames sent and
//! captured with AF_PACKET sockets inside a namespace.
//!
//! Takes: nothing; each [`Net`] makes its own namespaces and pin root.
//! Gives: [`Net`] (removed with everything under its root when dropped, also when a test
//! fails), `iov` runners that check exit codes, [`send_and_capture`], and [`Stream`], a
//! stream of numbered frames that proves none was lost while the test changed things.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Checks and builds program `text` in process (a test build, with the verdict map, when
/// `test_build`) and loads it into the kernel.
pub fn load_text(text: &str, test_build: bool) -> iov_runtime::Module {
    let checked = iov_sema::check("test.iov", text, &mut iov::loader::FsLoader::new(vec![]));
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let opts = iov_codegen::Options {
        test_build,
        ..Default::default()
    };
    let object = iov_codegen::build(&checked, "test", &opts)
        .unwrap_or_else(|_| panic!("the program builds"))
        .object;
    iov_runtime::Module::load(&object).expect("the verifier accepts it")
}

pub fn privileged() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the operate tests need root, and CI must run them"
    );
    eprintln!("skipping: loading and attaching BPF programs needs root; run `sudo -E cargo test`");
    false
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// To 10.1.2.3 (routed by [`Net::route_via_vc`]), TTL 64, 42 bytes with an 8-byte payload.
pub const ROUTED: &str =
    "001122334455aabbccddeeff08004500001c0000400040116e24c0a800010a0102030000000000000000";

/// Two namespaces `A` and `B`, joined by two veth pairs: `va`(A)-`vb`(B), `vc`(A)-`vd`(B);
/// a private pin root. Dropping it unloads every module under the root and removes all.
pub struct Net {
    pub a: String,
    pub b: String,
    pub root: PathBuf,
}

pub fn ip(args: &[&str]) {
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

impl Net {
    pub fn new() -> Net {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("iovop{}x{n}", std::process::id());
        let net = Net {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
            root: PathBuf::from(format!("/sys/fs/bpf/{tag}")),
        };
        ip(&["netns", "add", &net.a]);
        ip(&["netns", "add", &net.b]);
        // No IPv6: its router solicitations would reach the programs between the test's
        // frames and blur exact packet counts.
        for ns in [&net.a, &net.b] {
            ip(&[
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ]);
        }
        for (x, y) in [("va", "vb"), ("vc", "vd")] {
            ip(&[
                "link", "add", x, "netns", &net.a, "type", "veth", "peer", "name", y, "netns",
                &net.b,
            ]);
            ip(&["-n", &net.a, "link", "set", x, "up"]);
            ip(&["-n", &net.b, "link", "set", y, "up"]);
        }
        net
    }

    /// Runs `iov ARGS` with this test's pin root.
    pub fn iov(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_iov"))
            .args(args)
            .env("IOV_PIN_ROOT", &self.root)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("iov runs")
    }

    /// `iov ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.iov(args);
        assert!(
            out.status.success(),
            "iov {args:?} failed ({:?}):\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `iov ARGS`, which must fail with `code`; its stderr, with the report's wrapped lines
    /// joined again.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.iov(args);
        let err = String::from_utf8_lossy(&out.stderr).replace("\n  │ ", " ");
        assert_eq!(out.status.code(), Some(code), "iov {args:?}: {err}");
        err
    }

    /// `iov load examples/router.iov` on `va` in namespace A, generic XDP, as module `name`,
    /// with `extra` arguments (more `--dev`, `--json`); its stdout.
    pub fn load_router(&self, name: &str, extra: &[&str]) -> String {
        self.load_file("examples/router.iov", name, extra)
    }

    /// `iov load FILE` on `va` in namespace A, generic XDP, as module `name`, with `extra`
    /// arguments; its stdout.
    pub fn load_file(&self, file: &str, name: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "load", file, "--dev", "va", "--netns", &self.a, "--mode", "generic", "--name", name,
        ];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    /// Routes 10.0.0.0/8 through router module `name` out of `vc` (towards `vd` in B),
    /// rewriting the MACs to 02:00:00:00:00:02 from 02:00:00:00:00:01; the port.
    pub fn route_via_vc(&self, name: &str) -> u32 {
        let port = self.ifindex(&self.a, "vc");
        self.ok(&[
            "table",
            name,
            "add",
            "routes",
            "hdr.ipv4.dst:10.0.0.0/8",
            &format!("forward(dst_mac:02:00:00:00:00:02, src_mac:02:00:00:00:00:01, port:{port})"),
        ]);
        port
    }

    /// The index of interface `iface` in namespace `ns`.
    pub fn ifindex(&self, ns: &str, iface: &str) -> u32 {
        let iface = iface.to_string();
        in_netns(ns, move || {
            let name = CString::new(iface).unwrap();
            // SAFETY: a valid NUL-terminated name.
            unsafe { libc::if_nametoindex(name.as_ptr()) }
        })
    }

    /// The XDP program ids attached to `iface` in `ns`, as `ip link` shows them.
    pub fn xdp_progs(&self, ns: &str, iface: &str) -> String {
        let out = Command::new("ip")
            .args(["-n", ns, "-d", "link", "show", iface])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .filter(|l| l.contains("prog/xdp"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The module directories under the root.
    pub fn pins(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Chains first (a chain refuses `unload`; deleting it unloads its stages), then modules.
        for name in self.pins() {
            let _ = self.iov(&["chain", "delete", &name]);
        }
        for name in self.pins() {
            let _ = self.iov(&["unload", &name]);
        }
        let _ = std::fs::remove_dir_all(&self.root);
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Runs `f` on a thread inside network namespace `ns`.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: setns on an open namespace file; affects only this thread.
        let ret = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(ret, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .unwrap()
}

/// A raw AF_PACKET socket on `iface` of the calling thread's namespace.
pub fn packet_socket(iface: &str) -> (i32, libc::sockaddr_ll) {
    let name = CString::new(iface).unwrap();
    // SAFETY: plain socket calls on buffers that outlive them.
    unsafe {
        let index = libc::if_nametoindex(name.as_ptr());
        assert_ne!(index, 0, "no interface {iface}");
        let proto = (libc::ETH_P_ALL as u16).to_be();
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto));
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut addr: libc::sockaddr_ll = std::mem::zeroed();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = index as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        let ret = libc::bind(fd, (&addr as *const libc::sockaddr_ll).cast(), len);
        assert_eq!(ret, 0, "bind: {}", std::io::Error::last_os_error());
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
        (fd, addr)
    }
}

/// In namespace `ns`: sends each frame out of `iface`.
pub fn send(ns: &str, iface: &str, frames: Vec<Vec<u8>>) {
    let iface = iface.to_string();
    in_netns(ns, move || {
        let (tx, addr) = packet_socket(&iface);
        send_on(tx, &addr, &frames);
        // SAFETY: closing a descriptor we opened.
        unsafe { libc::close(tx) };
    })
}

fn send_on(tx: i32, addr: &libc::sockaddr_ll, frames: &[Vec<u8>]) {
    for f in frames {
        // SAFETY: sending a live buffer to a bound address.
        let sent = unsafe {
            libc::sendto(
                tx,
                f.as_ptr().cast(),
                f.len(),
                0,
                (addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(
            sent,
            f.len() as isize,
            "sendto: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// In namespace `ns`: sends each frame out of `out_iface` and collects, for a second, every
/// frame that arrives on `in_iface`.
pub fn send_and_capture(
    ns: &str,
    out_iface: &str,
    in_iface: &str,
    frames: Vec<Vec<u8>>,
) -> Vec<Vec<u8>> {
    let (ns2, out_iface) = (ns.to_string(), out_iface.to_string());
    capture_while(ns, in_iface, move || send(&ns2, &out_iface, frames))
}

/// The RFC 1071 checksum of `h` (an IPv4 header with its checksum field zero).
pub fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)])))
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// CRC-32 (ISO-HDLC), as `hash(HashAlgorithm.crc32, ...)` computes it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Numbered copies of one frame sent from `vb` (namespace B) at a steady pace until
/// [`Stream::finish`], and every copy that arrives on `vd` (B) counted by its number, which
/// is written big-endian into the frame's last four bytes.
pub struct Stream {
    stop: Arc<AtomicBool>,
    sender: std::thread::JoinHandle<u32>,
    receiver: std::thread::JoinHandle<BTreeMap<u32, u32>>,
}

impl Stream {
    pub fn start(net: &Net, frame: Vec<u8>) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        // The sender starts once the receiver's socket is open, so the first frame is seen.
        let ready = Arc::new(AtomicBool::new(false));
        let at = frame.len() - 4;
        let receiver = {
            let (ns, stop, ready) = (net.b.clone(), stop.clone(), ready.clone());
            let len = frame.len() as isize;
            std::thread::spawn(move || {
                in_netns(&ns, move || {
                    let (rx, _) = packet_socket("vd");
                    let big: libc::c_int = 16 << 20;
                    // SAFETY: setting an int socket option from a live value.
                    unsafe {
                        libc::setsockopt(
                            rx,
                            libc::SOL_SOCKET,
                            libc::SO_RCVBUFFORCE,
                            (&big as *const libc::c_int).cast(),
                            4,
                        )
                    };
                    ready.store(true, Ordering::Release);
                    let mut seen: BTreeMap<u32, u32> = BTreeMap::new();
                    let mut quiet_since: Option<Instant> = None;
                    loop {
                        let mut buf = [0u8; 2048];
                        // SAFETY: receiving into a live buffer of the advertised size.
                        let n = unsafe { libc::recv(rx, buf.as_mut_ptr().cast(), buf.len(), 0) };
                        if n == len && buf[12..14] == [8, 0] {
                            let seq = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap());
                            *seen.entry(seq).or_default() += 1;
                            quiet_since = None;
                        } else if stop.load(Ordering::Relaxed) {
                            let since = *quiet_since.get_or_insert_with(Instant::now);
                            if since.elapsed() > Duration::from_millis(500) {
                                break;
                            }
                        }
                    }
                    // SAFETY: closing a descriptor we opened.
                    unsafe { libc::close(rx) };
                    seen
                })
            })
        };
        let sender = {
            let (ns, stop, ready) = (net.b.clone(), stop.clone(), ready.clone());
            std::thread::spawn(move || {
                in_netns(&ns, move || {
                    while !ready.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    let (tx, addr) = packet_socket("vb");
                    let mut frame = frame;
                    let mut sent = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        frame[at..at + 4].copy_from_slice(&sent.to_be_bytes());
                        send_on(tx, &addr, std::slice::from_ref(&frame));
                        sent += 1;
                        std::thread::sleep(Duration::from_micros(300));
                    }
                    // SAFETY: closing a descriptor we opened.
                    unsafe { libc::close(tx) };
                    sent
                })
            })
        };
        Stream {
            stop,
            sender,
            receiver,
        }
    }

    /// Stops sending, waits until nothing more arrives, and checks that every frame sent
    /// arrived exactly once; the number sent.
    pub fn finish(self, what: &str) -> u32 {
        std::thread::sleep(Duration::from_millis(200));
        self.stop.store(true, Ordering::Relaxed);
        let sent = self.sender.join().unwrap();
        let seen = self.receiver.join().unwrap();
        let missing: Vec<u32> = (0..sent).filter(|s| !seen.contains_key(s)).collect();
        let doubled: Vec<(&u32, &u32)> = seen.iter().filter(|(_, n)| **n > 1).collect();
        eprintln!("{sent} frames sent {what}; {} arrived", seen.len());
        assert!(sent > 500, "a real stream: {sent} frames");
        assert!(
            missing.is_empty(),
            "{} of {sent} frames lost {what}, first {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        assert!(doubled.is_empty(), "frames seen twice {what}: {doubled:?}");
        assert_eq!(seen.len() as u32, sent, "nothing arrived that was not sent");
        sent
    }
}

/// Every frame that arrives on `iface` in namespace `ns` (not sent from it) while `act` runs
/// and for a second after: the socket is open before `act` starts.
pub fn capture_while(ns: &str, iface: &str, act: impl FnOnce()) -> Vec<Vec<u8>> {
    let (ns, iface) = (ns.to_string(), iface.to_string());
    let ready = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (ready, done) = (ready.clone(), done.clone());
        std::thread::spawn(move || {
            in_netns(&ns, move || {
                let (rx, _) = packet_socket(&iface);
                ready.store(true, Ordering::Release);
                let mut got = Vec::new();
                let mut done_at: Option<Instant> = None;
                loop {
                    if done.load(Ordering::Acquire) {
                        let at = *done_at.get_or_insert_with(Instant::now);
                        if at.elapsed() > Duration::from_secs(1) {
                            break;
                        }
                    }
                    let mut buf = [0u8; 2048];
                    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
                    let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                    // SAFETY: receiving into live buffers of the advertised sizes.
                    let n = unsafe {
                        libc::recvfrom(
                            rx,
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                            0,
                            (&mut from as *mut libc::sockaddr_ll).cast(),
                            &mut len,
                        )
                    };
                    if n > 0 && from.sll_pkttype != libc::PACKET_OUTGOING {
                        got.push(buf[..n as usize].to_vec());
                    }
                }
                // SAFETY: closing a descriptor we opened.
                unsafe { libc::close(rx) };
                got
            })
        })
    };
    while !ready.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(1));
    }
    act();
    done.store(true, Ordering::Release);
    receiver.join().unwrap()
}

/// A frame from vb's side: Ethernet to 00:11:22:33:44:55 (with an 802.1Q tag of `vlan`, if
/// any), IPv4 (TTL `ttl`, checksum computed) `src` -> `dst` with protocol `proto`, then `l4`.
pub fn frame(
    vlan: Option<u16>,
    ttl: u8,
    macs: [[u8; 6]; 2],
    ip: ([u8; 4], [u8; 4]),
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&macs[0]);
    f.extend_from_slice(&macs[1]);
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, ttl, proto, 0, 0]);
    h.extend_from_slice(&ip.0);
    h.extend_from_slice(&ip.1);
    let sum = ipv4_checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(l4);
    f
}

pub const IN_MACS: [[u8; 6]; 2] = [
    [0x00, 0x11, 0x22, 0x33, 0x44, 0x55],
    [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff],
];
/// The MACs the router writes (see `Net::route_via_vc`).
pub const OUT_MACS: [[u8; 6]; 2] = [[2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1]];
pub const UDP: [u8; 8] = [0x0f, 0xa0, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
/// A TCP SYN to port 22, which the firewall drops from 10/8.
pub const SSH_SYN: [u8; 20] = [
    0x04, 0xd2, 0x00, 0x16, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
];
