//! Multicast groups: the ports `multicast(g)` and `flood(g)` send copies out of.
//!
//! Takes: a module, a group's name (whole, or its last part), ports by interface index.
//! Gives: the group's members, and members added or removed all or nothing: a request that
//! names a port twice, a port already in (or, to remove, not in) the group, port 0, or more
//! ports than the group holds changes nothing and says why. An XDP group is a devmap, whose
//! entries the kernel resolves to devices when they are written, in the network namespace of
//! the writer: a module attached in another namespace has its group written from there (the
//! namespace of its first attachment), and a port that is no interface there is refused.

use crate::control::by_name;
use crate::error::list;
use crate::sys::{RawMap, Update};
use crate::{Error, Module};
use iov_manifest::{Group, GroupKind};

impl Module {
    /// The group named `name`.
    pub fn group(&self, name: &str) -> Result<&Group, Error> {
        by_name(&self.manifest.groups, name, |g| &g.name).ok_or_else(|| Error::UnknownExtern {
            kind: "multicast group",
            name: name.into(),
            known: list(self.manifest.groups.iter().map(|g| g.name.as_str())),
        })
    }

    /// The ports of group `name`, ascending.
    pub fn group_ports(&self, name: &str) -> Result<Vec<u32>, Error> {
        let g = self.group(name)?;
        let map = self.map(&g.map)?;
        let mut ports = read_ports(&map, g)?;
        ports.sort_unstable();
        Ok(ports)
    }

    /// Adds `ports` to group `name`: all of them, or none.
    pub fn group_add(&self, name: &str, ports: &[u32]) -> Result<(), Error> {
        let g = self.group(name)?;
        let map = self.map(&g.map)?;
        let now = read_ports(&map, g)?;
        let refuse = |why: String| {
            Err(Error::GroupRefused {
                group: g.name.clone(),
                why,
            })
        };
        for (i, p) in ports.iter().enumerate() {
            if *p == 0 {
                return refuse("port 0 is no interface".into());
            }
            if ports[..i].contains(p) {
                return refuse(format!("port {p} is named twice"));
            }
            if now.contains(p) {
                return refuse(format!("port {p} is in the group already"));
            }
        }
        if now.len() + ports.len() > g.size as usize {
            return refuse(format!(
                "it holds at most {} ports; it has {} and {} more would make {}",
                g.size,
                now.len(),
                ports.len(),
                now.len() + ports.len()
            ));
        }
        match g.kind {
            GroupKind::PortList => {
                let mut all = now;
                all.extend_from_slice(ports);
                write_list(&map, g, &all)
            }
            GroupKind::Devmap => self.in_module_netns(|| {
                for (i, p) in ports.iter().enumerate() {
                    // `struct bpf_devmap_val`: the device, and no program (fd 0).
                    let mut val = [0u8; 8];
                    val[..4].copy_from_slice(&p.to_ne_bytes());
                    if let Err(e) = map.update(&p.to_ne_bytes(), &val, Update::Any) {
                        // Undo what this request added: the group is as it was.
                        for q in &ports[..i] {
                            let _ = map.delete(&q.to_ne_bytes());
                        }
                        return Err(match e.raw_os_error() {
                            Some(libc::ENODEV) | Some(libc::EINVAL) => Error::GroupRefused {
                                group: g.name.clone(),
                                why: format!(
                                    "port {p} is no interface in the module's network namespace \
                                     (see `ip -n NS link`); an XDP group holds devices"
                                ),
                            },
                            _ => Error::syscall("BPF_MAP_UPDATE_ELEM", &g.map, e),
                        });
                    }
                }
                Ok(())
            }),
        }
    }

    /// Removes `ports` from group `name`: all of them, or none.
    pub fn group_del(&self, name: &str, ports: &[u32]) -> Result<(), Error> {
        let g = self.group(name)?;
        let map = self.map(&g.map)?;
        let now = read_ports(&map, g)?;
        for (i, p) in ports.iter().enumerate() {
            let why = if ports[..i].contains(p) {
                format!("port {p} is named twice")
            } else if !now.contains(p) {
                format!("port {p} is not in the group")
            } else {
                continue;
            };
            return Err(Error::GroupRefused {
                group: g.name.clone(),
                why,
            });
        }
        match g.kind {
            GroupKind::PortList => {
                let rest: Vec<u32> = now.into_iter().filter(|p| !ports.contains(p)).collect();
                write_list(&map, g, &rest)
            }
            GroupKind::Devmap => {
                for p in ports {
                    map.delete(&p.to_ne_bytes())
                        .map_err(|e| Error::syscall("BPF_MAP_DELETE_ELEM", &g.map, e))?;
                }
                Ok(())
            }
        }
    }

    /// Runs `f` in the network namespace the module is attached in (its first attachment's).
    fn in_module_netns<T>(&self, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        let ns = self
            .record()
            .and_then(|r| r.attachments.first())
            .and_then(|a| a.netns.clone());
        crate::netns::within(ns.as_deref(), f)
    }
}

/// The ports in the group's map, in its order.
fn read_ports(map: &RawMap<'_>, g: &Group) -> Result<Vec<u32>, Error> {
    let word = |b: &[u8], at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    match g.kind {
        GroupKind::Devmap => Ok(map
            .keys()
            .map_err(|e| Error::syscall("BPF_MAP_GET_NEXT_KEY", &g.map, e))?
            .iter()
            .map(|k| word(k, 0))
            .collect()),
        GroupKind::PortList => {
            let Some(v) = map
                .lookup(&0u32.to_ne_bytes())
                .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &g.map, e))?
            else {
                return Ok(Vec::new());
            };
            let count = (word(&v, 0) as usize).min(g.size as usize);
            Ok((0..count).map(|i| word(&v, 4 + 4 * i)).collect())
        }
    }
}

/// Replaces the list in one update: a packet sees the old list or the new one.
fn write_list(map: &RawMap<'_>, g: &Group, ports: &[u32]) -> Result<(), Error> {
    let mut v = vec![0u8; 4 + 4 * g.size as usize];
    v[..4].copy_from_slice(&(ports.len() as u32).to_ne_bytes());
    for (i, p) in ports.iter().enumerate() {
        v[4 + 4 * i..8 + 4 * i].copy_from_slice(&p.to_ne_bytes());
    }
    map.update(&0u32.to_ne_bytes(), &v, Update::Any)
        .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &g.map, e))
}
