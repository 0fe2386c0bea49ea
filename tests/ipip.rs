//! Interoperation with the Linux kernel's IP stack as the tunnel's far end:
//! examples/lb_ipip.iov sends a client's UDP datagram for a virtual address into an IP-in-IP
//! tunnel to a backend, and the backend's kernel receives it. This machine's kernel has no
//! `ipip` driver (CONFIG_NET_IPIP is off), so the backend takes protocol 4 with a raw socket,
//! the place an `ipip` device sits: the kernel delivers only a packet whose outer header it
//! accepted (version, length, checksum, destination), and the socket gets the outer header
//! and the client's packet behind it, which must be byte for byte what the client sent.
//!
//! Namespaces A (the balancer, generic XDP on `va`, out of `vc`) and B (the client on `vb`,
//! the backend's address on `vd`). Needs root; skips with a message otherwise, and fails
//! under CI=true.

mod net;

use net::{crc32, hex, in_netns, ip, ipv4_checksum, json, privileged, send, Net};

const VA_MAC: &str = "02:00:00:00:00:0a";
const VD_MAC: &str = "02:00:00:00:00:0d";

#[test]
fn a_tunnelled_packet_is_taken_by_the_backends_kernel_byte_for_byte() {
    if !privileged() {
        return;
    }
    let net = Net::new();
    let (a, b) = (net.a.clone(), net.b.clone());
    ip(&["-n", &a, "link", "set", "va", "address", VA_MAC]);
    ip(&["-n", &b, "link", "set", "vd", "address", VD_MAC]);
    ip(&["-n", &b, "addr", "add", "10.0.1.1/24", "dev", "vd"]);
    net.load_file("examples/lb_ipip.iov", "lb", &[]);
    let port = net.ifindex(&a, "vc");
    net.ok(&[
        "table",
        "lb",
        "add",
        "vips",
        "hdr.ipv4.dst:203.0.113.80",
        "vip()",
    ]);
    // The client's flow: 192.168.7.1:4000 -> 203.0.113.80:5000 UDP; its slot is the low byte
    // of the CRC-32 of (src, dst, protocol, TCP ports as zeros, UDP ports).
    let tuple = hex("c0a80701 cb007150 11 0000 0000 0fa0 1388");
    let slot = crc32(&tuple) & 0xff;
    net.ok(&[
        "table",
        "lb",
        "add",
        "slots",
        &format!("slot:{slot}"),
        &format!("to_backend(backend:7, local:10.0.0.1, addr:10.0.1.1, mac:{VD_MAC}, port:{port})"),
    ]);

    let payload = b"iov ipip interop";
    let mut frame = hex(&format!(
        "{} 0200000000bb 0800 45000000 0000 4000 4011 0000 c0a80701 cb007150 0fa0 1388 {:04x} 0000",
        VA_MAC.replace(':', ""),
        8 + payload.len()
    ));
    frame.extend_from_slice(payload);
    let total = (frame.len() - 14) as u16;
    frame[16..18].copy_from_slice(&total.to_be_bytes());
    let sum = ipv4_checksum(&frame[14..34]);
    frame[24..26].copy_from_slice(&sum.to_be_bytes());

    // The backend's protocol-4 socket in B, open before the frame is sent.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let receiver = {
        let b = b.clone();
        std::thread::spawn(move || {
            in_netns(&b, move || {
                // SAFETY: plain socket calls on buffers that outlive them.
                unsafe {
                    let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, 4);
                    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
                    let tv = libc::timeval {
                        tv_sec: 3,
                        tv_usec: 0,
                    };
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_RCVTIMEO,
                        (&tv as *const libc::timeval).cast(),
                        std::mem::size_of::<libc::timeval>() as u32,
                    );
                    ready_tx.send(()).unwrap();
                    let mut buf = [0u8; 512];
                    let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                    libc::close(fd);
                    (n > 0).then(|| buf[..n as usize].to_vec())
                }
            })
        })
    };
    ready_rx.recv().unwrap();
    let inner = frame[14..].to_vec();
    send(&b, "vb", vec![frame]);
    let got = receiver
        .join()
        .unwrap()
        .expect("the backend's kernel took the tunnelled packet");
    // The outer header as the kernel passed it up: 20 bytes, protocol 4, from the balancer
    // to the backend; then the client's packet unchanged.
    assert_eq!(got[0], 0x45, "{got:02x?}");
    assert_eq!(got[9], 4, "IP-in-IP");
    assert_eq!(
        got[12..20],
        [10, 0, 0, 1, 10, 0, 1, 1],
        "10.0.0.1 -> 10.0.1.1"
    );
    assert_eq!(got[20..], inner[..], "the client's packet, byte for byte");

    let counters = json(&net.ok(&["counters", "lb", "per_backend", "--json"]));
    let values = counters["counters"][0]["values"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(values.len(), 1, "{counters}");
    assert_eq!(values[0]["index"], 7);
    assert_eq!(values[0]["packets"], 1);
}
