//! `iov test --pcap DIR`: each port's frames in and out, as pcap files.
//!
//! Takes: a directory and, for every test packet, its ingress port, its bytes and where it
//! came out with which bytes.
//! Gives: `DIR/port-N-in.pcap` (the frames that arrived on port N), `DIR/port-N-out.pcap`
//! (the frames sent out of port N, reflected ones included: they leave by the port they came
//! in on) and `DIR/kernel-in.pcap` (the frames passed to the kernel's stack), in the classic
//! pcap format (microsecond timestamps, Ethernet link type) that tcpdump and Wireshark read.
//! Records are numbered by the STF line in their timestamp's seconds, so a frame can be
//! found by its line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// pcap's global header: magic, version 2.4, zone 0, accuracy 0, snap length, LINKTYPE_ETHERNET.
fn header() -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

/// One record: seconds (the STF line), microseconds 0, captured and original lengths.
fn record(line: usize, frame: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + frame.len());
    r.extend_from_slice(&(line as u32).to_le_bytes());
    r.extend_from_slice(&0u32.to_le_bytes());
    r.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    r.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    r.extend_from_slice(frame);
    r
}

/// The pcap files of one test run, written when [`Captures::write`] is called.
#[derive(Default)]
pub struct Captures {
    files: BTreeMap<String, Vec<u8>>,
}

impl Captures {
    fn add(&mut self, file: String, line: usize, frame: &[u8]) {
        self.files
            .entry(file)
            .or_insert_with(header)
            .extend_from_slice(&record(line, frame));
    }

    /// A frame that arrived on `port` at STF line `line`.
    pub fn arrived(&mut self, port: u32, line: usize, frame: &[u8]) {
        self.add(format!("port-{port}-in.pcap"), line, frame);
    }

    /// A frame sent out of `port`.
    pub fn sent(&mut self, port: u32, line: usize, frame: &[u8]) {
        self.add(format!("port-{port}-out.pcap"), line, frame);
    }

    /// A frame passed to the kernel's stack.
    pub fn passed(&mut self, line: usize, frame: &[u8]) {
        self.add("kernel-in.pcap".into(), line, frame);
    }

    /// Writes every file into `dir` (made if missing); the paths written.
    pub fn write(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            std::fs::File::create(&path)?.write_all(bytes)?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_classic_pcap_with_one_record_per_frame() {
        let mut c = Captures::default();
        c.arrived(2, 7, &[0xaa; 14]);
        c.sent(3, 7, &[0xbb; 20]);
        c.arrived(2, 9, &[0xcc; 14]);
        let f = &c.files["port-2-in.pcap"];
        assert_eq!(&f[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(f.len(), 24 + 2 * (16 + 14));
        assert_eq!(&f[24..28], &7u32.to_le_bytes(), "the line is the timestamp");
        assert_eq!(&f[24 + 30..24 + 34], &9u32.to_le_bytes());
        assert_eq!(c.files["port-3-out.pcap"].len(), 24 + 16 + 20);
        assert_eq!(c.files.len(), 2);
    }
}
