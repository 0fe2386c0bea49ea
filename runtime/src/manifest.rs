//! Reads the manifest out of a compiled object.
//!
//! Takes: the bytes of an ELF BPF object produced by `iov build`.
//! Gives: the [`Manifest`] carried as JSON in its `.iov.manifest` section, version-checked,
//! plus the check that the program's section is one aya 0.14 can load for the hook.

use crate::Error;
use iov_manifest::{Hook, Manifest, SECTION};
use object::{Object, ObjectSection};

/// The manifest inside `object`.
pub fn read_manifest(object: &[u8]) -> Result<Manifest, Error> {
    let file = object::File::parse(object).map_err(|e| Error::NotAnObject(e.to_string()))?;
    let section = file
        .section_by_name(SECTION)
        .ok_or(Error::NoManifest { section: SECTION })?;
    let data = section
        .data()
        .map_err(|e| Error::NotAnObject(format!("section {SECTION}: {e}")))?;
    // The section may be padded with NULs after the JSON text.
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&data[..end])
        .map_err(|e| Error::BadManifest(format!("section {SECTION} is not UTF-8: {e}")))?;
    Manifest::from_json(text).map_err(Error::BadManifest)
}

/// Refuses a program section that aya 0.14 would not recognise for the manifest's hook.
///
/// aya-obj 0.3 knows `xdp` (and `xdp.frags`, `xdp/cpumap`, `xdp/devmap`) for XDP and only
/// `classifier` for TC: libbpf's newer `tc` spelling is rejected while parsing the object.
pub(crate) fn check_section(manifest: &Manifest) -> Result<(), Error> {
    let kind = manifest.section.split('/').next().unwrap_or_default();
    let (ok, fix) = match manifest.hook {
        Hook::Xdp => (
            kind == "xdp" || kind == "xdp.frags",
            "XDP programs must be in section `xdp`",
        ),
        Hook::TcIngress | Hook::TcEgress => (
            kind == "classifier",
            "aya 0.14 loads TC programs only from section `classifier` (it rejects `tc`; \
             libbpf accepts both)",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::UnsupportedSection {
            section: manifest.section.clone(),
            hook: format!("{:?}", manifest.hook),
            fix,
        })
    }
}
