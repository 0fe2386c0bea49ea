//! Bulk loading in the kernel: a batch of adds to an empty exact or lpm table goes to the
//! kernel with `BPF_MAP_UPDATE_BATCH` and means what the adds one by one mean: the entries
//! are there and answer packets; two adds of the same keys, a full table or an entry that
//! exists are refused at the request that causes it, and the batch leaves nothing behind.
//! (`cargo bench --bench tables` times a million.)
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;

use iov_runtime::{Error, Match, Request};
use net::{load_text, privileged};

const PROGRAM: &str = r#"
import std.net.*;
struct h_t { ethernet_t eth; ipv4_t ipv4; }
parser P(packet_in pkt, out h_t hdr) {
    state start { pkt.extract(hdr.eth); transition select(hdr.eth.ether_type) { ETHERTYPE_IPV4: ipv4; default: accept; } }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) {
    action deny() { drop(); }
    action to(bit<32> port) { send_to_port(port); }
    table flows {
        key = { hdr.ipv4.src: exact; hdr.ipv4.dst: exact; }
        actions = { deny; }
        size = 150;
    }
    table routes {
        key = { hdr.ipv4.dst: lpm; }
        actions = { to; }
        size = 1024;
    }
    apply { if (hdr.ipv4.isValid()) { if (!flows.apply().hit) { routes.apply(); } } }
}
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }
xdp(P(), C(), D()) main;
"#;

fn flow(dst: u32) -> Request {
    Request::Add {
        table: "flows".into(),
        priority: None,
        keys: vec![
            ("src".into(), Match::Exact(0x0a00_0001)),
            ("dst".into(), Match::Exact(dst.into())),
        ],
        action: "deny".into(),
        args: vec![],
    }
}

fn route(net: u32, port: u32) -> Request {
    Request::Add {
        table: "routes".into(),
        priority: None,
        keys: vec![(
            "dst".into(),
            Match::Prefix {
                value: u128::from(net << 8),
                len: 24,
            },
        )],
        action: "to".into(),
        args: vec![("port".into(), port.into())],
    }
}

fn frame(src: u32, dst: u32) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend([0x08, 0x00, 0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend(src.to_be_bytes());
    f.extend(dst.to_be_bytes());
    f
}

#[test]
fn a_bulk_batch_writes_what_adds_one_by_one_would_and_refuses_what_they_would() {
    if !privileged() {
        return;
    }
    let m = load_text(PROGRAM, false);
    let entries = |t| m.occupancy(t).unwrap().entries;
    // Into empty tables: every entry there, each answering its packets.
    let batch: Vec<Request> = (0..100)
        .map(flow)
        .chain((0..500).map(|n| route(n, 1000 + n)))
        .collect();
    m.apply_batch(&batch).unwrap();
    assert_eq!((entries("flows"), entries("routes")), (100, 500));
    assert_eq!(
        m.run(&frame(0x0a00_0001, 99)).unwrap().retval,
        1,
        "XDP_DROP"
    );
    let routed = m.run(&frame(0x0b00_0000, 499 << 8 | 9)).unwrap();
    assert_eq!(routed.retval, 4, "XDP_REDIRECT");
    assert_eq!(m.entries("routes").unwrap().len(), 500);
    m.clear("flows").unwrap();
    m.clear("routes").unwrap();

    // The same keys twice in one run: refused at the second, nothing written.
    let mut twice: Vec<Request> = (0..100).map(flow).collect();
    twice[70] = flow(10);
    let (at, err) = m.apply_batch(&twice).unwrap_err();
    assert_eq!(at, 70);
    assert!(matches!(err, Error::EntryExists { .. }), "{err}");
    assert_eq!(entries("flows"), 0);

    // More than the table holds: refused at the first that finds it full, all undone.
    let (at, err) = m
        .apply_batch(&(0..151).map(flow).collect::<Vec<_>>())
        .unwrap_err();
    assert_eq!(at, 150);
    assert!(matches!(err, Error::TableFull { .. }), "{err}");
    assert_eq!(entries("flows"), 0);

    // Into a table that holds entries: the kernel checks each key, so an add of one that
    // exists is refused at its request and the batch undone, the old entry kept.
    m.apply_batch(&[flow(50)]).unwrap();
    let (at, err) = m
        .apply_batch(&(0..100).map(flow).collect::<Vec<_>>())
        .unwrap_err();
    assert_eq!(at, 50);
    assert!(matches!(err, Error::EntryExists { .. }), "{err}");
    assert_eq!(entries("flows"), 1);

    // Bulk runs between other requests: the requests around them still apply in order.
    let mut mixed = vec![route(7, 1)];
    mixed.extend((0..80).map(|n| route(100 + n, n)));
    mixed.push(Request::Delete {
        table: "routes".into(),
        keys: vec![(
            "dst".into(),
            Match::Prefix {
                value: u128::from(7u32 << 8),
                len: 24,
            },
        )],
    });
    m.apply_batch(&mixed).unwrap();
    assert_eq!(entries("routes"), 80);
}
