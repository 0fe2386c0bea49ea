//! Deploying a module: loaded, set up, pinned and attached, so it outlives the process.
//!
//! Takes: an object built by `iov build`, a module name, the interfaces (each in its own
//! network namespace or the caller's), the hook and, for XDP, the mode.
//! Gives: a module directory under the root (`/sys/fs/bpf/iov/NAME`, see `record.rs`) with
//! the program, every map, a BPF link per interface and the module's record pinned; the
//! program runs only once its defaults and const entries are installed. Everything is
//! checked before the kernel is touched (name, hook, namespaces, interfaces, a hook another
//! module holds), and a failure at any later step undoes every earlier one: no pin, link
//! or attached program is left behind.

use crate::attach::{attach_error, tc_direction};
use crate::error::{chain, is_permission};
use crate::manifest::read_manifest;
use crate::netns;
use crate::pin::pin_failure;
use crate::record::{self, hook_name, AttachmentRecord, Mode, Record, Role, RECORD_FORMAT};
use crate::registry::{self, known_modules};
use crate::sys;
use crate::{Error, Module, XdpMode};
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::tc::TcAttachOptions;
use aya::programs::{LinkOrder, SchedClassifier, Xdp};
use aya::util::KernelVersion;
use iov_manifest::Hook;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// An interface to attach to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub iface: String,
    /// A network namespace name under `/run/netns` or a path; `None` for the caller's.
    pub netns: Option<String>,
}

/// Where an XDP program should run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModeChoice {
    /// Native where the driver supports it, else generic (with a notice).
    #[default]
    Auto,
    Native,
    Generic,
}

/// What to deploy where.
#[derive(Clone, Debug)]
pub struct Deploy<'a> {
    pub name: &'a str,
    /// The file the object came from, recorded for `iov list`.
    pub source: &'a str,
    pub devices: &'a [Device],
    /// The hook; `None` for the program's own. A TC object may switch direction.
    pub hook: Option<Hook>,
    pub mode: ModeChoice,
    /// The directory that holds module directories, on a bpffs (usually [`record::DEFAULT_ROOT`]).
    pub root: &'a Path,
}

/// A deployed module and what the deployment had to say (such as a fallback to generic XDP).
pub struct Deployed {
    pub module: Module,
    pub notices: Vec<String>,
}

/// An interface, resolved: its namespace path and index.
struct Target {
    iface: String,
    netns: Option<PathBuf>,
    ifindex: u32,
}

/// Refuses names that are not one plain directory name.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            // bpffs refuses names with a dot (reserved by the kernel).
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadName { name: name.into() })
    }
}

/// The hook the module runs at: the program's own, or another TC direction.
fn choose_hook(built: Hook, wanted: Option<Hook>) -> Result<Hook, Error> {
    let Some(wanted) = wanted else {
        return Ok(built);
    };
    let tc = |h| matches!(h, Hook::TcIngress | Hook::TcEgress);
    if wanted == built || (tc(wanted) && tc(built)) {
        return Ok(wanted);
    }
    Err(Error::HookMismatch {
        built: hook_name(built),
        wanted: hook_name(wanted),
        fix: "XDP and TC programs see different contexts; build the source for that hook \
              (`iov load FILE.iov --hook ...` compiles it so) or load an object built for it",
    })
}

fn tcx_available() -> Result<(), Error> {
    match KernelVersion::current() {
        Ok(v) if v >= KernelVersion::new(6, 6, 0) => Ok(()),
        Ok(v) => Err(Error::NoTcx {
            kernel: v.to_string(),
        }),
        Err(_) => Ok(()),
    }
}

/// Where the kernel's BPF filesystem is conventionally mounted.
const BPFFS: &str = "/sys/fs/bpf";

/// Mounts a bpffs at /sys/fs/bpf, as bpftool does before pinning; `true` when it did.
fn mount_bpffs() -> bool {
    let (source, target, fstype) = (c"bpf", c"/sys/fs/bpf", c"bpf");
    let options = c"mode=0700";
    // SAFETY: every pointer is a NUL-terminated string literal that outlives the call.
    let ret = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            options.as_ptr().cast(),
        )
    };
    ret == 0
}

/// Makes sure the root exists on a bpffs, mounting one at /sys/fs/bpf when the root lies
/// there and nothing is mounted yet (with a notice).
fn prepare_root(root: &Path, notices: &mut Vec<String>) -> Result<(), Error> {
    let bpffs = Path::new(BPFFS);
    if root.starts_with(bpffs) && bpffs.is_dir() && !crate::is_bpffs(bpffs) && mount_bpffs() {
        notices.push(format!(
            "mounted a BPF filesystem at {BPFFS} (it was not mounted)"
        ));
    }
    let parent = root.ancestors().find(|p| p.exists()).unwrap_or(root);
    if !crate::is_bpffs(parent) {
        return Err(Error::BpffsMissing {
            path: parent.to_path_buf(),
        });
    }
    std::fs::create_dir_all(root).map_err(|e| pin_error(root, e))
}

