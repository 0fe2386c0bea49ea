//! Loading a compiled object into the kernel.
//!
//! Takes: the bytes of an object built by `iov build` (ELF with maps, one program and the
//! manifest section).
//! Gives: a [`Module`]: the aya [`Ebpf`] with its maps created and its program loaded as XDP
//! or TC (SchedClassifier) per the manifest's hook, every map checked against the manifest,
//! every table's default action and `const entries` installed (an array table's by
//! descending priority). The module owns everything;
//! dropping it detaches and unloads the program and frees the maps.

use crate::encode::{call_from_manifest, encode_action, encode_key, match_from_manifest, Match};
use crate::error::{chain, io_cause, is_permission};
use crate::manifest::{check_section, read_manifest};
use crate::slots::{encode_slot_key, make_slot};
use crate::sys::{RawMap, Update};
use crate::Error;
use aya::maps::{Map, MapData, MapType};
use aya::programs::{Program, ProgramError, SchedClassifier, Xdp};
use aya::{Ebpf, EbpfLoader};
use iov_manifest::{Hook, Manifest, MapKind, Table};
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Mutex;

/// A loaded program with its maps and its manifest.
pub struct Module {
    pub(crate) objects: Objects,
    pub(crate) manifest: Manifest,
    /// Where the module lives in bpffs and where it is attached, for a module deployed with
    /// [`Module::deploy`] or reopened with [`Module::open`].
    pub(crate) record: Option<crate::record::Record>,
    /// Key and value sizes of every map the manifest names, as the kernel reports them.
    pub(crate) maps: HashMap<String, MapShape>,
    /// Held by every read-modify-write of a table (array slots shifted, direct counters
    /// kept), so two threads sharing the module never interleave them; it guards what the
    /// writers remember of tuple-space masks.
    pub(crate) writes: Mutex<crate::tuple_table::Writes>,
    /// Kernel ids of the BPF links [`Module::attach`] made and [`Module::detach`] has not
    /// undone: dropping the module detaches them at once (see [`Module::detach`] for why
    /// closing their descriptors is not enough).
    pub(crate) attached: Vec<(u32, aya::programs::links::FdLink)>,
}

impl Drop for Module {
    fn drop(&mut self) {
        for (id, _) in &self.attached {
            crate::attach::detach_link_id(*id);
        }
    }
}

/// The kernel objects of a module.
pub(crate) enum Objects {
    /// Loaded by this process from an object file.
    Loaded(Ebpf),
    /// Reopened from a deployed module's pins.
    Pinned(Box<Pinned>),
}

/// The program and maps of a module reopened from its pins.
pub(crate) struct Pinned {
    pub program: Program,
    pub maps: HashMap<String, MapData>,
}

/// What the kernel says about one map.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MapShape {
    pub key_size: usize,
    pub value_size: usize,
    /// A per-CPU map: lookups return one value (padded to 8 bytes) per possible CPU.
    pub per_cpu: bool,
}

/// What the manifest expects of one map.
struct Expect<'a> {
    name: &'a str,
    ty: MapType,
    key_size: u32,
    /// `None`: any of the sizes the caller accepts (checked separately).
    value_size: Option<u32>,
    max_entries: u32,
}

impl Module {
    /// Loads `object` into the kernel: creates its maps, loads its program, checks the maps
    /// against the manifest and installs default actions and const entries.
    pub fn load(object: &[u8]) -> Result<Module, Error> {
        let module = Module::load_reusing(object, &[])?;
        module.install()?;
        Ok(module)
    }

    /// Loads `object` with the maps named in `reuse` taken from their pins instead of
    /// created (the reload of a deployed module); installs nothing.
    pub(crate) fn load_reusing(
        object: &[u8],
        reuse: &[(String, std::path::PathBuf)],
    ) -> Result<Module, Error> {
        let manifest = read_manifest(object)?;
        check_section(&manifest)?;
        let mut loader = EbpfLoader::new();
        for (name, path) in reuse {
            loader.map_pin_path(name, path.as_path());
        }
        let mut ebpf = loader.load(object).map_err(|e| {
            if io_cause(&e).is_some_and(is_permission) {
                Error::PermissionDenied {
                    doing: "creating the object's maps".into(),
                }
            } else {
                Error::Load(chain(&e))
            }
        })?;
        load_program(&mut ebpf, &manifest)?;
        let maps = check_maps(|name| ebpf.map(name).and_then(map_data), &manifest)?;
        Ok(Module {
            objects: Objects::Loaded(ebpf),
            manifest,
            record: None,
            maps,
            writes: Mutex::default(),
            attached: Vec::new(),
        })
    }

