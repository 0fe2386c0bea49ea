//! The examples `benches/vs_c.rs` compares with C: for each, the C source and program, the
//! table entries written into both programs, the counters that prove a path, and the paths
//! (a frame, the verdict it must get, the counters it must grow by one per run).
//!
//! Takes: nothing (the entries and frames are written out here).
//! Gives: [`examples`], in the order of priority; [`Watch`] reads a counter or
//! register of either program.

use super::kernel::{self, CProgram};
use iov_runtime::{Match, Module};

pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_REDIRECT: u32 = 4;
pub const TC_ACT_OK: u32 = 0;
pub const TC_ACT_SHOT: u32 = 2;

/// The name of a program's return value, for the table.
pub fn verdict_name(tc: bool, retval: u32) -> &'static str {
    match (tc, retval) {
        (false, XDP_DROP) => "DROP",
        (false, XDP_PASS) => "PASS",
        (false, XDP_REDIRECT) => "REDIRECT",
        (true, TC_ACT_OK) => "TC_OK",
        (true, TC_ACT_SHOT) => "TC_SHOT",
        _ => "other",
    }
}

/// What the iov side of a [`Watch`] is.
#[derive(Clone, Copy)]
pub enum IovSide {
    /// A counter's packets (`Module::counter`).
    Counter(&'static str),
    /// A 64-bit register (`Module::register_read`).
    Register(&'static str),
}

/// One count both programs keep: the iov counter or register, and the C map that mirrors it.
pub struct Watch {
    pub iov: IovSide,
    pub index: u32,
    pub c_map: &'static str,
    /// Bytes of the C map's value (a u64 of packets first).
    pub c_value: usize,
    pub c_per_cpu: bool,
}

impl Watch {
    pub fn label(&self) -> String {
        match self.iov {
            IovSide::Counter(n) | IovSide::Register(n) => format!("{n}[{}]", self.index),
        }
    }

    pub fn read_iov(&self, m: &Module) -> u64 {
        match self.iov {
            IovSide::Counter(n) => m.counter(n, self.index).expect("the iov counter").0,
            IovSide::Register(n) => m.register_read(n, self.index).expect("the register") as u64,
        }
    }

    pub fn read_c(&self, p: &CProgram) -> u64 {
        let (stride, cpus) = if self.c_per_cpu {
            (self.c_value.next_multiple_of(8), kernel::possible_cpus())
        } else {
            (self.c_value, 1)
        };
        let v = kernel::lookup(p.map(self.c_map), &self.index.to_ne_bytes(), stride * cpus);
        v.chunks_exact(stride)
            .map(|c| u64::from_ne_bytes(c[..8].try_into().expect("8 bytes")))
            .sum()
    }
}

/// One path through a program.
pub struct PathCase {
    pub name: &'static str,
    pub frame: Vec<u8>,
    /// The return value every run of this path gives.
    pub retval: u32,
    /// Indexes in the example's watches that grow by one per run; the others stay.
    pub grows: &'static [usize],
    /// The most runs one test run may make: the program rewrites the frame, and after this
    /// many runs on its own output the path would change (`u32::MAX`: it never does).
    pub chunk: u32,
}

/// A path whose frame the program does not change in a way that changes the path.
fn path(name: &'static str, frame: Vec<u8>, retval: u32, grows: &'static [usize]) -> PathCase {
    PathCase {
        name,
        frame,
        retval,
        grows,
        chunk: u32::MAX,
    }
}

/// One example compared with its C equivalent.
pub struct Example {
    pub name: &'static str,
    /// The program in `benches/c/NAME.c`.
    pub c_function: &'static str,
    pub tc: bool,
    pub watches: Vec<Watch>,
    pub paths: Vec<PathCase>,
    pub fill_iov: fn(&Module),
    pub fill_c: fn(&CProgram),
}

const fn counter(name: &'static str, index: u32, c_value: usize) -> Watch {
    Watch {
        iov: IovSide::Counter(name),
        index,
        c_map: name,
        c_value,
        c_per_cpu: true,
    }
}

// ---- frames ----

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const FRAME: usize = 64;

fn mac_u128(m: [u8; 6]) -> u128 {
    m.iter().fold(0, |a, b| (a << 8) | u128::from(*b))
}

/// An Ethernet frame of `FRAME` bytes (zero padded) with `payload` after the header.
fn ether(dst: [u8; 6], src: [u8; 6], ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(FRAME);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ether_type.to_be_bytes());
    f.extend_from_slice(payload);
    f.resize(f.len().max(FRAME), 0);
    f
}

/// The internet checksum of `bytes` (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header (20 bytes, checksum valid) carrying `l4` (padded to fill the frame).
fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, ttl: u8, l4: &[u8]) -> Vec<u8> {
    let total = (FRAME - 14) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34, 0x40, 0, ttl, protocol, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

fn udp(src: u16, dst: u16, check: u16) -> Vec<u8> {
    let len = (FRAME - 34) as u16;
    [src, dst, len, check]
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .collect()
}

fn tcp(src: u16, dst: u16, flags: u8) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&src.to_be_bytes());
    t.extend_from_slice(&dst.to_be_bytes());
    t.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0x12, 0x34, 0, 0,
    ]);
    t
}

