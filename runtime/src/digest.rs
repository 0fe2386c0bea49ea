//! Digests from the control plane's side: reading the records a program sends through its
//! ring buffers, and how many were dropped.
//!
//! Takes: a module and a digest's name.
//! Gives: an [`Events`] reader with its own descriptor of the ring buffer, which decodes each
//! record by the manifest's field widths (packed bit by bit, big-endian, as a header is) and
//! can wait for the next one; the drop count summed over CPUs. One reader at a time consumes
//! a ring buffer: two readers would each see part of the records.

use crate::chain::sum_per_cpu;
use crate::error::list;
use crate::{Error, Module};
use aya::maps::{Map, MapData, RingBuf};
use iov_manifest::Digest;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

/// One record: its fields in order with their values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestRecord {
    pub fields: Vec<(String, u128)>,
}

/// A reader of one digest's records.
pub struct Events {
    digest: Digest,
    ring: RingBuf<MapData>,
}

/// Reads `bits` bits from `bytes` starting `at` bits in, most significant first.
fn bits_at(bytes: &[u8], at: u32, bits: u32) -> u128 {
    (0..bits).fold(0u128, |v, i| {
        let bit = at + i;
        let byte = bytes.get((bit / 8) as usize).copied().unwrap_or(0);
        (v << 1) | u128::from(byte >> (7 - bit % 8) & 1)
    })
}

/// Decodes a record by `d`'s field widths.
pub fn decode(d: &Digest, bytes: &[u8]) -> DigestRecord {
    let mut at = 0;
    let fields = d
        .fields
        .iter()
        .map(|f| {
            let v = bits_at(bytes, at, f.bits);
            at += f.bits;
            (f.name.clone(), v)
        })
        .collect();
    DigestRecord { fields }
}

impl Events {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The next record, waiting up to `timeout` for one.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<DigestRecord>, Error> {
        if let Some(r) = self.next() {
            return Ok(Some(r));
        }
        let mut fds = [libc::pollfd {
            fd: self.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: `fds` is one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::syscall("poll", &self.digest.map, e));
            }
        }
        Ok(self.next())
    }
}

/// The records waiting, oldest first; `None` when none is (more may come later).
impl Iterator for Events {
    type Item = DigestRecord;

    fn next(&mut self) -> Option<DigestRecord> {
        let item = self.ring.next()?;
        Some(decode(&self.digest, &item))
    }
}

impl Module {
    fn digest_decl(&self, name: &str) -> Result<&Digest, Error> {
        let ds = &self.manifest.digests;
        ds.iter()
            .find(|d| d.name == name)
            .or_else(|| ds.iter().find(|d| d.name.rsplit('.').next() == Some(name)))
            .ok_or_else(|| Error::UnknownExtern {
                kind: "digest",
                name: name.into(),
                known: list(ds.iter().map(|d| d.name.as_str())),
            })
    }

    /// A reader of digest `name`'s records.
    pub fn events(&self, name: &str) -> Result<Events, Error> {
        let d = self.digest_decl(name)?.clone();
        let data = self
            .map_data(&d.map)
            .ok_or(Error::NoMap { map: d.map.clone() })?;
        let fd = data
            .fd()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::syscall("dup", &d.map, e))?;
        let own = MapData::from_fd(fd).map_err(|e| Error::Load(e.to_string()))?;
        let ring = RingBuf::try_from(Map::RingBuf(own)).map_err(|e| Error::Load(e.to_string()))?;
        Ok(Events { digest: d, ring })
    }

    /// Records of digest `name` the ring buffer had no room for, over all CPUs.
    pub fn digest_drops(&self, name: &str) -> Result<u64, Error> {
        let d = self.digest_decl(name)?;
        let value = self
            .map(&d.drops_map)?
            .lookup(&0u32.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &d.drops_map, e))?;
        Ok(sum_per_cpu(value))
    }
}
