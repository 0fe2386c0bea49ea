//! `hash` in the kernel against host implementations written here from the algorithms'
//! definitions: every algorithm over headers of 1 to 37 bytes (jhash's 12-byte blocks and
//! every tail length around them) and over bit strings whose width is not a multiple of 8, on
//! random contents, at XDP and at TC. The published check values are in
//! tests/programs/hash.stf.
//!
//! Needs root (skips with a message otherwise, and fails under CI=true).

mod net;
#[path = "common/rng.rs"]
mod rng;

use iov_manifest::Hook;
use iov_runtime::Module;
use net::privileged;
use rng::Rng;

const SIZES: [usize; 12] = [1, 2, 3, 4, 5, 8, 11, 12, 13, 24, 25, 37];
const ALGOS: [&str; 6] = ["crc16", "crc32", "crc32c", "jhash", "identity", "xor16"];

/// Bit-at-a-time reflected CRC.
fn crc(data: &[u8], poly: u32, init: u32, xor: u32) -> u32 {
    let mut c = init;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 == 1 { (c >> 1) ^ poly } else { c >> 1 };
        }
    }
    c ^ xor
}

fn jhash(k: &[u8]) -> u32 {
    let le = |b: &[u8]| {
        let mut w = [0u8; 4];
        w[..b.len()].copy_from_slice(b);
        u32::from_le_bytes(w)
    };
    let init = 0xdead_beef_u32.wrapping_add(k.len() as u32);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut k = k;
    while k.len() > 12 {
        a = a.wrapping_add(le(&k[0..4]));
        b = b.wrapping_add(le(&k[4..8]));
        c = c.wrapping_add(le(&k[8..12]));
        a = a.wrapping_sub(c) ^ c.rotate_left(4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ a.rotate_left(6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ b.rotate_left(8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c) ^ c.rotate_left(16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ a.rotate_left(19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ b.rotate_left(4);
        b = b.wrapping_add(a);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    let word = |i: usize| le(&k[(4 * i).min(k.len())..(4 * i + 4).min(k.len())]);
    a = a.wrapping_add(word(0));
    b = b.wrapping_add(word(1));
    c = c.wrapping_add(word(2));
    c = (c ^ b).wrapping_sub(b.rotate_left(14));
    a = (a ^ c).wrapping_sub(c.rotate_left(11));
    b = (b ^ a).wrapping_sub(a.rotate_left(25));
    c = (c ^ b).wrapping_sub(b.rotate_left(16));
    a = (a ^ c).wrapping_sub(c.rotate_left(4));
    b = (b ^ a).wrapping_sub(a.rotate_left(14));
    (c ^ b).wrapping_sub(b.rotate_left(24))
}

fn host(algo: &str, data: &[u8]) -> u32 {
    match algo {
        "crc16" => crc(data, 0xa001, 0, 0),
        "crc32" => crc(data, 0xedb8_8320, !0, !0),
        "crc32c" => crc(data, 0x82f6_3b78, !0, !0),
        "jhash" => jhash(data),
        "identity" => data.iter().fold(0u32, |w, b| (w << 8) | u32::from(*b)),
        _ => data.chunks(2).fold(0u32, |w, p| {
            w ^ (u32::from(p[0]) << 8 | u32::from(p.get(1).copied().unwrap_or(0)))
        }),
    }
}

/// A program with one header per size that either hashes each by every algorithm
/// (`per_size`) or hashes bit strings (a 12-bit and a 20-bit slice of the first bytes of the
/// 37-byte header) and lists; results are written big-endian into result headers after the
/// data, and the frame reflected. (Two programs, since one would take the verifier past its
/// million steps: its parser's every early end is a path through all of the control.)
fn program(hook: &str, sizes: &[usize], per_size: bool) -> String {
    let mut headers = String::new();
    let mut members = String::new();
    let mut extracts = String::new();
    let mut body = String::new();
    let mut results = String::new();
    let mut res_members = String::new();
    let mut res_extracts = String::new();
    for &n in sizes {
        headers.push_str(&format!("header d{n}_t {{ {} }}\n", fields(n)));
        members.push_str(&format!("d{n}_t d{n}; "));
        extracts.push_str(&format!("pkt.extract(hdr.d{n}); "));
        if !per_size {
            continue;
        }
        let names: String = ALGOS.iter().map(|a| format!("bit<32> {a}; ")).collect();
        results.push_str(&format!("header r{n}_t {{ {names}}}\n"));
        res_members.push_str(&format!("r{n}_t r{n}; "));
        res_extracts.push_str(&format!("pkt.extract(hdr.r{n}); "));
        for a in ALGOS {
            body.push_str(&format!(
                "hdr.r{n}.{a} = hash(HashAlgorithm.{a}, hdr.d{n});\n"
            ));
        }
    }
    if per_size {
        return text(
            hook,
            &headers,
            &results,
            &members,
            &res_members,
            &extracts,
            &res_extracts,
            &body,
        );
    }
    results.push_str(
        "header s_t { bit<32> crc32; bit<32> jhash; bit<32> xor16; \
         bit<32> list_crc32; bit<32> list_jhash; bit<32> list_crc16; }\n",
    );
    // Lists: a header, 12 bits and a header (bits joined across bytes); 296 bits, wider than
    // any bit string; a 4-bit item alone.
    body.push_str(
        "hdr.s.list_crc32 = hash(HashAlgorithm.crc32, {hdr.d1, hdr.d37.f0[119:108], hdr.d5});\n",
    );
    body.push_str(
        "hdr.s.list_jhash = hash(HashAlgorithm.jhash, {hdr.d37.f0, hdr.d37.f1, hdr.d37.f2});\n",
    );
    body.push_str("hdr.s.list_crc16 = hash(HashAlgorithm.crc16, {hdr.d2.f0[3:0]});\n");
    for (bits, a) in [(12, "crc32"), (20, "jhash"), (12, "xor16")] {
        body.push_str(&format!(
            "hdr.s.{a} = hash(HashAlgorithm.{a}, hdr.d37.f0[119:{}]);\n",
            120 - bits
        ));
    }
    res_members.push_str("s_t s; ");
    res_extracts.push_str("pkt.extract(hdr.s); ");
    text(
        hook,
        &headers,
        &results,
        &members,
        &res_members,
        &extracts,
        &res_extracts,
        &body,
    )
}

#[allow(clippy::too_many_arguments)]
fn text(
    hook: &str,
    headers: &str,
    results: &str,
    members: &str,
    res_members: &str,
    extracts: &str,
    res_extracts: &str,
    body: &str,
) -> String {
    format!(
        "import std.net.*;\n{headers}{results}\
         struct h_t {{ ethernet_t eth; {members}{res_members}}}\n\
         parser P(packet_in pkt, out h_t hdr) {{ state start {{ pkt.extract(hdr.eth); {extracts}\
         {res_extracts}transition accept; }} }}\n\
         control C(inout h_t hdr, inout std_meta_t meta) {{ apply {{\n{body}reflect(); }} }}\n\
         {hook}(P(), C()) main;\n"
    )
}

/// Fields of `n` bytes in all: 120-bit fields, then what is left.
fn fields(n: usize) -> String {
    let mut left = n * 8;
    let mut out = String::new();
    let mut i = 0;
    while left > 0 {
        let w = left.min(120);
        out.push_str(&format!("bit<{w}> f{i}; "));
        left -= w;
        i += 1;
    }
    out
}

fn build(text: &str, hook: Hook) -> Vec<u8> {
    let text = text.to_string();
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let checked =
                iov_sema::check("hash.iov", &text, &mut iov::loader::FsLoader::new(vec![]));
            assert!(
                !checked.has_errors(),
                "the generated program checks clean:\n{text}"
            );
            let opts = iov_codegen::Options {
                hook: Some(hook),
                test_build: true,
                ..Default::default()
            };
            match iov_codegen::build(&checked, "hash", &opts) {
                Ok(o) => o.object,
                Err(_) => panic!("the generated program builds:\n{text}"),
            }
        })
        .unwrap()
        .join()
        .unwrap()
}

/// Bits joined most significant first, then filled to a whole byte with zeros.
#[derive(Default)]
struct Bits(Vec<bool>);

impl Bits {
    fn push(&mut self, v: u128, width: u32) {
        self.0.extend((0..width).rev().map(|i| v >> i & 1 == 1));
    }
    fn bytes(&mut self, b: &[u8]) {
        for x in b {
            self.push(u128::from(*x), 8);
        }
    }
    fn done(mut self) -> Vec<u8> {
        while self.0.len() % 8 != 0 {
            self.0.push(false);
        }
        self.0
            .chunks(8)
            .map(|c| c.iter().fold(0u8, |b, bit| b << 1 | u8::from(*bit)))
            .collect()
    }
}

#[test]
fn every_algorithm_matches_its_host_implementation_at_both_hooks() {
    if !privileged() {
        return;
    }
    let mut rng = Rng(0x5eed_0f4a_5400);
    for (hook, entry) in [(Hook::Xdp, "xdp"), (Hook::TcIngress, "tc_ingress")] {
        for (sizes, per_size) in [(&SIZES[..], true), (&[1, 2, 5, 37][..], false)] {
            let module =
                Module::load(&build(&program(entry, sizes, per_size), hook)).expect("loads");
            for round in 0..64 {
                run_round(&module, &mut rng, round, sizes, per_size, hook);
            }
        }
    }
}

/// One frame of zeros (round 0), ones (round 1) or random bytes through `module`.
fn run_round(
    module: &Module,
    rng: &mut Rng,
    round: u32,
    sizes: &[usize],
    per_size: bool,
    hook: Hook,
) {
    let mut frame = vec![0xff; 6];
    frame.extend([0, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    let mut datas = Vec::new();
    for &n in sizes {
        let d: Vec<u8> = (0..n)
            .map(|_| match round {
                0 => 0,
                1 => 0xff,
                _ => rng.next() as u8,
            })
            .collect();
        frame.extend(&d);
        datas.push(d);
    }
    let results_at = frame.len();
    let count = if per_size {
        sizes.len() * ALGOS.len()
    } else {
        6
    };
    frame.resize(results_at + 4 * count, 0);
    let out = module.run(&frame).expect("runs");
    // Reflected, not dropped: the results were written where the frame goes back out.
    let dropped = if hook == Hook::Xdp { 1 } else { 2 };
    assert_ne!(out.retval, dropped, "the frame was dropped at {hook:?}");
    let got =
        |i: usize| u32::from_be_bytes(out.data[results_at + 4 * i..][..4].try_into().unwrap());
    if per_size {
        let mut i = 0;
        for (n, d) in sizes.iter().zip(&datas) {
            for a in ALGOS {
                assert_eq!(
                    got(i),
                    host(a, d),
                    "{a} of {n} bytes {d:02x?} at {hook:?}, round {round}"
                );
                i += 1;
            }
        }
        return;
    }
    // Bit strings: the first 12 or 20 bits of the 37-byte header, filled to whole bytes with
    // zero bits.
    let d = |n: usize| &datas[sizes.iter().position(|s| *s == n).unwrap()];
    let d37 = d(37);
    let top = u32::from_be_bytes(d37[..4].try_into().unwrap());
    let s12 = (top >> 20) << 4;
    let s20 = (top >> 12) << 4;
    let be = |v: u32, n: usize| v.to_be_bytes()[4 - n..].to_vec();
    assert_eq!(
        got(0),
        host("crc32", &be(s12, 2)),
        "crc32 of 12 bits at {hook:?}"
    );
    assert_eq!(
        got(1),
        host("jhash", &be(s20, 3)),
        "jhash of 20 bits at {hook:?}"
    );
    assert_eq!(
        got(2),
        host("xor16", &be(s12, 2)),
        "xor16 of 12 bits at {hook:?}"
    );
    // Lists, joined bit by bit.
    let mut bits = Bits::default();
    bits.bytes(d(1));
    bits.push(u128::from(top >> 20), 12);
    bits.bytes(d(5));
    assert_eq!(
        got(3),
        host("crc32", &bits.done()),
        "crc32 of a list at {hook:?}"
    );
    assert_eq!(
        got(4),
        host("jhash", d37),
        "jhash of a 296-bit list at {hook:?}"
    );
    let mut bits = Bits::default();
    bits.push(u128::from(d(2)[1] & 0xf), 4);
    assert_eq!(
        got(5),
        host("crc16", &bits.done()),
        "crc16 of 4 bits at {hook:?}"
    );
}

#[test]
fn the_host_implementations_give_the_published_check_values() {
    assert_eq!(host("crc16", b"123456789"), 0xbb3d);
    assert_eq!(host("crc32", b"123456789"), 0xcbf4_3926);
    assert_eq!(host("crc32c", b"123456789"), 0xe306_9283);
    assert_eq!(
        host("jhash", b"Four score and seven years ago"),
        0x1777_0551
    );
}