pub(crate) fn pin_error(path: &Path, e: std::io::Error) -> Error {
    if is_permission(&e) || e.raw_os_error() == Some(libc::EACCES) {
        Error::PermissionDenied {
            doing: format!("writing {}", path.display()),
        }
    } else {
        Error::Pin {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }
}

impl Module {
    /// Loads `object`, installs its defaults and const entries, pins it under
    /// `ROOT/NAME` and attaches it to every device; on failure nothing is left behind.
    pub fn deploy(object: &[u8], d: &Deploy<'_>) -> Result<Deployed, Error> {
        deploy_as(object, d, None)
    }
}

/// [`Module::deploy`] of a module with a part in a chain: a chain's head, or a stage (which
/// is attached to no interface).
pub(crate) fn deploy_as(
    object: &[u8],
    d: &Deploy<'_>,
    role: Option<Role>,
) -> Result<Deployed, Error> {
    check_name(d.name)?;
    let manifest = read_manifest(object)?;
    let hook = choose_hook(manifest.hook, d.hook)?;
    if hook != Hook::Xdp {
        tcx_available()?;
    }
    let stage = matches!(role, Some(Role::Stage(_) | Role::Class { .. }));
    if d.devices.is_empty() && !stage {
        return Err(Error::Attach {
            iface: String::new(),
            detail: "no interface given; name one with `--dev IFACE`".into(),
        });
    }
    let mut targets = Vec::new();
    for dev in d.devices {
        let ns = dev.netns.as_deref().map(netns::resolve).transpose()?;
        let ifindex = netns::within(ns.as_deref(), || netns::ifindex(&dev.iface, ns.as_deref()))?;
        targets.push(Target {
            iface: dev.iface.clone(),
            netns: ns,
            ifindex,
        });
    }
    let mut notices = Vec::new();
    prepare_root(d.root, &mut notices)?;
    check_conflicts(d.root, &targets, hook)?;
    let dir = d.root.join(d.name);
    if let Err(e) = std::fs::create_dir(&dir) {
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::NameInUse {
                name: d.name.into(),
                dir,
            }
        } else {
            pin_error(&dir, e)
        });
    }
    let mut links = Vec::new();
    let place = Placement {
        hook,
        targets: &targets,
        role,
    };
    let result = deploy_into(object, d, &place, &dir, &mut links, notices);
    if result.is_err() {
        // Pins first, then each link detached explicitly: closing it would leave the
        // program running while a fork elsewhere holds a copy (see Module::detach).
        let _ = std::fs::remove_dir_all(&dir);
        for link in links {
            if let Ok(info) = FdLink::from(link).info() {
                crate::attach::detach_link_id(info.id());
            }
        }
    }
    result
}

/// Where a module goes: its hook, its interfaces, its part in a chain.
struct Placement<'t> {
    hook: Hook,
    targets: &'t [Target],
    role: Option<Role>,
}

/// Every step after the module directory exists; `links` holds each link made, so the
/// caller can detach them if a later step fails.
fn deploy_into(
    object: &[u8],
    d: &Deploy<'_>,
    place: &Placement<'_>,
    dir: &Path,
    links: &mut Vec<PinnedLink>,
    mut notices: Vec<String>,
) -> Result<Deployed, Error> {
    let (hook, targets) = (place.hook, place.targets);
    let mut module = Module::load(object)?;
    let maps_dir = dir.join("maps");
    std::fs::create_dir(&maps_dir).map_err(|e| pin_error(&maps_dir, e))?;
    let mut names: Vec<&String> = module.maps.keys().collect();
    names.sort();
    for name in names {
        let path = maps_dir.join(name);
        let data = module
            .map_data(name)
            .ok_or(Error::NoMap { map: name.clone() })?;
        data.pin(&path).map_err(|e| pin_failure(&path, &e))?;
    }
    let prog = dir.join("prog");
    module
        .program_mut()?
        .pin(&prog)
        .map_err(|e| pin_failure(&prog, &e))?;
    let links_dir = dir.join("links");
    std::fs::create_dir(&links_dir).map_err(|e| pin_error(&links_dir, e))?;
    let mut attachments = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let (link, mode) = netns::within(t.netns.as_deref(), || {
            attach_link(&mut module, hook, &t.iface, d.mode, &mut notices)
        })?;
        let rel = format!("links/{i}");
        let path = dir.join(&rel);
        links.push(link.pin(&path).map_err(|e| pin_failure(&path, &e))?);
        let pinned = sys::obj_get(&path).map_err(|e| pin_error(&path, e))?;
        let info = sys::link_info(pinned.as_fd())
            .map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD", "the new link", e))?;
        attachments.push(AttachmentRecord {
            iface: t.iface.clone(),
            ifindex: t.ifindex,
            netns: t.netns.clone(),
            mode: mode.map(Mode::from),
            link: rel,
            link_id: info.id,
        });
    }
    let record = Record {
        format: RECORD_FORMAT,
        name: d.name.into(),
        source: d.source.into(),
        loaded_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_secs()),
        hook,
        attachments,
        manifest: module.manifest.clone(),
        chain: place.role.clone(),
    };
    record::write(&record, &dir.join("meta"))?;
    module.record = Some(record);
    Ok(Deployed { module, notices })
}