fn ip_frame(dst: [u8; 4], ttl: u8) -> Vec<u8> {
    let l4 = udp(1234, 5678, 0xbeef);
    ether(
        MAC_B,
        MAC_A,
        0x0800,
        &ipv4([192, 168, 1, 1], dst, 17, ttl, &l4),
    )
}

fn arp_frame() -> Vec<u8> {
    ether([0xff; 6], MAC_A, 0x0806, &[0, 1, 8, 0, 6, 4, 0, 1])
}

// ---- router ----

const ROUTER_PORT: u32 = 3;
const NEXT_HOP: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];

fn router_iov(m: &Module) {
    let keys = [Match::Prefix {
        value: 0x0a00_0000,
        len: 8,
    }];
    let args = [mac_u128(NEXT_HOP), mac_u128(ROUTER_MAC), ROUTER_PORT.into()];
    m.add_entry("routes", &keys, "forward", &args)
        .expect("a route");
}

fn router_c(p: &CProgram) {
    let mut key = 8u32.to_ne_bytes().to_vec();
    key.extend_from_slice(&[10, 0, 0, 0]);
    let mut value = 1u32.to_ne_bytes().to_vec(); // ROUTE_FORWARD
    value.extend_from_slice(&ROUTER_PORT.to_ne_bytes());
    value.extend_from_slice(&NEXT_HOP);
    value.extend_from_slice(&ROUTER_MAC);
    kernel::update(p.map("routes"), &key, &value);
}

fn router() -> Example {
    let mut truncated = ether(MAC_B, MAC_A, 0x0800, &[0x45, 0, 0, 50]);
    truncated.truncate(30);
    Example {
        name: "router",
        c_function: "xdp_router",
        tc: false,
        watches: vec![counter("port_stats", ROUTER_PORT, 16)],
        paths: vec![
            PathCase {
                name: "hit (forward)",
                // TTL 255: 254 runs on the program's own output stay on this path.
                frame: ip_frame([10, 1, 2, 3], 255),
                retval: XDP_REDIRECT,
                grows: &[0],
                chunk: 250,
            },
            path("miss (drop)", ip_frame([192, 168, 9, 9], 64), XDP_DROP, &[]),
            path("ttl 1 (drop)", ip_frame([10, 1, 2, 3], 1), XDP_DROP, &[]),
            path("non-IP (pass)", arp_frame(), XDP_PASS, &[]),
            path("short IPv4 (drop)", truncated, XDP_DROP, &[]),
        ],
        fill_iov: router_iov,
        fill_c: router_c,
    }
}

// ---- l2_switch ----

const SWITCH_PORT: u32 = 3;
/// The ingress ifindex of a test run that names no interface: the loopback.
const TEST_RUN_IFINDEX: u32 = 1;

fn switch_iov(m: &Module) {
    m.add_entry(
        "mac_table",
        &[Match::Exact(mac_u128(MAC_B))],
        "forward",
        &[SWITCH_PORT.into()],
    )
    .expect("a MAC entry");
}

