//! Traffic classes: a chain per class of packets on one interface, chosen by the chain's head.
//!
//! Takes: a chain (its head deployed by [`Chain::create`]), a class's name and what selects
//! it (a VLAN id, a destination prefix, both), and the head object built for the class.
//! Gives: [`Chain::create_class`], and what [`Chain::show`] and [`Chain::delete`] do with
//! classes ([`classes_of`], [`remove_class`]); [`ClassMatch`] is the pure part: the keys
//! and default priority of a class's entry in the head's classifier, and back.
//!
//! A chain's head carries a classifier, the tuple-space table [`CLASS_TABLE`] (VLAN, IP
//! family, destination), and a program array of class chains (manifest `chain.classes`). A
//! class is a second head, attached to no interface, whose record says
//! [`Role::Class`] with its slot in that array; stages join it as they join any chain. The
//! packets of a class go: parent's head, classifier hit `to_class(slot)`, the class's head,
//! its stages; every other packet goes through the parent's own stages. Creating a class
//! fills the slot before the classifier entry that leads to it exists; deleting one takes
//! the entry out before the slot, and an empty slot passes the packet on through the
//! parent's own stages, so no edit drops a packet the chains would not have dropped.

use crate::chain::{self, Chain, Hop};
use crate::deploy::{check_name, deploy_as, Deploy, Deployed};
use crate::record::{self, Role};
use crate::registry::known_modules;
use crate::sys::{RawMap, Update};
use crate::{read_manifest, Entry, Error, Match, Module};
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

/// The classifier of a chain's head (`chain_head.iov`).
pub const CLASS_TABLE: &str = "C.classes";
/// Its action: `to_class(slot)`.
pub const CLASS_ACTION: &str = "to_class";

/// What selects a class: at least one of a VLAN id and a destination prefix; a packet of
/// the class matches every part given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassMatch {
    /// The 802.1Q VLAN id (0 to 4095) of the packet's outer tag.
    pub vlan: Option<u16>,
    /// An IPv4 or IPv6 destination prefix: address and length.
    pub dst: Option<(IpAddr, u8)>,
}

impl ClassMatch {
    /// Why this match cannot be a class, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.vlan.is_none() && self.dst.is_none() {
            return Err(
                "selects no packets in particular; give `--vlan ID`, `--dst PREFIX` \
                        or both"
                    .into(),
            );
        }
        if let Some(v) = self.vlan.filter(|v| *v > 4095) {
            return Err(format!("has VLAN id {v}; VLAN ids are 0 to 4095"));
        }
        if let Some((addr, len)) = self.dst {
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            if u32::from(len) > bits {
                return Err(format!(
                    "has prefix /{len}; an {} prefix is /0 to /{bits}",
                    family_name(addr)
                ));
            }
            let (value, mask) = address_bits(addr, len);
            if value & !mask != 0 {
                return Err(format!(
                    "has prefix {addr}/{len}, with bits set after the first {len}; write the \
                     network's address"
                ));
            }
        }
        Ok(())
    }

    /// The keys of the class's classifier entry: VLAN (`0x1000 | id`, 0 untagged), family
    /// (4 or 6) and destination (an IPv4 one in the low 32 bits), each `_` when not given.
    pub fn keys(&self) -> Vec<Match> {
        let vlan = self
            .vlan
            .map_or(Match::Any, |v| Match::Exact(0x1000 | u128::from(v)));
        let (family, dst) = match self.dst {
            None => (Match::Any, Match::Any),
            Some((addr, len)) => {
                let (value, mask) = address_bits(addr, len);
                let family = if addr.is_ipv4() { 4 } else { 6 };
                (Match::Exact(family), Match::Ternary { value, mask })
            }
        };
        vec![vlan, family, dst]
    }

    /// The priority a class gets unless told: the more specific wins. A VLAN counts more
    /// than any prefix (a class of a VLAN and a prefix beats one of the VLAN alone, which
    /// beats every class of a prefix alone); between prefixes, the longer wins.
    pub fn default_priority(&self) -> u32 {
        let vlan = if self.vlan.is_some() { 256 } else { 0 };
        vlan + self.dst.map_or(0, |(_, len)| 1 + u32::from(len))
    }

    /// The match of a classifier entry read back (`None` when it is not one `keys` gives).
    pub fn from_keys(keys: &[Match]) -> Option<ClassMatch> {
        let [vlan, family, dst] = keys else {
            return None;
        };
        let vlan = match vlan {
            Match::Any => None,
            Match::Ternary { mask: 0, .. } => None,
            Match::Exact(v) | Match::Ternary { value: v, .. } => Some((*v & 0xfff) as u16),
            _ => return None,
        };
        let family = match family {
            Match::Exact(f) | Match::Ternary { value: f, .. } => Some(*f),
            _ => None,
        };
        let dst = match (family, dst) {
            (Some(f @ (4 | 6)), Match::Ternary { value, mask }) => {
                let len = mask.count_ones() as u8;
                let addr = if f == 4 {
                    IpAddr::from(std::net::Ipv4Addr::from(*value as u32))
                } else {
                    IpAddr::from(std::net::Ipv6Addr::from(*value))
                };
                Some((addr, len))
            }
            _ => None,
        };
        Some(ClassMatch { vlan, dst })
    }
}

