//! Frames decoded header by header, as the program's own parser reads them, for people.
//!
//! Takes: a checked program and a frame's bytes (with, for an expected frame, which nibbles
//! the test wrote and which it left as `*`).
//! Gives: the headers the parser would extract, in order, each with its fields named and
//! valued from the program's header types, and the bytes after them; and, for an expected
//! and an actual frame, the fields that differ. The walk follows `extract`, constant
//! `advance` and `select` on extracted fields (values, masks, ranges, tuples, `default`) from
//! `start`; a construct it does not follow (a `lookahead`, a select on anything else, a
//! header stack) ends the walk there, and what is left is shown as bytes. It is a display
//! aid for `iov test`: the kernel's run decides what passes, this never does.

use iov_sema::types::Ty;
use iov_sema::Checked;
use iov_sema::Value;
use iov_syntax::ast::{self, ExprKind, Keyset, Stmt, Transition};
use std::collections::HashMap;

/// One field as read: its name, width and value, and whether every bit of it was given (an
/// expected frame's `*` nibbles leave bits open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub bits: u32,
    pub value: u128,
    pub known: bool,
}

/// A header the parser extracted: the expression it was extracted into (`hdr.ipv4`), at
/// which byte, and its fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub path: String,
    pub offset: usize,
    pub fields: Vec<Field>,
}

/// A frame as the program's parser sees it: the headers in the order it extracts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub headers: Vec<Header>,
}

/// Most states a walk visits: a parser loop the walk cannot bound stops here.
const MAX_STEPS: usize = 64;

/// Bits of a frame with, beside each byte, the mask of the bits the writer gave.
struct Bits<'f> {
    data: &'f [u8],
    given: &'f [u8],
}

impl Bits<'_> {
    /// `bits` bits from bit `at`, big-endian, and whether all were given; `None` past the end.
    fn read(&self, at: usize, bits: u32) -> Option<(u128, bool)> {
        if bits > 128 || at + bits as usize > self.data.len() * 8 {
            return None;
        }
        let (mut v, mut known) = (0u128, true);
        for i in at..at + bits as usize {
            let bit = |b: &[u8]| (b[i / 8] >> (7 - i % 8)) & 1;
            v = (v << 1) | u128::from(bit(self.data));
            known &= bit(self.given) == 1;
        }
        Some((v, known))
    }
}

fn path(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.name.clone()),
        ExprKind::Member(b, m) => Some(format!("{}.{}", path(b)?, m.name)),
        _ => None,
    }
}

fn width(ty: &Ty) -> Option<u32> {
    match ty {
        Ty::Bit(w) | Ty::Int(w) => Some(*w),
        Ty::Bool => Some(1),
        _ => None,
    }
}

struct Walk<'c> {
    checked: &'c Checked,
    /// Field values read so far, by path (`hdr.eth.ether_type`).
    values: HashMap<String, u128>,
}

impl Walk<'_> {
    /// The constant value of `e`: as the checker computed it, a literal, or a named constant.
    fn constant(&self, e: &ast::Expr) -> Option<u128> {
        let p = &self.checked.program;
        let v = p.const_values.get(&e.span).cloned().or_else(|| {
            let decl = p.references.iter().find(|(at, _)| *at == e.span)?.1;
            p.consts.iter().find(|c| c.span == decl)?.value.clone()
        });
        match (v, &e.kind) {
            (Some(Value::Int(v)), _) => Some(v),
            (Some(Value::Bool(b)), _) => Some(u128::from(b)),
            (_, ExprKind::Int(l)) => Some(l.value),
            _ => None,
        }
    }

    fn matches(&self, ks: &Keyset, v: &[u128]) -> Option<bool> {
        match ks {
            Keyset::Default(_) | Keyset::DontCare(_) => Some(true),
            Keyset::Tuple(parts, _) if parts.len() == v.len() => {
                let mut all = true;
                for (k, x) in parts.iter().zip(v) {
                    all &= self.matches(k, std::slice::from_ref(x))?;
                }
                Some(all)
            }
            _ if v.len() != 1 => None,
            Keyset::Value(e) => Some(self.constant(e)? == v[0]),
            Keyset::Mask(a, m, _) => {
                let m = self.constant(m)?;
                Some(self.constant(a)? & m == v[0] & m)
            }
            Keyset::Range(lo, hi, _) => {
                Some((self.constant(lo)?..=self.constant(hi)?).contains(&v[0]))
            }
            Keyset::Tuple(..) => None,
        }
    }

    /// `pkt.extract(e)` of a header of scalar fields: read at `*at`, which moves past it.
    fn extract(&mut self, e: &ast::Expr, bits: &Bits, at: &mut usize) -> Option<Header> {
        let p = &self.checked.program;
        let Some(Ty::Struct(s)) = p.expr_types.get(&e.span) else {
            return None;
        };
        let def = &p.structs[*s];
        let name = path(e)?;
        let start = *at;
        let mut fields = Vec::new();
        for f in &def.fields {
            let w = width(&f.ty)?;
            let (value, known) = bits.read(*at, w)?;
            *at += w as usize;
            self.values.insert(format!("{name}.{}", f.name), value);
            fields.push(Field {
                name: f.name.clone(),
                bits: w,
                value,
                known,
            });
        }
        Some(Header {
            path: name,
            offset: start / 8,
            fields,
        })
    }
}