fn switch_c(p: &CProgram) {
    let mut value = 1u32.to_ne_bytes().to_vec(); // MAC_FORWARD
    value.extend_from_slice(&SWITCH_PORT.to_ne_bytes());
    kernel::update(p.map("mac_table"), &MAC_B, &value);
}

fn l2_switch() -> Example {
    let payload = [0u8; 8];
    Example {
        name: "l2_switch",
        c_function: "xdp_l2_switch",
        tc: false,
        watches: vec![
            counter("rx_stats", TEST_RUN_IFINDEX, 16),
            counter("tx_stats", SWITCH_PORT, 16),
        ],
        paths: vec![
            path(
                "hit (forward)",
                ether(MAC_B, MAC_A, 0x88b5, &payload),
                XDP_REDIRECT,
                &[0, 1],
            ),
            path(
                "miss (pass)",
                ether([0x02, 0, 0, 0, 0, 0x77], MAC_A, 0x88b5, &payload),
                XDP_PASS,
                &[0],
            ),
            path(
                "broadcast (pass)",
                ether([0xff; 6], MAC_A, 0x88b5, &payload),
                XDP_PASS,
                &[0],
            ),
            path(
                "group source (drop)",
                ether(MAC_B, [0x03, 0, 0, 0, 0, 1], 0x88b5, &payload),
                XDP_DROP,
                &[0],
            ),
        ],
        fill_iov: switch_iov,
        fill_c: switch_c,
    }
}

// ---- firewall ----

fn firewall_iov(_: &Module) {
    // The only entry is the program's `const entries`, installed at load.
}

fn firewall_c(p: &CProgram) {
    // (10.0.0.0 &&& 255.0.0.0, _, TCP, 22..22): deny, the iov program's const entry.
    let mut rule = 1u32.to_ne_bytes().to_vec(); // priority
    rule.extend_from_slice(&[10, 0, 0, 0, 255, 0, 0, 0]); // src, src_mask
    rule.extend_from_slice(&[0; 8]); // dst, dst_mask
    rule.extend_from_slice(&22u16.to_ne_bytes());
    rule.extend_from_slice(&22u16.to_ne_bytes());
    rule.extend_from_slice(&[6, 0, 0, 0]); // protocol, pad
    rule.extend_from_slice(&2u32.to_ne_bytes()); // ACL_DENY
    kernel::update(p.map("acl"), &0u32.to_ne_bytes(), &rule);
}

fn firewall() -> Example {
    let syn22 = tcp(40000, 22, 0x02);
    let ack80 = tcp(40000, 80, 0x10);
    Example {
        name: "firewall",
        c_function: "xdp_firewall",
        tc: false,
        watches: vec![
            counter("verdicts", 0, 8),
            counter("verdicts", 1, 8),
            Watch {
                iov: IovSide::Register("syn_seen"),
                index: 0,
                c_map: "syn_seen",
                c_value: 8,
                c_per_cpu: false,
            },
        ],
        paths: vec![
            path(
                "hit (deny SYN)",
                ether(
                    MAC_B,
                    MAC_A,
                    0x0800,
                    &ipv4([10, 1, 2, 3], [192, 168, 0, 1], 6, 64, &syn22),
                ),
                XDP_DROP,
                &[1, 2],
            ),
            path(
                "miss (allow)",
                ether(
                    MAC_B,
                    MAC_A,
                    0x0800,
                    &ipv4([192, 168, 1, 1], [192, 168, 0, 1], 6, 64, &ack80),
                ),
                XDP_PASS,
                &[0],
            ),
            path("non-IP (pass)", arp_frame(), XDP_PASS, &[]),
        ],
        fill_iov: firewall_iov,
        fill_c: firewall_c,
    }
}

// ---- vlan_filter ----

fn vlan_iov(m: &Module) {
    // Priority 1: VID 4095, the program's own entry (installed at load).
    m.add_entry_with_priority(
        "blocked_vids",
        2,
        &[Match::Ternary {
            value: 0x0c0,
            mask: 0xff0,
        }],
        "block",
        &[],
    )
    .expect("a VID range");
}