    /// The manifest the object carried.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The underlying aya object (maps and program) of a module this process loaded, for
    /// what this crate does not wrap; `None` for a module reopened from its pins.
    pub fn ebpf(&self) -> Option<&Ebpf> {
        match &self.objects {
            Objects::Loaded(ebpf) => Some(ebpf),
            Objects::Pinned(_) => None,
        }
    }

    /// How many instructions the verifier processed to accept the program.
    pub fn verified_instructions(&self) -> Option<u32> {
        self.program()
            .ok()?
            .info()
            .ok()?
            .verified_instruction_count()
    }

    /// The kernel's id of the program.
    pub fn program_id(&self) -> Option<u32> {
        Some(self.program().ok()?.info().ok()?.id())
    }

    /// The program.
    pub(crate) fn program(&self) -> Result<&Program, Error> {
        let function = &self.manifest.function;
        let found = match &self.objects {
            Objects::Loaded(ebpf) => ebpf.program(function),
            Objects::Pinned(p) => Some(&p.program),
        };
        found.ok_or_else(|| Error::NoProgram {
            function: function.clone(),
            section: self.manifest.section.clone(),
        })
    }

    /// The program, to attach or pin it.
    pub(crate) fn program_mut(&mut self) -> Result<&mut Program, Error> {
        let function = &self.manifest.function;
        let found = match &mut self.objects {
            Objects::Loaded(ebpf) => ebpf.program_mut(function),
            Objects::Pinned(p) => Some(&mut p.program),
        };
        found.ok_or_else(|| Error::NoProgram {
            function: function.clone(),
            section: self.manifest.section.clone(),
        })
    }

    /// The map data of map `name`.
    pub(crate) fn map_data(&self, name: &str) -> Option<&MapData> {
        match &self.objects {
            Objects::Loaded(ebpf) => ebpf.map(name).and_then(map_data),
            Objects::Pinned(p) => p.maps.get(name),
        }
    }

    /// The program's file descriptor.
    pub(crate) fn program_fd(&self) -> Result<BorrowedFd<'_>, Error> {
        let fd = self.program()?.fd().map_err(|e| Error::Load(chain(&e)))?;
        Ok(fd.as_fd())
    }

    /// A map the manifest names, sized as the kernel reported it at load.
    pub(crate) fn map(&self, name: &str) -> Result<RawMap<'_>, Error> {
        let data = self.map_data(name);
        let (Some(data), Some(shape)) = (data, self.maps.get(name)) else {
            return Err(Error::NoMap { map: name.into() });
        };
        let value_size = if shape.per_cpu {
            shape.value_size.next_multiple_of(8) * possible_cpus()?
        } else {
            shape.value_size
        };
        Ok(RawMap {
            fd: data.fd().as_fd(),
            key_size: shape.key_size,
            value_size,
        })
    }

    /// Installs every table's default action and const entries.
    pub(crate) fn install(&self) -> Result<(), Error> {
        for table in &self.manifest.tables {
            self.install_table(table, true)?;
        }
        Ok(())
    }

    /// Writes `table`'s declared default action and, with `entries`, its declared entries.
    pub(crate) fn install_table(&self, table: &Table, entries: bool) -> Result<(), Error> {
        let call = call_from_manifest(&table.default_action)?;
        let value = encode_action(table, &call)?;
        self.map(&table.default_map)?
            .update(&0u32.to_ne_bytes(), &value, Update::Any)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &table.default_map, e))?;
        if !entries || table.entries.is_empty() {
            return Ok(());
        }
        if table.kind == MapKind::Array {
            return self.install_slots(table);
        }
        if table.kind == MapKind::TupleSpace {
            for entry in &table.entries {
                let call = call_from_manifest(&entry.action)?;
                self.ts_insert(table, Some(entry.priority), &entry_keys(entry)?, &call)?;
            }
            return Ok(());
        }
        let map = self.map(&table.map)?;
        for (i, entry) in table.entries.iter().enumerate() {
            let key = encode_key(table, &entry_keys(entry)?)?;
            let mut value = encode_action(table, &call_from_manifest(&entry.action)?)?;
            // A fresh map: the entries take meter cells 1, 2, ... in order.
            give_cell(table, &mut value, i as u32 + 1);
            map.update(&key, &value, Update::Any)
                .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &table.map, e))?;
        }
        Ok(())
    }

    /// Writes the entries of an array table into slots 0, 1, ... by descending priority
    /// (ties in the manifest's order). Nothing runs the program yet, so order of writes
    /// does not matter.
    fn install_slots(&self, table: &Table) -> Result<(), Error> {
        if table.entries.len() > table.size as usize {
            return Err(Error::BadManifest(format!(
                "table `{}` has {} entries but room for {}",
                table.name,
                table.entries.len(),
                table.size
            )));
        }
        let mut entries: Vec<_> = table.entries.iter().collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.priority));
        let map = self.map(&table.map)?;
        for (index, entry) in entries.into_iter().enumerate() {
            if entry.priority == 0 {
                return Err(Error::BadManifest(format!(
                    "an entry of table `{}` has priority 0, which marks an empty slot",
                    table.name
                )));
            }
            let key = encode_slot_key(table, &entry_keys(entry)?)?;
            let mut value = encode_action(table, &call_from_manifest(&entry.action)?)?;
            give_cell(table, &mut value, index as u32 + 1);
            let slot = make_slot(&key, entry.priority, &value);
            map.update(&(index as u32).to_ne_bytes(), &slot, Update::Any)
                .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &table.map, e))?;
        }
        Ok(())
    }
}