/// Refuses an interface and hook another deployed iov module holds.
fn check_conflicts(root: &Path, targets: &[Target], hook: Hook) -> Result<(), Error> {
    for other in known_modules(root) {
        let Ok(rec) = record::read(&root.join(&other).join("meta")) else {
            continue;
        };
        if rec.hook != hook {
            continue;
        }
        for a in &rec.attachments {
            if let Some(t) = targets
                .iter()
                .find(|t| t.iface == a.iface && t.netns == a.netns)
            {
                if registry::link_alive(&root.join(&other), a) {
                    if rec.chain == Some(Role::Head) {
                        return Err(Error::ChainThere {
                            iface: t.iface.clone(),
                            hook: hook_name(hook),
                            chain: rec.name.clone(),
                        });
                    }
                    return Err(Error::HookTaken {
                        iface: t.iface.clone(),
                        hook: hook_name(hook),
                        other: rec.name.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Attaches the module's program to `iface` (in the calling thread's namespace) through a
/// BPF link; returns the link and, for XDP, the mode it runs in.
fn attach_link(
    module: &mut Module,
    hook: Hook,
    iface: &str,
    choice: ModeChoice,
    notices: &mut Vec<String>,
) -> Result<(FdLink, Option<XdpMode>), Error> {
    let not_a_link = || Error::Attach {
        iface: iface.into(),
        detail: "the kernel attached the program without a BPF link (Linux 5.9 or later \
                 has them); it was detached again"
            .into(),
    };
    let program = module.program_mut()?;
    match hook {
        Hook::Xdp => {
            let xdp: &mut Xdp = program.try_into().map_err(|e| Error::Load(chain(&e)))?;
            let mut attach = |mode: XdpMode| {
                xdp.attach(iface, mode.flags())
                    .map_err(|e| attach_error(iface, "the XDP program", e))
            };
            let (id, mode) = match choice {
                ModeChoice::Generic => (attach(XdpMode::Generic)?, XdpMode::Generic),
                ModeChoice::Native => (attach(XdpMode::Native)?, XdpMode::Native),
                ModeChoice::Auto => match attach(XdpMode::Native) {
                    Ok(id) => (id, XdpMode::Native),
                    Err(e @ Error::HookBusy { .. }) => return Err(e),
                    Err(e) => {
                        let id = attach(XdpMode::Generic)?;
                        notices.push(format!(
                            "native XDP is not available on `{iface}` ({e}); attached in \
                             generic mode instead"
                        ));
                        (id, XdpMode::Generic)
                    }
                },
            };
            let link = xdp.take_link(id).map_err(|e| Error::Load(chain(&e)))?;
            let link = FdLink::try_from(link).map_err(|_| not_a_link())?;
            Ok((link, Some(mode)))
        }
        Hook::TcIngress | Hook::TcEgress => {
            let tc: &mut SchedClassifier =
                program.try_into().map_err(|e| Error::Load(chain(&e)))?;
            let id = tc
                .attach_with_options(
                    iface,
                    tc_direction(hook),
                    TcAttachOptions::TcxOrder(LinkOrder::default()),
                )
                .map_err(|e| attach_error(iface, "the TC program", e))?;
            let link = tc.take_link(id).map_err(|e| Error::Load(chain(&e)))?;
            let link = FdLink::try_from(link).map_err(|_| not_a_link())?;
            Ok((link, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_plain_directory() {
        for ok in ["r1", "edge-router_2", "fw-v2", "A"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "sp ace",
            &"x".repeat(65),
            "é",
        ] {
            assert!(
                matches!(check_name(bad), Err(Error::BadName { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_tc_directions_can_be_switched() {
        assert_eq!(choose_hook(Hook::Xdp, None).unwrap(), Hook::Xdp);
        assert_eq!(
            choose_hook(Hook::TcIngress, Some(Hook::TcEgress)).unwrap(),
            Hook::TcEgress
        );
        let err = choose_hook(Hook::Xdp, Some(Hook::TcIngress)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the object was built for hook xdp and cannot run at tc-ingress"),
            "{err}"
        );
        assert!(choose_hook(Hook::TcEgress, Some(Hook::Xdp)).is_err());
    }
}
