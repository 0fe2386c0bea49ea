//! The raw bpf() calls aya does not offer for byte-sized keys and values.
//!
//! Takes: map and program file descriptors (borrowed from aya) and byte buffers.
//! Gives: map element lookup/update/delete/next-key on keys and values whose sizes are only
//! known at run time (aya's typed maps need `Pod` types fixed at compile time), and
//! `BPF_PROG_TEST_RUN`. Every bpf() call of the crate outside aya is here; each passes the kernel a
//! zeroed `union bpf_attr` prefix laid out as in `include/uapi/linux/bpf.h`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_OBJ_PIN: libc::c_long = 6;
const BPF_OBJ_GET: libc::c_long = 7;
const BPF_MAP_FREEZE: libc::c_long = 22;
const BPF_MAP_UPDATE_BATCH: libc::c_long = 26;
const BPF_LINK_DETACH: libc::c_long = 34;
const BPF_LINK_GET_FD_BY_ID: libc::c_long = 30;
const BPF_LINK_UPDATE: libc::c_long = 29;
/// `BPF_F_REPLACE`: update only if the link still runs `old_prog_fd`.
const BPF_F_REPLACE: u32 = 1 << 2;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_F_RDONLY_PROG`: programs may not write the map.
const BPF_F_RDONLY_PROG: u32 = 1 << 7;

/// `BPF_ANY`, `BPF_NOEXIST` and `BPF_EXIST`: how an update treats an existing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    Any = 0,
    NoExist = 1,
    Exist = 2,
    /// `BPF_F_LOCK`: the value starts with a `bpf_spin_lock`, held while it is copied.
    Locked = 4,
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

/// The `batch` member of `union bpf_attr` (`BPF_MAP_*_BATCH`).
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
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

/// The `BPF_MAP_CREATE` member of `union bpf_attr`, up to `map_name`.
#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// The `BPF_OBJ_PIN` / `BPF_OBJ_GET` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// The `BPF_MAP_FREEZE` and `BPF_LINK_DETACH` members: one descriptor.
#[repr(C)]
#[derive(Default)]
struct FdAttr {
    fd: u32,
    _pad: u32,
}

fn bpf_fd<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<OwnedFd> {
    let fd = bpf_ret(cmd, attr)?;
    // SAFETY: on success these commands return a descriptor the kernel just opened for us,
    // which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))
}

/// Creates a one-element array map of `value_size` bytes that programs cannot write.
pub(crate) fn create_record_map(name: &str, value_size: u32) -> io::Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size,
        max_entries: 1,
        map_flags: BPF_F_RDONLY_PROG,
        ..MapCreateAttr::default()
    };
    for (d, s) in attr.map_name.iter_mut().zip(name.bytes().take(15)) {
        *d = s;
    }
    bpf_fd(BPF_MAP_CREATE, &mut attr)
}

/// Pins `fd` (a map, program or link) at `path` on a bpffs.
pub(crate) fn obj_pin(fd: BorrowedFd<'_>, path: &Path) -> io::Result<()> {
    let path = c_path(path)?;
    let mut attr = ObjAttr {
        pathname: path.as_ptr() as u64,
        bpf_fd: fd.as_raw_fd() as u32,
        file_flags: 0,
    };
    bpf(BPF_OBJ_PIN, &mut attr)
}

/// Opens the object pinned at `path`.
pub(crate) fn obj_get(path: &Path) -> io::Result<OwnedFd> {
    let path = c_path(path)?;
    let mut attr = ObjAttr {
        pathname: path.as_ptr() as u64,
        ..ObjAttr::default()
    };
    bpf_fd(BPF_OBJ_GET, &mut attr)
}

/// Waits until every BPF program running anywhere when it was called has finished: an RCU
/// grace period. `membarrier(MEMBARRIER_CMD_GLOBAL)` runs `synchronize_rcu`, and XDP and TC
/// programs run inside RCU read-side sections. Kernels with `nohz_full` CPUs refuse that
/// command (EINVAL); then an update of a map-in-map does it, since the kernel waits for
/// running programs after every such update (`maybe_wait_bpf_programs`).
pub(crate) fn grace_period() -> io::Result<()> {
    const MEMBARRIER_CMD_GLOBAL: libc::c_long = 1;
    // SAFETY: membarrier takes two integers and touches no memory of ours.
    let r = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::EPERM) => grace_period_by_map(),
        _ => Err(e),
    }
}

/// A grace period through a one-slot `BPF_MAP_TYPE_ARRAY_OF_MAPS`: the kernel calls
/// `synchronize_rcu` after each successful update of such a map.
pub(crate) fn grace_period_by_map() -> io::Result<()> {
    const BPF_MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
    let mut inner = MapCreateAttr {
        map_type: BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        ..MapCreateAttr::default()
    };
    let inner = bpf_fd(BPF_MAP_CREATE, &mut inner)?;
    let mut outer = MapCreateAttr {
        map_type: BPF_MAP_TYPE_ARRAY_OF_MAPS,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
        inner_map_fd: inner.as_raw_fd() as u32,
        ..MapCreateAttr::default()
    };
    let outer = bpf_fd(BPF_MAP_CREATE, &mut outer)?;
    let key = 0u32.to_ne_bytes();
    let value = (inner.as_raw_fd() as u32).to_ne_bytes();
    let mut attr = MapElemAttr {
        map_fd: outer.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value_or_next_key: value.as_ptr() as u64,
        ..MapElemAttr::default()
    };
    bpf(BPF_MAP_UPDATE_ELEM, &mut attr)
}

/// Makes a map read-only for user space too.
pub(crate) fn map_freeze(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = FdAttr {
        fd: fd.as_raw_fd() as u32,
        _pad: 0,
    };
    bpf(BPF_MAP_FREEZE, &mut attr)
}

/// Detaches a BPF link from its hook now, whoever else holds it open.
pub(crate) fn link_detach(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = FdAttr {
        fd: fd.as_raw_fd() as u32,
        _pad: 0,
    };
    bpf(BPF_LINK_DETACH, &mut attr)
}

/// The `link_update` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct LinkUpdateAttr {
    link_fd: u32,
    new_prog_fd: u32,
    flags: u32,
    old_prog_fd: u32,
}

/// Makes link `link` run `new` instead of `old`, atomically: a packet runs one or the
/// other, never neither. Fails (EPERM) if the link no longer runs `old`.
pub(crate) fn link_update(
    link: BorrowedFd<'_>,
    new: BorrowedFd<'_>,
    old: BorrowedFd<'_>,
) -> io::Result<()> {
    let mut attr = LinkUpdateAttr {
        link_fd: link.as_raw_fd() as u32,
        new_prog_fd: new.as_raw_fd() as u32,
        flags: BPF_F_REPLACE,
        old_prog_fd: old.as_raw_fd() as u32,
    };
    bpf(BPF_LINK_UPDATE, &mut attr)
}

/// The `BPF_*_GET_FD_BY_ID` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct IdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

/// A new descriptor of link `id` from one this process already holds, found through
/// /proc/self/fdinfo (`link_id:`): the way to reach a link without CAP_SYS_ADMIN, which
/// `BPF_LINK_GET_FD_BY_ID` needs.
pub(crate) fn held_link(id: u32) -> Option<OwnedFd> {
    let wanted = id.to_string();
    for entry in std::fs::read_dir("/proc/self/fdinfo").ok()?.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(info) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if info
            .lines()
            .any(|l| l.strip_prefix("link_id:").map(str::trim) == Some(wanted.as_str()))
        {
            // SAFETY: dup of a descriptor this process holds open; the new one is ours.
            let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            if dup >= 0 {
                // SAFETY: `dup` was just returned by the kernel and nothing else owns it.
                return Some(unsafe { OwnedFd::from_raw_fd(dup) });
            }
        }
    }
    None
}

/// Opens the link whose kernel id is `id`.
pub(crate) fn link_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = IdAttr {
        id,
        ..IdAttr::default()
    };
    bpf_fd(BPF_LINK_GET_FD_BY_ID, &mut attr)
}

/// The `info` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// What the kernel says of a BPF link: its id, its program's id and, for XDP and tcx links,
/// the interface index (0 once the interface is gone: the link is defunct).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    pub id: u32,
    pub prog_id: u32,
    pub ifindex: u32,
}

/// Fills `info` with the start of the kernel's info struct of a program, map or link.
fn obj_info(fd: BorrowedFd<'_>, info: &mut [u8]) -> io::Result<()> {
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: info.len() as u32,
        info: info.as_mut_ptr() as u64,
    };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)
}

/// The kernel's id of a program, map or link (the second `u32` of each info struct).
pub(crate) fn obj_id(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut info = [0u8; 8];
    obj_info(fd, &mut info)?;
    Ok(u32::from_ne_bytes(
        info[4..8].try_into().expect("four bytes"),
    ))
}

pub(crate) fn link_info(fd: BorrowedFd<'_>) -> io::Result<LinkInfo> {
    // struct bpf_link_info: u32 type, id, prog_id, then a union aligned to 8 whose xdp and
    // tcx members start with u32 ifindex.
    let mut info = [0u8; 64];
    obj_info(fd, &mut info)?;
    let word = |at: usize| u32::from_ne_bytes(info[at..at + 4].try_into().expect("four bytes"));
    Ok(LinkInfo {
        id: word(4),
        prog_id: word(8),
        ifindex: word(16),
    })
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<()> {
    bpf_ret(cmd, attr).map(drop)
}

/// The bpf() system call; its non-negative return value.
fn bpf_ret<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
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
        Ok(ret)
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

    /// Reads the value under `key` while holding the `bpf_spin_lock` it starts with.
    pub fn lookup_locked(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        sized("key", key, self.key_size)?;
        let mut value = vec![0u8; self.value_size];
        let mut attr = self.attr(Some(key), value.as_mut_ptr() as u64, Update::Locked as u64);
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

    /// Writes `values[i]` under `keys[i]` for every `i` in one call (`BPF_MAP_UPDATE_BATCH`;
    /// `keys` and `values` hold the elements back to back). `Err((written, e))`: the kernel
    /// wrote the first `written` and refused the next (EINVAL or EOPNOTSUPP: this map type
    /// has no batch update).
    pub fn update_batch(&self, keys: &[u8], values: &[u8]) -> Result<(), (usize, io::Error)> {
        let n = keys.len() / self.key_size.max(1);
        if keys.len() != n * self.key_size || values.len() != n * self.value_size {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                "batch buffers of unequal counts",
            );
            return Err((0, e));
        }
        let mut attr = BatchAttr {
            keys: keys.as_ptr() as u64,
            values: values.as_ptr() as u64,
            count: n as u32,
            map_fd: self.fd.as_raw_fd() as u32,
            ..BatchAttr::default()
        };
        match bpf(BPF_MAP_UPDATE_BATCH, &mut attr) {
            Ok(()) => Ok(()),
            Err(e) => Err((attr.count as usize, e)),
        }
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

    /// Whether the map (a hash map or trie) holds no key.
    pub fn is_empty(&self) -> io::Result<bool> {
        let mut first = vec![0u8; self.key_size];
        let mut attr = self.attr(None, first.as_mut_ptr() as u64, 0);
        match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
            Ok(()) => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(true),
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
pub(crate) fn test_run(
    prog: BorrowedFd<'_>,
    data: &[u8],
    repeat: u32,
    ctx: Option<&[u8]>,
) -> io::Result<TestRun> {
    // Room for everything a program may add: up to a page of growth at head or tail.
    let mut out = vec![0u8; data.len() + 4096];
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: data.len() as u32,
        data_size_out: out.len() as u32,
        data_in: data.as_ptr() as u64,
        data_out: out.as_mut_ptr() as u64,
        repeat,
        ctx_size_in: ctx.map_or(0, |c| c.len() as u32),
        ctx_in: ctx.map_or(0, |c| c.as_ptr() as u64),
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

/// `BPF_F_TEST_XDP_LIVE_FRAMES`: the kernel acts on each run's verdict (transmits, redirects).
const F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// Runs an XDP program `repeat` times in live-frames mode: each run gets a fresh copy of
/// `data` from a page pool and the kernel carries out its verdict, redirects and broadcasts
/// included, in batches. Gives the average nanoseconds per frame, the kernel's work after
/// the program included.
pub(crate) fn test_run_live(prog: BorrowedFd<'_>, data: &[u8], repeat: u32) -> io::Result<u32> {
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: data.len() as u32,
        data_in: data.as_ptr() as u64,
        repeat,
        flags: F_TEST_XDP_LIVE_FRAMES,
        ..TestRunAttr::default()
    };
    bpf(BPF_PROG_TEST_RUN, &mut attr)?;
    Ok(attr.duration)
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
        // offsetof(union bpf_attr, batch.*).
        assert_eq!(std::mem::offset_of!(BatchAttr, keys), 16);
        assert_eq!(std::mem::offset_of!(BatchAttr, count), 32);
        assert_eq!(std::mem::offset_of!(BatchAttr, map_fd), 36);
        assert_eq!(std::mem::offset_of!(BatchAttr, elem_flags), 40);
        assert_eq!(std::mem::size_of::<BatchAttr>(), 56);
        assert_eq!(std::mem::offset_of!(MapCreateAttr, map_flags), 16);
        assert_eq!(std::mem::offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(std::mem::offset_of!(ObjAttr, bpf_fd), 8);
    }

    /// Both ways of waiting for a grace period work here (the second is what kernels with
    /// `nohz_full` CPUs get) and take about as long as one.
    #[test]
    fn a_grace_period_is_waited_for_by_membarrier_and_by_a_map_in_map_update() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "creating maps needs root, and CI must run this"
            );
            eprintln!("skipping: creating BPF maps needs root");
            return;
        }
        grace_period().unwrap();
        let start = std::time::Instant::now();
        grace_period_by_map().unwrap();
        // A grace period waits for every CPU to pass a quiescent state: never instant.
        assert!(start.elapsed() > std::time::Duration::from_micros(50));
    }
}
