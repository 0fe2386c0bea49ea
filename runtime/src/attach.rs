//! Attaching a loaded module's program to a network interface, and detaching it.
//!
//! Takes: a [`Module`], an interface name in the caller's network namespace and, for XDP,
//! a mode (generic: in the kernel's stack, works on every device; native: in the driver).
//! Gives: an [`Attachment`] to pass back to [`Module::detach`]. XDP attaches through a BPF
//! link (Linux 5.9 and later); TC attaches to the manifest's direction through a tcx link
//! (6.6 and later) or, on older kernels, a netlink filter under a `clsact` qdisc it adds.
//! The module holds each link; detaching, or dropping the module, detaches it explicitly
//! (`BPF_LINK_DETACH`), so the program has stopped when the call returns.

use crate::error::{chain, io_cause, is_permission};
use crate::{sys, Error, Module};
use aya::programs::links::FdLink;
use aya::programs::tc::{qdisc_add_clsact, SchedClassifierLinkId};
use aya::programs::{ProgramError, SchedClassifier, TcAttachType, Xdp};
use aya::util::KernelVersion;
use iov_manifest::Hook;
use std::ffi::CString;
use std::os::fd::AsFd;

/// Where an XDP program runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XdpMode {
    /// In the kernel's network stack (`xdpgeneric`): works on every device.
    #[default]
    Generic,
    /// In the device driver (`xdpdrv`): fast, needs a driver with XDP support.
    Native,
}

impl XdpMode {
    /// aya's attach mode for this one.
    pub(crate) fn flags(self) -> aya::programs::XdpMode {
        match self {
            XdpMode::Generic => aya::programs::XdpMode::Skb,
            XdpMode::Native => aya::programs::XdpMode::Driver,
        }
    }
}

/// The TC direction of a TC hook (egress for anything but ingress).
pub(crate) fn tc_direction(hook: Hook) -> TcAttachType {
    if hook == Hook::TcIngress {
        TcAttachType::Ingress
    } else {
        TcAttachType::Egress
    }
}

/// A program attached to an interface; give it back to [`Module::detach`].
#[derive(Debug)]
pub struct Attachment {
    iface: String,
    link: Link,
}

#[derive(Debug)]
enum Link {
    /// A BPF link (XDP, tcx), by its kernel id; the module holds its descriptor.
    Fd(u32),
    /// A TC filter attached through netlink (kernels before 6.6).
    Netlink(SchedClassifierLinkId),
}

impl Attachment {
    /// The interface the program is attached to.
    pub fn interface(&self) -> &str {
        &self.iface
    }
}

/// Refuses an interface name that does not exist in this network namespace.
fn check_interface(iface: &str) -> Result<(), Error> {
    let missing = || Error::NoInterface {
        name: iface.into(),
        netns: None,
    };
    let name = CString::new(iface).map_err(|_| missing())?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(missing());
    }
    Ok(())
}

/// Turns an aya attach failure into an error that says what to do.
pub(crate) fn attach_error(iface: &str, what: &str, e: ProgramError) -> Error {
    if let ProgramError::UnknownInterface { .. } = e {
        return Error::NoInterface {
            name: iface.into(),
            netns: None,
        };
    }
    let errno = io_cause(&e).and_then(|io| io.raw_os_error());
    if io_cause(&e).is_some_and(is_permission) {
        return Error::PermissionDenied {
            doing: format!("attaching {what} to `{iface}`"),
        };
    }
    if let Some(libc::EBUSY | libc::EEXIST) = errno {
        return Error::HookBusy {
            iface: iface.into(),
            detail: chain(&e),
        };
    }
    let hint = match errno {
        Some(libc::EOPNOTSUPP) => {
            "; the driver has no native XDP support: attach in generic mode".to_string()
        }
        _ => String::new(),
    };
    Error::Attach {
        iface: iface.into(),
        detail: format!("{}{hint}", chain(&e)),
    }
}

