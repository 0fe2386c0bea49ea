//! End to end: programs compiled by the real front end and code generator, loaded and
//! controlled through the runtime, run in the kernel.
//!
//! Takes: an `.iov` program written here, compiled as a test build (with the verdict map).
//! Gives: proof that the runtime's key, value, register and counter layouts agree with the
//! code `iov-codegen` emits (BTF-defined maps): multi-field exact keys, exact fields before
//! an lpm field, parameters of odd widths, and that test runs report the verdict.

mod common;

use common::programs::{frame, ip, IPV4};
use iov_runtime::{Match, Module, Verdict, VerdictAction};

const PROGRAM: &str = r#"
import std.net.{ethernet_t, ipv4_t, ETHERTYPE_IPV4};

struct headers_t {
    ethernet_t eth;
    ipv4_t     ipv4;
}

parser P(packet_in pkt, out headers_t hdr) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition accept;
    }
}

control C(inout headers_t hdr, inout std_meta_t meta) {
    counter(8, CounterType.packets_and_bytes) hits;
    register<bit<32>>(4) seen;

    action fwd(bit<9> port, bit<48> mac) {
        hdr.eth.dst = mac;
        send_to_port((bit<32>) port);
        hits.count(1);
    }
    action deny() { drop(); hits.count(2); }
    action allow() { pass(); hits.count(3); }

    table acl {
        key = { hdr.ipv4.protocol: exact; hdr.ipv4.ttl: exact; hdr.ipv4.dst: lpm; }
        actions = { fwd; deny; allow; }
        default_action = allow();
        size = 64;
    }
    table macs {
        key = { hdr.eth.src: exact; hdr.eth.ether_type: exact; }
        actions = { fwd; deny; allow; }
        default_action = allow();
        size = 64;
    }

    apply {
        if (seen.read(1) == 0xdeadbeef) { drop(); return; }
        if (hdr.ipv4.isValid()) {
            seen.write(0, hdr.ipv4.dst);
            acl.apply();
        } else {
            macs.apply();
        }
    }
}

deparser D(packet_out pkt, inout headers_t hdr) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.ipv4);
    }
}

xdp(P(), C(), D()) main;
"#;

fn compile() -> Vec<u8> {
    compile_text(PROGRAM)
}

fn compile_text(text: &str) -> Vec<u8> {
    let checked = iov_sema::check("e2e.iov", text, &mut iov_sema::NoFiles);
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    let opts = iov_codegen::Options {
        test_build: true,
        ..Default::default()
    };
    match iov_codegen::build(&checked, "e2e", &opts) {
        Ok(out) => out.object,
        Err(diags) => panic!("{diags:#?}"),
    }
}

/// An IPv4 frame with protocol `proto`, TTL `ttl` and destination `dst`.
fn ipv4(proto: u8, ttl: u8, dst: [u8; 4]) -> Vec<u8> {
    let mut f = frame(IPV4, dst, 60);
    f[22] = ttl;
    f[23] = proto;
    f
}

const MAC: u128 = 0x0a0b_0c0d_0e0f;
const DENY: u32 = 2;
const ALLOW: u32 = 3;