/// `pkt.extract(x)` or `pkt.advance(n)`: which, and its argument.
fn packet_call(s: &Stmt) -> Option<(&str, &ast::Expr)> {
    let Stmt::Call(e) = s else { return None };
    let ExprKind::Call { callee, args, .. } = &e.kind else {
        return None;
    };
    let ExprKind::Member(_, m) = &callee.kind else {
        return None;
    };
    match (m.name.as_str(), args.as_slice()) {
        (name @ ("extract" | "advance"), [a]) => Some((name, a)),
        _ => None,
    }
}

/// Decodes `data` as the entry's parser reads it; `given` has a byte per byte of `data`, its
/// set bits those the writer gave (all ones for a real frame).
pub fn decode(checked: &Checked, data: &[u8], given: &[u8]) -> Decoded {
    let bits = Bits { data, given };
    let mut walk = Walk {
        checked,
        values: HashMap::new(),
    };
    let mut out = Decoded {
        headers: Vec::new(),
    };
    let p = &checked.program;
    let parser = p.entry.as_ref().and_then(|e| {
        match p
            .modules
            .get(e.parser.module)?
            .ast
            .items
            .get(e.parser.item)?
        {
            ast::Item::Parser(decl) => Some(decl),
            _ => None,
        }
    });
    let Some(parser) = parser else { return out };
    let mut at = 0usize;
    let mut state = "start".to_string();
    for _ in 0..MAX_STEPS {
        let Some(s) = parser.states.iter().find(|s| s.name.name == state) else {
            break;
        };
        for stmt in &s.body {
            match packet_call(stmt) {
                Some(("extract", e)) => match walk.extract(e, &bits, &mut at) {
                    Some(h) => out.headers.push(h),
                    None => return out,
                },
                Some(("advance", n)) => match walk.constant(n) {
                    Some(n) => at += n as usize,
                    None => return out,
                },
                _ => {}
            }
        }
        let next = match &s.transition {
            Some(Transition::Direct(n)) => n.name.clone(),
            Some(Transition::Select { exprs, cases, .. }) => {
                let Some(v) = exprs
                    .iter()
                    .map(|e| path(e).and_then(|p| walk.values.get(&p).copied()))
                    .collect::<Option<Vec<_>>>()
                else {
                    return out;
                };
                let mut chosen = None;
                for c in cases {
                    match walk.matches(&c.keyset, &v) {
                        Some(true) => {
                            chosen = Some(c.state.name.clone());
                            break;
                        }
                        Some(false) => {}
                        None => return out,
                    }
                }
                match chosen {
                    Some(n) => n,
                    None => return out,
                }
            }
            None => return out,
        };
        if next == "accept" || next == "reject" {
            break;
        }
        state = next;
    }
    out
}

fn show(f: &Field) -> String {
    let address = crate::values::show(&f.name, f.bits, f.value);
    if address.contains(':') || address.contains('.') {
        return address;
    }
    if f.bits <= 8 || (f.bits <= 16 && f.value < 1000) {
        f.value.to_string()
    } else {
        format!("0x{:0w$x}", f.value, w = f.bits.div_ceil(4) as usize)
    }
}