impl std::fmt::Display for ClassMatch {
    /// As the command line takes it: `--vlan 10 --dst 10.0.0.0/8`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(v) = self.vlan {
            parts.push(format!("--vlan {v}"));
        }
        if let Some((a, l)) = self.dst {
            parts.push(format!("--dst {a}/{l}"));
        }
        f.write_str(&parts.join(" "))
    }
}

fn family_name(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// An address as the head's 128-bit destination key holds it, and the mask of its first
/// `len` bits.
fn address_bits(addr: IpAddr, len: u8) -> (u128, u128) {
    let (value, bits) = match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    let len = u32::from(len).min(bits);
    if len == 0 {
        return (value, 0);
    }
    (value, (u128::MAX >> (128 - len)) << (bits - len))
}

/// A class to create.
#[derive(Clone, Debug)]
pub struct ClassSpec<'a> {
    /// The class chain's name (a module name).
    pub name: &'a str,
    /// The chain whose head selects it.
    pub parent: &'a str,
    pub matches: ClassMatch,
    /// Higher wins where classes overlap; [`ClassMatch::default_priority`] when `None`.
    pub priority: Option<u32>,
    pub root: &'a Path,
}

/// One class of a chain as it runs.
#[derive(Clone, Debug)]
pub struct ClassView {
    pub name: String,
    pub slot: u32,
    pub matches: ClassMatch,
    pub priority: u32,
    pub program_id: u32,
    /// Packets the class's head received.
    pub packets: u64,
    pub stages: Vec<Hop>,
}

