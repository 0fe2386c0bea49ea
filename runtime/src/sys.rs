//! The raw bpf() calls aya does not offer for byte-sized keys and values.
//!
//! Takes: map and program file descriptors (borrowed from aya) and byte buffers.
//! Gives: map element lookup/update/delete/next-key on keys and values whose sizes are only
//! known at run time (aya's typed maps need `Pod` types fixed at compile time), and
//! `BPF_PROG_TEST_RUN`. Every bpf() call of the crate outside aya is here; each passes the kernel a
//! zeroed `union bpf_attr` prefix laid out as in `include/uapi/linux/bpf.h`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// `BPF_ANY`, `BPF_NOEXIST` and `BPF_EXIST`: how an update treats an existing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    Any = 0,
    NoExist = 1,
    Exist = 2,
}

/// The `BPF_MAP_*_ELEM` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value_or_next_key: u64,
    flags: u64,
}

/// The `test` member of `union bpf_attr` (`BPF_PROG_TEST_RUN`).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<()> {
    // SAFETY: `attr` is a `#[repr(C)]` prefix of `union bpf_attr` with every padding byte
    // spelled out and zeroed; the kernel reads and writes at most `size_of::<T>()` bytes of
    // it, and every pointer inside it refers to a live buffer of the advertised size.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A map's descriptor with the sizes the kernel will read and write through it.
///
/// `value_size` is the size of the buffer a lookup fills: the map's value size, or for
/// per-CPU maps `round_up(value_size, 8) * possible CPUs`. Every call checks the buffers
/// it is given against these sizes, so the kernel never writes past one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawMap<'a> {
    pub fd: BorrowedFd<'a>,
    pub key_size: usize,
    pub value_size: usize,
}

fn sized(what: &str, buf: &[u8], size: usize) -> io::Result<()> {
    if buf.len() == size {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} buffer is {} bytes, the map needs {size}", buf.len()),
        ))
    }
}

impl RawMap<'_> {
    fn attr(&self, key: Option<&[u8]>, value: u64, flags: u64) -> MapElemAttr {
        MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: key.map_or(0, |k| k.as_ptr() as u64),
            value_or_next_key: value,
            flags,
            ..MapElemAttr::default()
        }
    }

    /// The value of `key`, or `None` when absent.
    pub fn lookup(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        sized("key", key, self.key_size)?;
        let mut value = vec![0u8; self.value_size];
        let mut attr = self.attr(Some(key), value.as_mut_ptr() as u64, 0);
        match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `value` under `key`.
    pub fn update(&self, key: &[u8], value: &[u8], how: Update) -> io::Result<()> {
        sized("key", key, self.key_size)?;
        sized("value", value, self.value_size)?;
        let mut attr = self.attr(Some(key), value.as_ptr() as u64, how as u64);
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr)
    }

    /// Deletes `key`. `Ok(false)` when it was absent.
    pub fn delete(&self, key: &[u8]) -> io::Result<bool> {
        sized("key", key, self.key_size)?;
        let mut attr = self.attr(Some(key), 0, 0);
        match bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every key of the map, in the kernel's iteration order.
    pub fn keys(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut next = vec![0u8; self.key_size];
            let prev = keys.last().map(Vec::as_slice);
            let mut attr = self.attr(prev, next.as_mut_ptr() as u64, 0);
            match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(keys),
                Err(e) => return Err(e),
            }
            // A key deleted while iterating makes the kernel restart from the first key.
            if !seen.insert(next.clone()) {
                return Ok(keys);
            }
            keys.push(next);
        }
    }
}

/// What one `BPF_PROG_TEST_RUN` reports.
pub(crate) struct TestRun {
    pub retval: u32,
    pub data: Vec<u8>,
    /// Average nanoseconds per run, measured by the kernel.
    pub duration_ns: u32,
}

/// Runs the program `repeat` times on `data` (a copy of it each time for skb programs; for
/// XDP the kernel reuses the frame the previous run left behind).
pub(crate) fn test_run(prog: BorrowedFd<'_>, data: &[u8], repeat: u32) -> io::Result<TestRun> {
    // Room for everything a program may add: up to a page of growth at head or tail.
    let mut out = vec![0u8; data.len() + 4096];
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: data.len() as u32,
        data_size_out: out.len() as u32,
        data_in: data.as_ptr() as u64,
        data_out: out.as_mut_ptr() as u64,
        repeat,
        ..TestRunAttr::default()
    };
    bpf(BPF_PROG_TEST_RUN, &mut attr)?;
    out.truncate(attr.data_size_out as usize);
    Ok(TestRun {
        retval: attr.retval,
        data: out,
        duration_ns: attr.duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        // offsetof(union bpf_attr, test.*) in include/uapi/linux/bpf.h.
        assert_eq!(std::mem::size_of::<MapElemAttr>(), 32);
        assert_eq!(std::mem::offset_of!(MapElemAttr, key), 8);
        assert_eq!(std::mem::offset_of!(MapElemAttr, flags), 24);
        assert_eq!(std::mem::offset_of!(TestRunAttr, data_in), 16);
        assert_eq!(std::mem::offset_of!(TestRunAttr, repeat), 32);
        assert_eq!(std::mem::offset_of!(TestRunAttr, duration), 36);
        assert_eq!(std::mem::offset_of!(TestRunAttr, ctx_in), 48);
        assert_eq!(std::mem::offset_of!(TestRunAttr, flags), 64);
        assert_eq!(std::mem::offset_of!(TestRunAttr, batch_size), 72);
        assert_eq!(std::mem::size_of::<TestRunAttr>(), 80);
    }
}