/// Writes meter cell `index` into an entry's value, when its table has a direct meter.
fn give_cell(table: &Table, value: &mut [u8], index: u32) {
    if let Some(at) = table.direct_meter.as_ref().map(|d| d.offset as usize) {
        if let Some(slot) = value.get_mut(at..at + 4) {
            slot.copy_from_slice(&index.to_ne_bytes());
        }
    }
}

/// The keys of a manifest entry as typed values.
fn entry_keys(entry: &iov_manifest::Entry) -> Result<Vec<Match>, Error> {
    entry.keys.iter().map(match_from_manifest).collect()
}

/// Where the action id and the widest action's parameters end in a value of `t`.
fn params_end(t: &Table) -> u32 {
    t.actions
        .iter()
        .flat_map(|a| a.params.iter().map(|p| p.offset + p.bytes))
        .fold(4, u32::max)
}

/// Refuses a table whose direct counter does not fit its value or overlaps an action's
/// parameters.
fn check_direct_counter(t: &Table) -> Result<(), Error> {
    let Some(dc) = &t.direct_counter else {
        return Ok(());
    };
    let params_end = params_end(t);
    if dc.offset < params_end || dc.offset + 16 > t.value_size {
        return Err(Error::BadManifest(format!(
            "direct counter `{}` of table `{}` lies at bytes {}..{} of a {}-byte value whose \
             action id and parameters take bytes 0..{params_end}",
            dc.name,
            t.name,
            dc.offset,
            dc.offset + 16,
            t.value_size
        )));
    }
    Ok(())
}

/// Refuses a table whose direct meter is not a meter of the manifest sized for the table,
/// or whose cell index does not fit its value after the action's parameters.
fn check_direct_meter(manifest: &Manifest, t: &Table) -> Result<(), Error> {
    let Some(dm) = &t.direct_meter else {
        return Ok(());
    };
    let params_end = params_end(t);
    let meter = manifest.meters.iter().find(|m| m.name == dm.name);
    let why = match meter {
        None => Some("names no meter of the manifest".to_string()),
        Some(m) if m.table.as_deref() != Some(t.name.as_str()) => {
            Some("is not marked as this table's meter".to_string())
        }
        Some(m) if m.size != t.size + 1 => Some(format!(
            "has {} cells for a table of {} entries (it needs one more than entries)",
            m.size, t.size
        )),
        _ if dm.offset < params_end || dm.offset + 4 > t.value_size => Some(format!(
            "keeps its cell index at bytes {}..{} of a {}-byte value whose action id and \
             parameters take bytes 0..{params_end}",
            dm.offset,
            dm.offset + 4,
            t.value_size
        )),
        _ => None,
    };
    match why {
        Some(why) => Err(Error::BadManifest(format!(
            "direct meter `{}` of table `{}` {why}",
            dm.name, t.name
        ))),
        None => Ok(()),
    }
}