#[test]
fn exact_fields_before_an_lpm_field_match_as_compiled() {
    require_kernel!();
    let m = Module::load(&compile()).unwrap();
    let (tcp, udp) = (Match::Exact(6), Match::Exact(17));
    let ttl = Match::Exact(64);
    let net = |a, len| Match::Prefix { value: ip(a), len };
    m.add_entry(
        "acl",
        &[tcp.clone(), ttl.clone(), net([10, 0, 0, 0], 8)],
        "deny",
        &[],
    )
    .unwrap();
    m.add_entry(
        "acl",
        &[tcp.clone(), ttl.clone(), net([10, 1, 0, 0], 16)],
        "fwd",
        &[300, MAC],
    )
    .unwrap();
    m.add_entry("acl", &[udp, Match::Exact(1), Match::Any], "deny", &[])
        .unwrap();

    let denied = m.run(&ipv4(6, 64, [10, 9, 9, 9])).unwrap();
    assert_eq!(denied.retval, 1, "XDP_DROP");
    assert_eq!(denied.verdict.unwrap().action, VerdictAction::Drop);

    let packet = ipv4(6, 64, [10, 1, 2, 3]);
    let fwd = m.run(&packet).unwrap();
    assert_eq!(
        fwd.verdict,
        Some(Verdict {
            action: VerdictAction::Redirect,
            port: 300
        }),
        "bit<9> port 300 crosses the control plane intact"
    );
    assert_eq!(
        fwd.data[..6],
        [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f],
        "bit<48> mac"
    );
    assert_eq!(fwd.data[6..], packet[6..]);

    // The exact fields are part of the match: another TTL or protocol misses.
    let miss = m.run(&ipv4(6, 63, [10, 1, 2, 3])).unwrap();
    assert_eq!(
        miss.verdict.unwrap().action,
        VerdictAction::Pass,
        "default allow"
    );
    assert_eq!(
        m.run(&ipv4(17, 1, [1, 2, 3, 4])).unwrap().retval,
        1,
        "udp ttl 1: any dst"
    );
    assert_eq!(
        m.run(&ipv4(17, 2, [1, 2, 3, 4])).unwrap().retval,
        2,
        "udp ttl 2: allow"
    );

    assert_eq!(m.counter("hits", 1).unwrap(), (1, 60));
    assert_eq!(m.counter("C.hits", DENY).unwrap(), (2, 120));
    assert_eq!(m.counter("hits", ALLOW).unwrap(), (2, 120));
    assert_eq!(
        m.register_read("seen", 0).unwrap(),
        ip([1, 2, 3, 4]),
        "last dst"
    );
    assert_eq!(m.entries("acl").unwrap().len(), 3);
}

#[test]
fn multi_field_exact_keys_and_defaults_match_as_compiled() {
    require_kernel!();
    let m = Module::load(&compile()).unwrap();
    let src = 0x0200_0000_0001; // frame()'s source MAC
    m.add_entry(
        "macs",
        &[Match::Exact(src), Match::Exact(0x88b5)],
        "deny",
        &[],
    )
    .unwrap();
    assert_eq!(
        m.run(&frame(0x88b5, [0; 4], 60)).unwrap().retval,
        1,
        "hit: deny"
    );
    assert_eq!(
        m.run(&frame(0x88b6, [0; 4], 60)).unwrap().retval,
        2,
        "miss: allow"
    );
    m.set_default("macs", "fwd", &[511, MAC]).unwrap();
    let run = m.run(&frame(0x88b6, [0; 4], 60)).unwrap();
    assert_eq!(run.verdict.unwrap().port, 511);
    assert_eq!(run.data[..6], [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
}

#[test]
fn registers_written_by_the_control_plane_are_read_by_the_program() {
    require_kernel!();
    let m = Module::load(&compile()).unwrap();
    assert_eq!(m.run(&ipv4(6, 64, [1, 1, 1, 1])).unwrap().retval, 2);
    m.register_write("seen", 1, 0xdead_beef).unwrap();
    let run = m.run(&ipv4(6, 64, [1, 1, 1, 1])).unwrap();
    assert_eq!(run.retval, 1, "the program saw the register and dropped");
}

#[test]
fn tc_programs_load_and_run() {
    let text = PROGRAM.replace(
        "xdp(P(), C(), D()) main;",
        "tc_ingress(P(), C(), D()) main;",
    );
    let object = compile_text(&text);
    let manifest = iov_runtime::read_manifest(&object).unwrap();
    // `classifier` is the section name aya and libbpf both load as a TC program.
    assert_eq!(manifest.section, "classifier");
    require_kernel!();
    let m = Module::load(&object).unwrap();
    m.add_entry(
        "macs",
        &[Match::Exact(0x0200_0000_0001), Match::Exact(0x88b5)],
        "deny",
        &[],
    )
    .unwrap();
    let run = m.run(&frame(0x88b5, [0; 4], 60)).unwrap();
    assert_eq!(run.verdict.unwrap().action, VerdictAction::Drop);
    assert_eq!(m.counter("hits", DENY).unwrap(), (1, 60));
}
