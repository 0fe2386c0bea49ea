//! Running a loaded program on a packet in the kernel (`BPF_PROG_TEST_RUN`).
//!
//! Takes: a [`Module`] and the bytes of an Ethernet frame.
//! Gives: [`RunResult`]: the program's return value, the frame as the program left it, the
//! kernel-measured duration and, for test builds whose manifest names a verdict map, the
//! decoded [`Verdict`] of that packet; [`Module::run_repeat`] gives the average time of many
//! runs. XDP programs see an `xdp_md` context, TC programs an skb built from the same bytes.
//! Measured on kernel 6.18 (4 KiB pages): skb runs take at most 3712 bytes; XDP runs take
//! longer frames too, but a program without `xdp.frags` sees only their first 3520 bytes.

use crate::sys::{self, Update};
use crate::{Error, Module};
use iov_manifest::{verdict, Hook};
use std::time::Duration;

/// The smallest frame the kernel test-runs: an Ethernet header.
pub const MIN_FRAME: usize = 14;

/// Where the program sent the packet, as the verdict map of a test build records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictAction {
    Pass,
    Drop,
    Redirect,
    Reflect,
    /// `multicast(group)`: a copy out of every port of the group `port` (its index in the
    /// manifest's `groups`).
    Multicast,
    /// `flood(group)`: as `Multicast`, but not out of the port the packet came in on.
    Flood,
    /// A code this runtime does not know (a newer compiler).
    Other(u32),
}

/// The decision a test build recorded for the last packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: VerdictAction,
    /// The egress port for [`VerdictAction::Redirect`], the group's index for
    /// [`VerdictAction::Multicast`] and [`VerdictAction::Flood`], else whatever the program left.
    pub port: u32,
    /// The parser's error by its value in the manifest's `errors` (0, `NoError`, when the
    /// parser accepted the packet); a packet with another error is always dropped.
    pub error: u32,
    /// The port a copy went to through `clone(port)`, the kernel having taken it; 0: none.
    pub clone: u32,
}

/// What one run of the program did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The program's return value (`XDP_PASS` = 2, `TC_ACT_OK` = 0, ...).
    pub retval: u32,
    /// The packet after the program ran (rewritten, grown or shrunk).
    pub data: Vec<u8>,
    /// How long the run took, as the kernel measured it.
    pub duration: Duration,
    /// The recorded decision, when the manifest has a verdict map and the program wrote it.
    pub verdict: Option<Verdict>,
}

/// What `repeat` runs of the program did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatResult {
    /// The return value of the last run: check it to know which path was measured.
    pub retval: u32,
    /// Average nanoseconds per run.
    pub avg_ns: u32,
    pub repeat: u32,
}

impl Module {
    /// Runs the program once on `packet`.
    pub fn run(&self, packet: &[u8]) -> Result<RunResult, Error> {
        self.run_on(packet, 0)
    }

    /// Runs the program once on `packet` arriving on interface `port` (an index in the
    /// calling thread's network namespace; 0: no interface named, the kernel's default,
    /// the loopback). The kernel refuses an index no interface of that namespace has.
    pub fn run_on(&self, packet: &[u8], port: u32) -> Result<RunResult, Error> {
        self.clear_verdict()?;
        let ctx = (port != 0).then(|| self.ctx_for(packet.len(), port));
        let run = self
            .test_run(packet, 1, ctx.as_deref())
            .map_err(|e| match e {
                Error::Syscall { source, .. } if source.raw_os_error() == Some(libc::ENODEV) => {
                    Error::Load(format!(
                    "no interface has index {port} here, so no packet can arrive on port {port}"
                ))
                }
                e => e,
            })?;
        Ok(RunResult {
            retval: run.retval,
            data: run.data,
            duration: Duration::from_nanos(u64::from(run.duration_ns)),
            verdict: self.read_verdict()?,
        })
    }

    /// Runs the program `repeat` times on `packet` and returns the average time per run.
    ///
    /// An XDP program runs again on the frame its previous run left behind (a router that
    /// decrements the TTL ends up dropping), so check `retval` and the counters to know
    /// which path the average measured.
    pub fn run_repeat(&self, packet: &[u8], repeat: u32) -> Result<RepeatResult, Error> {
        if repeat == 0 {
            return Err(Error::ZeroRepeat);
        }
        let run = self.test_run(packet, repeat, None)?;
        Ok(RepeatResult {
            retval: run.retval,
            avg_ns: run.duration_ns,
            repeat,
        })
    }