/// Loads the manifest's program into the kernel as the hook's program type.
fn load_program(ebpf: &mut Ebpf, manifest: &Manifest) -> Result<(), Error> {
    let function = &manifest.function;
    let program = ebpf.program_mut(function).ok_or_else(|| Error::NoProgram {
        function: function.clone(),
        section: manifest.section.clone(),
    })?;
    let wrong_type = |e: ProgramError| {
        Error::Load(format!(
            "program `{function}` is not of the type hook {:?} needs: {e}",
            manifest.hook
        ))
    };
    let loaded = match manifest.hook {
        Hook::Xdp => {
            let xdp: &mut Xdp = program.try_into().map_err(wrong_type)?;
            xdp.load()
        }
        Hook::TcIngress | Hook::TcEgress => {
            let tc: &mut SchedClassifier = program.try_into().map_err(wrong_type)?;
            tc.load()
        }
    };
    loaded.map_err(|e| match e {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            if is_permission(&io_error) {
                Error::PermissionDenied {
                    doing: format!("loading program `{function}`"),
                }
            } else {
                Error::Verifier {
                    function: function.clone(),
                    errno: io_error.raw_os_error().unwrap_or_default(),
                    log: verifier_log.to_string(),
                }
            }
        }
        other if io_cause(&other).is_some_and(is_permission) => Error::PermissionDenied {
            doing: format!("loading program `{function}`"),
        },
        other => Error::Load(chain(&other)),
    })
}

/// The map data of the map kinds the manifest uses.
pub(crate) fn map_data(map: &Map) -> Option<&MapData> {
    match map {
        Map::HashMap(d)
        | Map::LruHashMap(d)
        | Map::LpmTrie(d)
        | Map::Array(d)
        | Map::PerCpuArray(d)
        | Map::ProgramArray(d)
        | Map::RingBuf(d)
        | Map::DevMapHash(d) => Some(d),
        _ => None,
    }
}

/// How many CPUs the kernel may run on: the number of values a per-CPU map lookup returns.
pub(crate) fn possible_cpus() -> Result<usize, Error> {
    aya::util::nr_cpus()
        .map_err(|(file, e)| Error::Load(format!("cannot count the possible CPUs ({file}): {e}")))
}