/// The frames header by header, `expected` against `actual`: every header with its fields,
/// a field that differs (where the test gave all its bits) marked with both values.
pub fn compare(expected: &Decoded, actual: &Decoded) -> String {
    let mut out = String::new();
    let n = expected.headers.len().max(actual.headers.len());
    for i in 0..n {
        let (e, a) = (expected.headers.get(i), actual.headers.get(i));
        let h = a.or(e).expect("one of them");
        let same_header = matches!((e, a), (Some(e), Some(a)) if e.path == a.path);
        let mut parts = Vec::new();
        for (j, f) in h.fields.iter().enumerate() {
            let other = if same_header {
                e.and_then(|e| e.fields.get(j))
            } else {
                None
            };
            match other {
                Some(x) if x.known && x.value != f.value => {
                    parts.push(format!("{}={} (expected {})", f.name, show(f), show(x)))
                }
                _ => parts.push(format!("{}={}", f.name, show(f))),
            }
        }
        let which = match (e, a) {
            (Some(_), Some(_)) if same_header => "",
            (Some(e), Some(_)) => {
                parts.push(format!("(expected {} here)", e.path));
                ""
            }
            (None, Some(_)) => " (not in the expected frame)",
            (Some(_), None) => " (expected; not in the actual frame)",
            (None, None) => "",
        };
        out.push_str(&format!("      {}{which}: {}\n", h.path, parts.join(" ")));
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = r#"
header eth_t { bit<48> dst; bit<48> src; bit<16> ether_type; }
header vlan_t { bit<3> pcp; bit<1> dei; bit<12> vid; bit<16> ether_type; }
header ip_t { bit<4> version; bit<4> ihl; bit<8> ttl; }
struct h_t { eth_t eth; vlan_t vlan; ip_t ip; }
const bit<16> VLAN = 0x8100;
parser P(packet_in pkt, out h_t hdr) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.ether_type) { VLAN: vlan; 0x0800: ip; default: accept; }
    }
    state vlan {
        pkt.extract(hdr.vlan);
        transition select(hdr.vlan.vid, hdr.vlan.ether_type) {
            (0 .. 9, _): reject;
            (_, 0x0800 &&& 0xffff): ip;
            default: accept;
        }
    }
    state ip { pkt.extract(hdr.ip); transition accept; }
}
control C(inout h_t hdr, inout std_meta_t meta) { apply { } }
deparser D(packet_out pkt, inout h_t hdr) { apply { pkt.emit(hdr.eth); } }
xdp(P(), C(), D()) main;
"#;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn checked() -> Checked {
        let c = iov_sema::check("t.iov", PROGRAM, &mut crate::loader::FsLoader::new(vec![]));
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        c
    }

    #[test]
    fn follows_the_parser_through_selects_tuples_ranges_and_masks() {
        let c = checked();
        let f = hex("0000000000020000000000018100a06408004540ffff");
        let d = decode(&c, &f, &vec![0xff; f.len()]);
        let paths: Vec<&str> = d.headers.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, ["hdr.eth", "hdr.vlan", "hdr.ip"]);
        let ip = &d.headers[2];
        let ip_bits: u32 = ip.fields.iter().map(|f| f.bits).sum();
        assert_eq!(
            (ip.offset, ip_bits),
            (18, 16),
            "two bytes of payload follow"
        );
        let vlan = &d.headers[1];
        assert_eq!(vlan.offset, 14);
        assert_eq!(
            vlan.fields
                .iter()
                .map(|f| (f.name.as_str(), f.value))
                .collect::<Vec<_>>(),
            [("pcp", 5), ("dei", 0), ("vid", 100), ("ether_type", 0x0800)]
        );
        // VLAN 5 is in the range the parser rejects: the walk ends after the tag.
        let low = hex("0000000000020000000000018100000508004540");
        assert_eq!(decode(&c, &low, &vec![0xff; low.len()]).headers.len(), 2);
        // A frame cut inside a header stops before it.
        let cut = hex("0000000000020000000000010800");
        assert_eq!(decode(&c, &cut, &vec![0xff; cut.len()]).headers.len(), 1);
    }

    #[test]
    fn marks_only_fields_that_differ_where_the_test_gave_every_bit() {
        let c = checked();
        let actual = hex("00000000000200000000000108004540");
        let expected = hex("00000000000200000000000108004541");
        let mut given = vec![0xff; expected.len()];
        let e = decode(&c, &expected, &given);
        let a = decode(&c, &actual, &vec![0xff; actual.len()]);
        assert_eq!(
            compare(&e, &a),
            "      hdr.eth: dst=00:00:00:00:00:02 src=00:00:00:00:00:01 ether_type=0x0800\n      hdr.ip: version=4 ihl=5 ttl=64 (expected 65)"
        );
        // The same byte left as `**`: nothing to mark.
        given[15] = 0;
        let e = decode(&c, &expected, &given);
        assert!(!compare(&e, &a).contains("expected"));
    }
}