impl Chain {
    /// Creates class chain `c.name` of chain `c.parent` from `head` (a chain's head built
    /// for the parent's hook): empty, so the class's packets pass to the kernel, until
    /// stages join it (`iov load FILE --chain NAME`). Refused, changing nothing, when the
    /// parent is no chain (or a class), the name is in use, another class has the same
    /// match, or every slot is taken.
    pub fn create_class(head: &[u8], c: &ClassSpec<'_>) -> Result<Deployed, Error> {
        check_name(c.name)?;
        let refuse = |why: String| Error::ChainRefused {
            name: c.name.into(),
            why,
        };
        c.matches
            .check()
            .map_err(|why| refuse(format!("cannot be a class: it {why}")))?;
        let _lock = chain::lock(c.root, c.parent)?;
        let parent_rec = chain::head_record(c.root, c.parent)?;
        if let Some(Role::Class { parent, .. }) = &parent_rec.chain {
            return Err(refuse(format!(
                "cannot be a class of `{}`, itself a class of `{parent}`; make it a class \
                 of `{parent}`",
                c.parent
            )));
        }
        if c.matches.vlan.is_some() && parent_rec.hook != iov_manifest::Hook::Xdp {
            return Err(refuse(format!(
                "cannot select by VLAN at {}: the kernel takes the outer tag off the packet \
                 before TC programs run; select by `--dst`, or make the chain at xdp",
                record::hook_name(parent_rec.hook)
            )));
        }
        let slots = parent_rec
            .manifest
            .chain
            .as_ref()
            .and_then(|m| m.classes.as_ref())
            .map(|m| m.slots)
            .ok_or_else(|| {
                refuse(format!(
                    "cannot be a class of `{}`: its head has no classifier (it was made by an \
                     older iov; delete and create it again)",
                    c.parent
                ))
            })?;
        let manifest = read_manifest(head)?;
        if manifest
            .chain
            .as_ref()
            .and_then(|m| m.classes.as_ref())
            .is_none()
        {
            return Err(refuse(
                "cannot be made from this object: a class's head is a \
                               chain's head, built by this iov"
                    .into(),
            ));
        }
        let parent = Module::open(c.root, c.parent)?;
        let keys = c.matches.keys();
        let taken = members(c.root, c.parent);
        if let Ok(e) = parent.get_entry(CLASS_TABLE, &keys) {
            let holder = e.action.args.first().and_then(|s| {
                taken
                    .iter()
                    .find(|(_, slot)| u128::from(*slot) == *s)
                    .map(|(n, _)| n.clone())
            });
            return Err(refuse(format!(
                "cannot select `{}`: class `{}` of `{}` does already",
                c.matches,
                holder.unwrap_or_else(|| "?".into()),
                c.parent
            )));
        }
        let slot = (0..slots)
            .find(|s| !taken.iter().any(|(_, t)| t == s))
            .ok_or_else(|| {
                refuse(format!(
                    "cannot be a class of `{}`: it has {slots} classes already, the most a \
                     head selects between",
                    c.parent
                ))
            })?;
        let deploy = Deploy {
            name: c.name,
            source: "(class)",
            devices: &[],
            hook: Some(parent_rec.hook),
            mode: crate::ModeChoice::Auto,
            root: c.root,
        };
        let role = Role::Class {
            parent: c.parent.into(),
            slot,
        };
        let deployed = deploy_as(head, &deploy, Some(role))?;
        let priority = c.priority.unwrap_or_else(|| c.matches.default_priority());
        let linked = (|| {
            set_class_slot(&parent, slot, Some(&deployed.module))?;
            parent.add_entry_with_priority(
                CLASS_TABLE,
                priority,
                &keys,
                CLASS_ACTION,
                &[u128::from(slot)],
            )
        })();
        if let Err(e) = linked {
            // No entry leads to the slot: emptying it and removing the class changes
            // nothing a packet sees.
            let _ = set_class_slot(&parent, slot, None);
            let _ = std::fs::remove_dir_all(c.root.join(c.name));
            return Err(e);
        }
        Ok(deployed)
    }
}

impl Module {
    /// Makes this chain head hand the packets its classifier puts in class `slot` to `class`
    /// (`None`: through its own stages again), in this process, without pins: classes of a
    /// head loaded with [`Module::load`] (for test runs and benchmarks; deployed chains are
    /// edited with [`Chain::create_class`]).
    pub fn hand_class_to(&self, slot: u32, class: Option<&Module>) -> Result<(), Error> {
        set_class_slot(self, slot, class)
    }
}

/// The classes of chain `parent` (name and slot), from their records.
pub(crate) fn members(root: &Path, parent: &str) -> Vec<(String, u32)> {
    known_modules(root)
        .into_iter()
        .filter_map(|m| {
            let rec = record::read(&root.join(&m).join("meta")).ok()?;
            match rec.chain {
                Some(Role::Class { parent: p, slot }) if p == parent => Some((m, slot)),
                _ => None,
            }
        })
        .collect()
}

/// The classes of chain `parent` as they run: each with its classifier entry, its packets
/// and its stages, in the order the classifier tries them (highest priority first).
pub(crate) fn classes_of(root: &Path, parent: &str) -> Result<Vec<ClassView>, Error> {
    let classes = members(root, parent);
    if classes.is_empty() {
        return Ok(Vec::new());
    }
    let head = Module::open(root, parent)?;
    let entries: Vec<Entry> = head.entries(CLASS_TABLE)?;
    let mut views = Vec::new();
    for e in entries {
        let Some(slot) = e.action.args.first().map(|s| *s as u32) else {
            continue;
        };
        let Some((name, _)) = classes.iter().find(|(_, s)| *s == slot) else {
            continue;
        };
        let view = Chain::show(root, name)?;
        views.push(ClassView {
            name: name.clone(),
            slot,
            matches: ClassMatch::from_keys(&e.keys).unwrap_or(ClassMatch {
                vlan: None,
                dst: None,
            }),
            priority: e.priority.unwrap_or(0),
            program_id: view.program_id,
            packets: view.packets,
            stages: view.stages,
        });
    }
    Ok(views)
}