    /// XDP only: `repeat` runs in the kernel's live-frames mode, where every run starts from
    /// a fresh copy of `packet` and the kernel carries out the verdict (a redirect or a
    /// broadcast really transmits, as on a device); the average nanoseconds per frame,
    /// that work included. Nothing is returned of the frames; count them where they land.
    pub fn run_live(&self, packet: &[u8], repeat: u32) -> Result<u32, Error> {
        if repeat == 0 {
            return Err(Error::ZeroRepeat);
        }
        if packet.len() < MIN_FRAME {
            return Err(Error::FrameTooShort { len: packet.len() });
        }
        let fd = self.program_fd()?;
        sys::test_run_live(fd, packet, repeat)
            .map_err(|e| Error::syscall("BPF_PROG_TEST_RUN", &self.manifest.function, e))
    }

    /// The context of a test run on interface `port`: `struct xdp_md` (data 0, data_end the
    /// length, ingress_ifindex), or the start of `struct __sk_buff` through `ifindex` (both
    /// `ingress_ifindex` at 36 and `ifindex` at 40 set).
    fn ctx_for(&self, len: usize, port: u32) -> Vec<u8> {
        let words: Vec<u32> = if self.manifest.hook == Hook::Xdp {
            vec![0, len as u32, 0, port, 0, 0]
        } else {
            let mut w = vec![0u32; 11];
            w[9] = port;
            w[10] = port;
            w
        };
        words.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    fn test_run(
        &self,
        packet: &[u8],
        repeat: u32,
        ctx: Option<&[u8]>,
    ) -> Result<sys::TestRun, Error> {
        if packet.len() < MIN_FRAME {
            return Err(Error::FrameTooShort { len: packet.len() });
        }
        let fd = self.program_fd()?;
        let tc = self.manifest.hook != Hook::Xdp;
        sys::test_run(fd, packet, repeat, ctx).map_err(|e| {
            if tc && e.raw_os_error() == Some(libc::EINVAL) && packet.len() > 1514 {
                return Error::FrameTooLong { len: packet.len() };
            }
            Error::syscall("BPF_PROG_TEST_RUN", &self.manifest.function, e)
        })
    }

    /// Sets the clock a test build's `timestamp()` reads, in nanoseconds (it starts at 0).
    /// A build for production reads the kernel's clock: then this is `Error::NoClock`.
    pub fn set_clock(&self, ns: u64) -> Result<(), Error> {
        let name = self.manifest.clock_map.as_ref().ok_or(Error::NoClock)?;
        self.map(name)?
            .update(&0u32.to_ne_bytes(), &ns.to_ne_bytes(), Update::Any)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", name, e))
    }

    /// The test clock's time in nanoseconds (see [`Module::set_clock`]).
    pub fn clock(&self) -> Result<u64, Error> {
        let name = self.manifest.clock_map.as_ref().ok_or(Error::NoClock)?;
        let value = self
            .map(name)?
            .lookup(&0u32.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", name, e))?
            .unwrap_or_default();
        Ok(value
            .get(..8)
            .map_or(0, |b| u64::from_ne_bytes(b.try_into().expect("8 bytes"))))
    }

    fn clear_verdict(&self) -> Result<(), Error> {
        let Some(name) = &self.manifest.verdict_map else {
            return Ok(());
        };
        self.map(name)?
            .update(&0u32.to_ne_bytes(), &[0; verdict::SIZE], Update::Any)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", name, e))
    }

    fn read_verdict(&self) -> Result<Option<Verdict>, Error> {
        let Some(name) = &self.manifest.verdict_map else {
            return Ok(None);
        };
        let value = self
            .map(name)?
            .lookup(&0u32.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", name, e))?
            .unwrap_or_default();
        if value.len() < verdict::SIZE {
            return Ok(None);
        }
        let word = |at: usize| u32::from_ne_bytes(value[at..at + 4].try_into().expect("4 bytes"));
        let action = match word(0) {
            0 => return Ok(None),
            verdict::PASS | verdict::CLASS => VerdictAction::Pass,
            verdict::DROP => VerdictAction::Drop,
            verdict::REDIRECT => VerdictAction::Redirect,
            verdict::REFLECT => VerdictAction::Reflect,
            verdict::MULTICAST => VerdictAction::Multicast,
            verdict::FLOOD => VerdictAction::Flood,
            other => VerdictAction::Other(other),
        };
        Ok(Some(Verdict {
            action,
            port: word(4),
            error: word(8),
            clone: word(12),
        }))
    }
}
