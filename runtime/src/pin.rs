//! Pinning a loaded module to the BPF filesystem, so it outlives the process.
//!
//! Takes: a [`Module`] and a directory that lies on a mounted bpffs (usually under
//! `/sys/fs/bpf`).
//! Gives: the program pinned as `DIR/<function>` and every map the manifest names pinned as
//! `DIR/<map>`, after checking that DIR really is on a bpffs (else a message saying how to
//! mount one). Removing the files unpins them.

use crate::error::{chain, io_cause, is_permission};
use crate::{Error, Module};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `BPF_FS_MAGIC` from `include/uapi/linux/magic.h`.
const BPF_FS_MAGIC: u32 = 0xcafe_4a11;

/// Whether `path` lies on a BPF filesystem.
pub fn is_bpffs(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `statfs` only writes into `buf`, a properly sized and aligned struct.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and `buf` is valid for writes.
    let ret = unsafe { libc::statfs(c_path.as_ptr(), &mut buf) };
    ret == 0 && buf.f_type as u32 == BPF_FS_MAGIC
}

/// The error for a failed pin of `path`.
pub(crate) fn pin_failure(path: &Path, e: &(dyn std::error::Error + 'static)) -> Error {
    if io_cause(e).is_some_and(is_permission) {
        Error::PermissionDenied {
            doing: format!("pinning {}", path.display()),
        }
    } else {
        Error::Pin {
            path: path.to_path_buf(),
            detail: chain(e),
        }
    }
}

impl Module {
    /// Pins the program and every manifest map under `dir` (created if missing), which
    /// must be on a bpffs. Returns the pinned paths.
    pub fn pin(&mut self, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let parent = dir.ancestors().find(|p| p.exists()).unwrap_or(dir);
        if !is_bpffs(parent) {
            return Err(Error::BpffsMissing {
                path: parent.to_path_buf(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::Pin {
            path: dir.to_path_buf(),
            detail: e.to_string(),
        })?;
        let fail = pin_failure;
        let mut names: Vec<String> = self.maps.keys().cloned().collect();
        names.sort();
        let mut pinned = Vec::new();
        for name in names {
            let path = dir.join(&name);
            let map = self
                .map_data(&name)
                .ok_or(Error::NoMap { map: name.clone() })?;
            map.pin(&path).map_err(|e| fail(&path, &e))?;
            pinned.push(path);
        }
        let path = dir.join(&self.manifest.function);
        self.program_mut()?
            .pin(&path)
            .map_err(|e| fail(&path, &e))?;
        pinned.push(path);
        Ok(pinned)
    }
}
