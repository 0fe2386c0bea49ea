//! Working on interfaces of another network namespace while staying in our own bpffs.
//!
//! Takes: a namespace as the command line names it (a name under `/run/netns`, as
//! `ip netns add` makes them, or a path such as `/proc/PID/ns/net`).
//! Gives: its path, checked, and [`within`]: runs a closure with the calling thread moved
//! into that namespace (`setns`), then moves it back, even if the closure fails. Only the
//! network namespace changes: the mount namespace, and so `/sys/fs/bpf`, stays the caller's,
//! which is why modules on container interfaces are attached this way rather than under
//! `ip netns exec` (which remounts /sys and hides the host's bpffs).
//! [`enter_private`] gives a test run a namespace of its own with interfaces at the indexes
//! its packets arrive on.

use crate::Error;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// The path of namespace `spec`: itself when it contains a `/`, else `/run/netns/SPEC`.
pub fn resolve(spec: &str) -> Result<PathBuf, Error> {
    let path = if spec.contains('/') {
        PathBuf::from(spec)
    } else {
        Path::new(NETNS_DIR).join(spec)
    };
    if !path.exists() {
        return Err(Error::NoNetns {
            name: spec.into(),
            path,
        });
    }
    Ok(path)
}

/// Moves the calling thread back to the namespace it came from when dropped.
struct Return(File);

impl Drop for Return {
    fn drop(&mut self) {
        // SAFETY: setns on a descriptor we own; it changes only this thread's namespace.
        let ret = unsafe { libc::setns(self.0.as_raw_fd(), libc::CLONE_NEWNET) };
        // Failing to return would leave every later call of this thread in the wrong
        // namespace: nothing sensible can go on.
        assert_eq!(ret, 0, "cannot return to the original network namespace");
    }
}

/// Runs `f` in network namespace `ns` (the caller's own when `None`).
pub fn within<T>(ns: Option<&Path>, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let Some(ns) = ns else { return f() };
    let open = |p: &Path| {
        File::open(p).map_err(|e| Error::Netns {
            path: p.to_path_buf(),
            detail: e.to_string(),
        })
    };
    let home = open(Path::new("/proc/thread-self/ns/net"))?;
    let target = open(ns)?;
    // SAFETY: setns on a descriptor we own; it changes only this thread's namespace.
    if unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::EPERM) {
            Error::PermissionDenied {
                doing: format!("entering network namespace {}", ns.display()),
            }
        } else {
            Error::Netns {
                path: ns.to_path_buf(),
                detail: format!("{e} (is it a network namespace?)"),
            }
        });
    }
    let _back = Return(home);
    f()
}

/// The index of interface `iface` in the calling thread's namespace.
pub(crate) fn ifindex(iface: &str, ns: Option<&Path>) -> Result<u32, Error> {
    let missing = || Error::NoInterface {
        name: iface.into(),
        netns: ns.map(Path::to_path_buf),
    };
    let name = std::ffi::CString::new(iface).map_err(|_| missing())?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(missing()),
        index => Ok(index),
    }
}

/// Moves the calling thread into a new, private network namespace holding an interface at
/// each index of `ports` (veth devices `iovpN`, their peers at indexes from 40000 up), so
/// test runs can name those indexes as the port a packet arrives on. The namespace and its
/// interfaces vanish when the thread ends: nothing can leak. Uses iproute2's `ip`, which
/// the child inherits the thread's namespace for.
pub fn enter_private(ports: &[u32]) -> Result<(), Error> {
    // SAFETY: unshare only changes the calling thread's namespaces; no memory is involved.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        if crate::error::is_permission(&e) {
            return Err(Error::PermissionDenied {
                doing: "making a private network namespace for the test's ports".into(),
            });
        }
        return Err(Error::syscall("unshare", "a network namespace", e));
    }
    for (i, p) in ports.iter().filter(|p| **p > 1).enumerate() {
        let (name, peer) = (format!("iovp{p}"), format!("iovq{p}"));
        let peer_index = (40000 + i).to_string();
        let index = p.to_string();
        let args = [
            "link",
            "add",
            &name,
            "index",
            &index,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
            "index",
            &peer_index,
        ];
        run_ip(&args)?;
        run_ip(&["link", "set", &name, "up"])?;
        run_ip(&["link", "set", &peer, "up"])?;
    }
    Ok(())
}

fn run_ip(args: &[&str]) -> Result<(), Error> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| {
            Error::Load(format!(
                "cannot run iproute2's `ip` ({e}); install iproute2"
            ))
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Load(format!(
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}
