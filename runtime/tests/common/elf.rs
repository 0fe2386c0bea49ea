//! Writes hand-made BPF objects shaped like the ones `iov build` emits.
//!
//! Takes: a program (section name, function name, code and map relocations), map
//! definitions and a manifest.
//! Gives: ELF bytes with the program section, a `license` section, the maps as legacy
//! `bpf_map_def`s in section `maps` (aya creates maps from these as from BTF `.maps`; this
//! keeps the tests free of hand-written BTF), and the manifest JSON in `.iov.manifest`.

use iov_manifest::Manifest;
use object::write::{Object, Relocation, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};

pub const HASH: u32 = 1;
pub const ARRAY: u32 = 2;
pub const PERCPU_ARRAY: u32 = 6;
pub const LPM_TRIE: u32 = 11;
/// `BPF_F_NO_PREALLOC`, which the kernel requires of LPM tries.
pub const NO_PREALLOC: u32 = 1;

pub struct MapDef {
    pub name: &'static str,
    pub ty: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
}

pub fn map(name: &'static str, ty: u32, key_size: u32, value_size: u32, max: u32) -> MapDef {
    let flags = if ty == LPM_TRIE { NO_PREALLOC } else { 0 };
    MapDef {
        name,
        ty,
        key_size,
        value_size,
        max_entries: max,
        flags,
    }
}

pub struct Program<'a> {
    pub section: &'a str,
    pub function: &'a str,
    pub code: Vec<u8>,
    pub relocs: Vec<(u64, String)>,
}

/// The object bytes. `manifest: None` leaves the manifest section out.
pub fn object(program: &Program<'_>, maps: &[MapDef], manifest: Option<&Manifest>) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);

    let text = obj.add_section(
        Vec::new(),
        program.section.as_bytes().to_vec(),
        SectionKind::Text,
    );
    obj.set_section_data(text, program.code.clone(), 8);
    obj.add_symbol(Symbol {
        name: program.function.as_bytes().to_vec(),
        value: 0,
        size: program.code.len() as u64,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });

    let license = obj.add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
    obj.set_section_data(license, b"GPL\0".to_vec(), 1);

    let mut symbols = std::collections::HashMap::new();
    if !maps.is_empty() {
        let section = obj.add_section(Vec::new(), b"maps".to_vec(), SectionKind::Data);
        let mut data = Vec::new();
        for m in maps {
            let offset = data.len() as u64;
            // struct bpf_map_def { type, key_size, value_size, max_entries, map_flags, id, pinning }
            for word in [m.ty, m.key_size, m.value_size, m.max_entries, m.flags, 0, 0] {
                data.extend_from_slice(&word.to_le_bytes());
            }
            let id = obj.add_symbol(Symbol {
                name: m.name.as_bytes().to_vec(),
                value: offset,
                size: 28,
                kind: SymbolKind::Data,
                scope: SymbolScope::Dynamic,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
            symbols.insert(m.name.to_string(), id);
        }
        obj.set_section_data(section, data, 4);
    }

    for (offset, map) in &program.relocs {
        let symbol = *symbols
            .get(map)
            .unwrap_or_else(|| panic!("no map {map} to relocate"));
        obj.add_relocation(
            text,
            Relocation {
                offset: *offset,
                symbol,
                addend: 0,
                flags: RelocationFlags::Elf {
                    r_type: object::elf::R_BPF_64_64,
                },
            },
        )
        .expect("relocation");
    }

    if let Some(manifest) = manifest {
        let section = obj.add_section(
            Vec::new(),
            iov_manifest::SECTION.as_bytes().to_vec(),
            SectionKind::ReadOnlyData,
        );
        obj.set_section_data(section, manifest.to_json().into_bytes(), 1);
    }
    obj.write().expect("an ELF object")
}