/// Checks every map the manifest names against what the kernel created.
pub(crate) fn check_maps<'m>(
    maps: impl Fn(&str) -> Option<&'m MapData>,
    manifest: &Manifest,
) -> Result<HashMap<String, MapShape>, Error> {
    let mut expected = Vec::new();
    for t in &manifest.tables {
        check_direct_counter(t)?;
        check_direct_meter(manifest, t)?;
        // An array table's map holds slots: the key half (priority and pairs), then the value.
        let (ty, key_size, value_size) = match t.kind {
            MapKind::Hash if t.data_plane.is_some() => (MapType::LruHash, t.key_size, t.value_size),
            MapKind::Hash => (MapType::Hash, t.key_size, t.value_size),
            MapKind::LpmTrie => (MapType::LpmTrie, t.key_size, t.value_size),
            MapKind::Array => (MapType::Array, 4, t.key_size + t.value_size),
            MapKind::TupleSpace => (MapType::Hash, t.key_size, t.value_size),
        };
        if let Some(ts) = &t.tuple_space {
            expected.push(Expect {
                name: &ts.masks_map,
                ty: MapType::Array,
                key_size: 4,
                value_size: Some(2 * t.key_size + 16),
                max_entries: ts.masks + 1,
            });
        }
        expected.push(Expect {
            name: &t.map,
            ty,
            key_size,
            value_size: Some(value_size),
            max_entries: t.size,
        });
        expected.push(Expect {
            name: &t.default_map,
            ty: MapType::Array,
            key_size: 4,
            value_size: Some(t.value_size),
            max_entries: 1,
        });
    }
    for c in &manifest.counters {
        expected.push(Expect {
            name: &c.map,
            ty: MapType::PerCpuArray,
            key_size: 4,
            value_size: Some(16),
            max_entries: c.size,
        });
    }
    for r in &manifest.registers {
        expected.push(Expect {
            name: &r.map,
            ty: MapType::Array,
            key_size: 4,
            value_size: None,
            max_entries: r.size,
        });
    }
    for d in &manifest.digests {
        expected.push(Expect {
            name: &d.map,
            ty: MapType::RingBuf,
            key_size: 0,
            value_size: Some(0),
            max_entries: d.ring_bytes,
        });
        expected.push(Expect {
            name: &d.drops_map,
            ty: MapType::PerCpuArray,
            key_size: 4,
            value_size: Some(8),
            max_entries: 1,
        });
    }
    for m in &manifest.meters {
        expected.push(Expect {
            name: &m.map,
            ty: MapType::Array,
            key_size: 4,
            value_size: Some(iov_manifest::meter::SIZE as u32),
            max_entries: m.size,
        });
    }
    for g in &manifest.groups {
        expected.push(match g.kind {
            iov_manifest::GroupKind::Devmap => Expect {
                name: &g.map,
                ty: MapType::DevMapHash,
                key_size: 4,
                value_size: Some(8),
                max_entries: g.size,
            },
            iov_manifest::GroupKind::PortList => Expect {
                name: &g.map,
                ty: MapType::Hash,
                key_size: 4,
                value_size: Some(4 + 4 * g.size),
                max_entries: 1,
            },
        });
    }
    if let Some(c) = &manifest.clock_map {
        expected.push(Expect {
            name: c,
            ty: MapType::Array,
            key_size: 4,
            value_size: Some(8),
            max_entries: 1,
        });
    }
    if let Some(v) = &manifest.verdict_map {
        expected.push(Expect {
            name: v,
            ty: MapType::Array,
            key_size: 4,
            value_size: Some(iov_manifest::verdict::SIZE as u32),
            max_entries: 1,
        });
    }
    if let Some(c) = &manifest.chain {
        expected.push(Expect {
            name: &c.next,
            ty: MapType::ProgramArray,
            key_size: 4,
            value_size: Some(4),
            max_entries: 1,
        });
        expected.push(Expect {
            name: &c.packets,
            ty: MapType::PerCpuArray,
            key_size: 4,
            value_size: Some(8),
            max_entries: 1,
        });
        if let Some(k) = &c.classes {
            expected.push(Expect {
                name: &k.map,
                ty: MapType::ProgramArray,
                key_size: 4,
                value_size: Some(4),
                max_entries: k.slots,
            });
        }
    }
    let mut shapes = HashMap::new();
    for e in expected {
        let data = maps(e.name).ok_or_else(|| Error::NoMap { map: e.name.into() })?;
        let mismatch = |what, expected: String, found: String| Error::MapMismatch {
            map: e.name.into(),
            what,
            expected,
            found,
        };
        let info = data.info().map_err(|err| Error::Load(chain(&err)))?;
        let ty = info.map_type().map_err(|err| Error::Load(chain(&err)))?;
        if ty != e.ty {
            return Err(mismatch(
                "the type",
                format!("{:?}", e.ty),
                format!("{ty:?}"),
            ));
        }
        if info.key_size() != e.key_size {
            let (want, got) = (e.key_size.to_string(), info.key_size().to_string());
            return Err(mismatch("the key size", want, got));
        }
        let value_ok = match e.value_size {
            Some(size) => info.value_size() == size,
            None => matches!(info.value_size(), 8 | 16),
        };
        if !value_ok {
            let want = e.value_size.map_or("8 or 16".into(), |s| s.to_string());
            return Err(mismatch(
                "the value size",
                want,
                info.value_size().to_string(),
            ));
        }
        if info.max_entries() != e.max_entries {
            let (want, got) = (e.max_entries.to_string(), info.max_entries().to_string());
            return Err(mismatch("the number of entries", want, got));
        }
        shapes.insert(
            e.name.to_string(),
            MapShape {
                key_size: info.key_size() as usize,
                value_size: info.value_size() as usize,
                per_cpu: ty == MapType::PerCpuArray,
            },
        );
    }
    Ok(shapes)
}