/// Takes class `name` (slot `slot`) out of `parent`'s classifier, then out of its slot;
/// its pins and stages are still there afterwards. The caller holds `parent`'s lock.
pub(crate) fn unlink_class(root: &Path, parent: &str, slot: u32) -> Result<(), Error> {
    let head = Module::open(root, parent)?;
    for e in head.entries(CLASS_TABLE)? {
        if e.action.args.first() == Some(&u128::from(slot)) {
            head.delete_entry(CLASS_TABLE, &e.keys)?;
        }
    }
    set_class_slot(&head, slot, None)
}

/// Points slot `slot` of `head`'s class array at `class`'s program (or empties it).
fn set_class_slot(head: &Module, slot: u32, class: Option<&Module>) -> Result<(), Error> {
    let name = head
        .manifest
        .chain
        .as_ref()
        .and_then(|c| c.classes.as_ref())
        .map(|c| c.map.clone())
        .ok_or_else(|| Error::ChainRefused {
            name: head.manifest.program.clone(),
            why: "has no class array".into(),
        })?;
    let map: RawMap<'_> = head.map(&name)?;
    let key = slot.to_ne_bytes();
    match class {
        Some(c) => {
            let fd = c.program_fd()?;
            let value = (fd.as_fd().as_raw_fd() as u32).to_ne_bytes();
            map.update(&key, &value, Update::Any)
                .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &name, e))
        }
        None => map
            .delete(&key)
            .map(drop)
            .map_err(|e| Error::syscall("BPF_MAP_DELETE_ELEM", &name, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(vlan: Option<u16>, dst: Option<(&str, u8)>) -> ClassMatch {
        ClassMatch {
            vlan,
            dst: dst.map(|(a, l)| (a.parse().unwrap(), l)),
        }
    }

    #[test]
    fn keys_round_trip_and_place_ipv4_in_the_low_bits() {
        for c in [
            m(Some(10), None),
            m(None, Some(("10.1.0.0", 16))),
            m(Some(4095), Some(("2001:db8::", 32))),
            m(None, Some(("0.0.0.0", 0))),
        ] {
            assert_eq!(ClassMatch::from_keys(&c.keys()), Some(c), "{c}");
        }
        assert_eq!(
            m(Some(7), Some(("10.1.0.0", 16))).keys(),
            vec![
                Match::Exact(0x1007),
                Match::Exact(4),
                Match::Ternary {
                    value: 0x0a01_0000,
                    mask: 0xffff_0000
                }
            ]
        );
        assert_eq!(m(Some(7), None).keys()[1..], [Match::Any, Match::Any]);
    }

    #[test]
    fn the_more_specific_class_gets_the_higher_priority() {
        let order = [
            m(Some(1), Some(("10.1.0.0", 16))),
            m(Some(1), Some(("10.0.0.0", 8))),
            m(Some(1), None),
            m(None, Some(("10.1.2.0", 24))),
            m(None, Some(("10.0.0.0", 8))),
            m(None, Some(("0.0.0.0", 0))),
        ];
        for w in order.windows(2) {
            assert!(
                w[0].default_priority() > w[1].default_priority(),
                "{} vs {}",
                w[0],
                w[1]
            );
        }
        assert!(order.iter().all(|c| c.default_priority() >= 1));
    }

    #[test]
    fn bad_matches_say_why() {
        let e = |c: ClassMatch| c.check().unwrap_err();
        assert!(e(m(None, None)).contains("give `--vlan ID`"));
        assert_eq!(
            e(m(Some(5000), None)),
            "has VLAN id 5000; VLAN ids are 0 to 4095"
        );
        assert_eq!(
            e(m(None, Some(("10.1.0.0", 33)))),
            "has prefix /33; an IPv4 prefix is /0 to /32"
        );
        assert_eq!(
            e(m(None, Some(("10.1.2.3", 16)))),
            "has prefix 10.1.2.3/16, with bits set after the first 16; write the network's \
             address"
        );
        assert!(m(None, Some(("2001:db8::", 129))).check().is_err());
        assert!(m(Some(0), Some(("::", 0))).check().is_ok());
    }
}