impl Module {
    /// Attaches the program to `iface` at the manifest's hook (`mode` applies to XDP only).
    pub fn attach(&mut self, iface: &str, mode: XdpMode) -> Result<Attachment, Error> {
        check_interface(iface)?;
        let hook = self.manifest.hook;
        let not_a_link = || Error::Attach {
            iface: iface.into(),
            detail: "the kernel attached the program without a BPF link (Linux 5.9 or later \
                     has them); it was detached again"
                .into(),
        };
        let program = self.program_mut()?;
        let link = match hook {
            Hook::Xdp => {
                let xdp: &mut Xdp = program.try_into().map_err(|e| Error::Load(chain(&e)))?;
                let id = xdp
                    .attach(iface, mode.flags())
                    .map_err(|e| attach_error(iface, "the XDP program", e))?;
                let link = xdp.take_link(id).map_err(|e| Error::Load(chain(&e)))?;
                FdLink::try_from(link).map_err(|_| not_a_link())?
            }
            Hook::TcIngress | Hook::TcEgress => {
                let tc: &mut SchedClassifier =
                    program.try_into().map_err(|e| Error::Load(chain(&e)))?;
                let direction = tc_direction(hook);
                let tcx = KernelVersion::current().is_ok_and(|v| v >= KernelVersion::new(6, 6, 0));
                if !tcx {
                    // Older kernels attach through netlink, under a clsact qdisc; it may
                    // exist already, which is fine. Such a filter has no descriptor.
                    let _ = qdisc_add_clsact(iface);
                }
                let id = tc
                    .attach(iface, direction)
                    .map_err(|e| attach_error(iface, "the TC program", e))?;
                if !tcx {
                    return Ok(Attachment {
                        iface: iface.into(),
                        link: Link::Netlink(id),
                    });
                }
                let link = tc.take_link(id).map_err(|e| Error::Load(chain(&e)))?;
                FdLink::try_from(link).map_err(|_| not_a_link())?
            }
        };
        let id = link.info().map_err(|e| Error::Load(chain(&e)))?.id();
        self.attached.push((id, link));
        Ok(Attachment {
            iface: iface.into(),
            link: Link::Fd(id),
        })
    }

    /// Detaches a program [`Module::attach`] attached; when it returns, the program sees
    /// no more packets.
    ///
    /// A BPF link lives as long as any descriptor of it is open, and a `fork` anywhere in
    /// the process (another thread starting a command) copies every descriptor until the
    /// child's `exec`: closing ours would leave the program running for that while. So
    /// the link is detached explicitly (`BPF_LINK_DETACH`) before it is closed.
    pub fn detach(&mut self, attachment: Attachment) -> Result<(), Error> {
        let failed = |e: String| Error::Attach {
            iface: attachment.iface.clone(),
            detail: format!("detaching: {e}"),
        };
        match attachment.link {
            Link::Fd(id) => {
                let at = self
                    .attached
                    .iter()
                    .position(|(held, _)| *held == id)
                    .ok_or(Error::NotAttached)?;
                let (_, link) = self.attached.remove(at);
                let result = detach_now(id);
                drop(link);
                result.map_err(|e| failed(e.to_string()))
            }
            Link::Netlink(id) => {
                let program = self.program_mut().map_err(|_| Error::NotAttached)?;
                let tc: &mut SchedClassifier =
                    program.try_into().map_err(|_| Error::NotAttached)?;
                tc.detach(id).map_err(|e| match e {
                    ProgramError::NotAttached => Error::NotAttached,
                    other => failed(chain(&other)),
                })
            }
        }
    }
}

/// Detaches the link whose kernel id is `id` (gone already counts as done).
fn detach_now(id: u32) -> std::io::Result<()> {
    let fd = match sys::link_by_id(id) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        // Without CAP_SYS_ADMIN: the module holds the link open, so find that descriptor.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => sys::held_link(id).ok_or(e)?,
        other => other?,
    };
    match sys::link_detach(fd.as_fd()) {
        Err(e) if e.raw_os_error() == Some(libc::ENOLINK) => Ok(()),
        other => other,
    }
}

/// What dropping a module does for each link it still holds: detach, ignoring failure
/// (there is no one to tell; the descriptor is closed right after in any case).
pub(crate) fn detach_link_id(id: u32) {
    let _ = detach_now(id);
}