fn vlan_c(p: &CProgram) {
    // Slots by descending priority, as the iov runtime keeps them.
    for (slot, (prio, vid, mask)) in [(2u32, 0x0c0u16, 0xff0u16), (1, 0xfff, 0xfff)]
        .into_iter()
        .enumerate()
    {
        let mut rule = prio.to_ne_bytes().to_vec();
        rule.extend_from_slice(&vid.to_ne_bytes());
        rule.extend_from_slice(&mask.to_ne_bytes());
        rule.extend_from_slice(&1u32.to_ne_bytes()); // VID_BLOCK
        kernel::update(p.map("blocked_vids"), &(slot as u32).to_ne_bytes(), &rule);
    }
}

/// A frame with `tags` (TPID, TCI) before ether type 0x88b5.
fn tagged(tags: &[(u16, u16)]) -> Vec<u8> {
    let (first, rest) = tags.split_first().expect("a tag");
    let mut payload = Vec::new();
    payload.extend_from_slice(&first.1.to_be_bytes());
    for (tpid, tci) in rest {
        payload.extend_from_slice(&tpid.to_be_bytes());
        payload.extend_from_slice(&tci.to_be_bytes());
    }
    payload.extend_from_slice(&0x88b5u16.to_be_bytes());
    ether(MAC_B, MAC_A, first.0, &payload)
}

fn vlan_filter() -> Example {
    Example {
        name: "vlan_filter",
        c_function: "tc_vlan_filter",
        tc: true,
        watches: vec![
            counter("verdicts", 0, 8),
            counter("verdicts", 1, 8),
            counter("blocked_by_vid", 200, 8),
        ],
        paths: vec![
            path(
                "hit (block VID 200)",
                tagged(&[(0x8100, 200)]),
                TC_ACT_SHOT,
                &[1, 2],
            ),
            path(
                "miss (allow VID 100)",
                tagged(&[(0x8100, 100)]),
                TC_ACT_OK,
                &[0],
            ),
            path(
                "untagged (pass)",
                ether(MAC_B, MAC_A, 0x88b5, &[0; 8]),
                TC_ACT_OK,
                &[0],
            ),
            path(
                "three tags (reject)",
                tagged(&[(0x88a8, 300), (0x8100, 5), (0x8100, 6)]),
                TC_ACT_SHOT,
                &[1],
            ),
        ],
        fill_iov: vlan_iov,
        fill_c: vlan_c,
    }
}

// ---- nat ----

const PUBLIC: [u8; 4] = [203, 0, 113, 7];
const PRIVATE: [u8; 4] = [10, 0, 0, 7];

/// Both directions are mapped, so each run translates the previous run's output back: every
/// run of a repeat is a hit (the counter proves it).
fn nat_iov(m: &Module) {
    for (from, to) in [(PUBLIC, PRIVATE), (PRIVATE, PUBLIC)] {
        let (from, to) = (u32::from_be_bytes(from), u32::from_be_bytes(to));
        m.add_entry(
            "dnat",
            &[Match::Exact(from.into())],
            "translate",
            &[to.into()],
        )
        .expect("a NAT entry");
    }
}

fn nat_c(p: &CProgram) {
    for (from, to) in [(PUBLIC, PRIVATE), (PRIVATE, PUBLIC)] {
        let mut value = 1u32.to_ne_bytes().to_vec(); // NAT_TRANSLATE
        value.extend_from_slice(&to);
        kernel::update(p.map("dnat"), &from, &value);
    }
}

fn nat() -> Example {
    let mut options = ip_frame([192, 168, 9, 9], 64);
    options[14] = 0x46;
    Example {
        name: "nat",
        c_function: "xdp_nat",
        tc: false,
        watches: vec![counter("translated", 0, 8)],
        paths: vec![
            path("hit (translate)", ip_frame(PUBLIC, 64), XDP_PASS, &[0]),
            path("miss (keep)", ip_frame([192, 168, 9, 9], 64), XDP_PASS, &[]),
            path("non-IP (pass)", arp_frame(), XDP_PASS, &[]),
            path("IP options (reject)", options, XDP_DROP, &[]),
        ],
        fill_iov: nat_iov,
        fill_c: nat_c,
    }
}

/// The examples compared, in the order of priority.
pub fn examples() -> Vec<Example> {
    vec![router(), l2_switch(), firewall(), vlan_filter(), nat()]
}
