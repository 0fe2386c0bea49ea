//! The runtime's one error type.
//!
//! Takes: failures from object parsing, aya, raw bpf() calls and control-plane checks.
//! Gives: [`Error`], whose message says what went wrong *and how to fix it* (run as root,
//! mount bpffs, pick an existing interface, ...). Control-plane errors are raised before
//! anything is written, so a refused request never changes a map.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while loading, controlling, running or attaching a module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- the object and its manifest -------------------------------------------------------
    #[error("the object is not a readable ELF file ({0}); pass the output of `iov build`")]
    NotAnObject(String),

    #[error(
        "the object has no `{section}` section; it was not produced by `iov build` \
         (rebuild it with `iov build`)"
    )]
    NoManifest { section: &'static str },

    #[error(
        "the object's manifest is unusable: {0}; rebuild the object with this version of `iov`"
    )]
    BadManifest(String),

    #[error(
        "program section `{section}` cannot be loaded for hook {hook}: {fix}; \
         rebuild the object with a matching `iov`"
    )]
    UnsupportedSection {
        section: String,
        hook: String,
        fix: &'static str,
    },

    #[error(
        "the object has no program `{function}` (the manifest names it in section `{section}`)"
    )]
    NoProgram { function: String, section: String },

    #[error("the object has no map `{map}` although the manifest lists it; rebuild the object")]
    NoMap { map: String },

    #[error(
        "map `{map}` does not match the manifest: {what} is {found} in the kernel but {expected} \
         in the manifest; rebuild the object"
    )]
    MapMismatch {
        map: String,
        what: &'static str,
        expected: String,
        found: String,
    },

    // ---- the kernel ------------------------------------------------------------------------
    #[error(
        "permission denied while {doing}: loading and controlling XDP and TC programs needs \
         root, or the capabilities CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON; run as root (sudo) \
         or grant them with `setcap cap_bpf,cap_net_admin,cap_perfmon+ep <binary>`"
    )]
    PermissionDenied { doing: String },

    #[error("the kernel verifier rejected program `{function}` (errno {errno}); its log:\n{log}")]
    Verifier {
        function: String,
        errno: i32,
        log: String,
    },

    #[error("loading the object into the kernel failed: {0}")]
    Load(String),

    #[error("the bpf() call {call} on `{target}` failed: {source}")]
    Syscall {
        call: &'static str,
        target: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "{path} is not a BPF filesystem: mount one with `mount -t bpf bpf /sys/fs/bpf` \
         (or add `bpf /sys/fs/bpf bpf defaults 0 0` to /etc/fstab)"
    )]
    BpffsMissing { path: PathBuf },

    #[error("pinning to {path} failed: {detail}")]
    Pin { path: PathBuf, detail: String },

    // ---- test runs -------------------------------------------------------------------------
    #[error(
        "the packet is {len} bytes but the kernel needs at least 14 (an Ethernet header) to \
         test-run a program; pad the packet"
    )]
    FrameTooShort { len: usize },

    #[error(
        "the kernel refused to test-run a {len}-byte frame on a TC program: skb test runs \
         take at most one page minus headroom (3712 bytes with 4 KiB pages); use a shorter frame"
    )]
    FrameTooLong { len: usize },

    #[error("the repeat count must be at least 1")]
    ZeroRepeat,

    #[error(
        "this object reads the kernel's clock: only a test build (`iov test`) has a clock a \
         test can set"
    )]
    NoClock,

    // ---- attaching -------------------------------------------------------------------------
    #[error(
        "no network interface named `{name}` in {}; list them with `{}`",
        netns_words(.netns), ip_link(.netns)
    )]
    NoInterface {
        name: String,
        netns: Option<PathBuf>,
    },

    #[error(
        "no network namespace `{name}` ({} does not exist); list them with `ip netns list`,          or give a path such as /proc/PID/ns/net",
        .path.display()
    )]
    NoNetns { name: String, path: PathBuf },

    #[error("cannot enter network namespace {}: {detail}", .path.display())]
    Netns { path: PathBuf, detail: String },

    #[error(
        "another program is attached to `{iface}` at this hook ({detail}); see it with \
         `ip link show dev {iface}` or `bpftool net`, and detach it first (`iov unload NAME` \
         if iov loaded it)"
    )]
    HookBusy { iface: String, detail: String },

    #[error("attaching to `{iface}` failed: {detail}")]
    Attach { iface: String, detail: String },

    #[error("this attachment does not belong to this module (it is detached already or came from another module)")]
    NotAttached,

    // ---- deployed modules ------------------------------------------------------------------
    #[error(
        "`{name}` is not a usable module name: use letters, digits, `-` and `_` (at most \
         64; bpffs refuses dots)"
    )]
    BadName { name: String },

    #[error(
        "a module named `{name}` is loaded already ({}); unload it with `iov unload {name}` \
         or choose another name with `--name`",
        .dir.display()
    )]
    NameInUse { name: String, dir: PathBuf },

    #[error("no module named `{name}` is loaded (in {}); loaded modules: {known}", .root.display())]
    UnknownModule {
        name: String,
        root: PathBuf,
        known: String,
    },

    #[error("`{name}` is not a chain ({what}); chains: {known}")]
    NotAChain {
        name: String,
        what: String,
        known: String,
    },

    #[error("`{name}` is not a stage of chain `{chain}`; its stages, in order: {stages}")]
    NotInChain {
        name: String,
        chain: String,
        stages: String,
    },

    #[error("`{name}` could be any of these {what}s: {matches}; write the whole name")]
    AmbiguousName {
        what: String,
        name: String,
        matches: String,
    },

    #[error("`{name}` {why}")]
    ChainRefused { name: String, why: String },

    #[error(
        "chain `{chain}` is attached to `{iface}` at {hook} already; load modules into it \
         (`iov load FILE --chain {chain}`) or delete it first (`iov chain delete {chain}`)"
    )]
    ChainThere {
        iface: String,
        hook: &'static str,
        chain: String,
    },

    #[error("the module record {} is unusable: {why}", .path.display())]
    BadRecord { path: PathBuf, why: String },

    #[error("the object was built for hook {built} and cannot run at {wanted}: {fix}")]
    HookMismatch {
        built: &'static str,
        wanted: &'static str,
        fix: &'static str,
    },

    #[error(
        "module `{name}` was not reloaded (nothing changed): {}",
        .changes.iter().map(|c| format!("\n  - {c}")).collect::<String>()
    )]
    LayoutChanged { name: String, changes: Vec<String> },

    #[error(
        "module `{other}` is attached to `{iface}` at {hook} already; unload it first \
         (`iov unload {other}`), or run several modules there in a chain (`iov chain create`, \
         `iov load FILE --chain CHAIN`)"
    )]
    HookTaken {
        iface: String,
        hook: &'static str,
        other: String,
    },

    #[error(
        "TC modules are attached through tcx links, which need Linux 6.6 or later (this \
         kernel is {kernel}); attach at XDP, or run the program with `iov test`"
    )]
    NoTcx { kernel: String },

    // ---- the control plane -----------------------------------------------------------------
    #[error("no table `{name}` in this program; its tables are: {known}")]
    UnknownTable { name: String, known: String },

    #[error("table `{table}` has no action `{action}`; its actions are: {known}")]
    UnknownAction {
        table: String,
        action: String,
        known: String,
    },

    #[error("no {kind} `{name}` in this program; its {kind}s are: {known}")]
    UnknownExtern {
        kind: &'static str,
        name: String,
        known: String,
    },

    #[error("multicast group `{group}` was left as it was: {why}")]
    GroupRefused { group: String, why: String },

    #[error("{owner} has no {what} `{name}`; its {what}s are: {known}")]
    UnknownName {
        what: String,
        name: String,
        owner: String,
        known: String,
    },

    #[error("no value for {what} `{name}` of {owner}")]
    MissingName {
        what: String,
        name: String,
        owner: String,
    },

    #[error("{what} `{name}` is given twice")]
    DuplicateName { what: String, name: String },

    #[error(
        "{cause}; putting table `{table}` back as it was failed too ({detail}): check it \
         with `iov table MODULE list {table}`"
    )]
    Rollback {
        cause: String,
        table: String,
        detail: String,
    },

    #[error("table `{table}` has {expected} key field(s) ({fields}) but {found} were given")]
    KeyCount {
        table: String,
        expected: usize,
        found: usize,
        fields: String,
    },

    #[error("action `{action}` takes {expected} argument(s) ({params}) but {found} were given")]
    ArgCount {
        action: String,
        expected: usize,
        found: usize,
        params: String,
    },

    #[error("{what} = {value} does not fit in {bits} bits (the largest value is {max})")]
    TooWide {
        what: String,
        value: u128,
        bits: u32,
        max: u128,
    },

    #[error("prefix /{len} of {what} is longer than the field's {bits} bits")]
    PrefixTooLong { what: String, len: u32, bits: u32 },

    #[error(
        "{what} = {value}/{len} has bits set after the first {len}; write {masked}/{len} \
         (the value with those bits cleared)"
    )]
    HostBits {
        what: String,
        value: u128,
        len: u32,
        masked: u128,
    },

    #[error(
        "{what} = {value:#x} &&& {mask:#x} has bits set outside the mask; write \
         {masked:#x} &&& {mask:#x} (the value with those bits cleared)"
    )]
    MaskBits {
        what: String,
        value: u128,
        mask: u128,
        masked: u128,
    },

    #[error("{what} = {low}..{high} is empty (its low bound is above its high bound); write {high}..{low}")]
    EmptyRange { what: String, low: u128, high: u128 },

    #[error("{what} is a `{kind}` match and cannot take {given}; give {accepts}")]
    WrongMatch {
        what: String,
        kind: &'static str,
        given: &'static str,
        accepts: &'static str,
    },

    #[error("table `{table}` is full ({size} entries); delete an entry first or enlarge the table's `size`")]
    TableFull { table: String, size: u32 },

    #[error("table `{table}` already holds {masks} distinct masks, the most it can; use a mask its entries already use, delete every entry of another mask first, or raise the table's `masks`")]
    MasksFull { table: String, masks: u32 },

    #[error("table `{table}` already has an entry with these keys; change it with `modify` (`Module::modify_entry`) or delete it first")]
    EntryExists { table: String },

    #[error("table `{table}` has no entry with these keys")]
    NoEntry { table: String },

    #[error(
        "priority 0 is not allowed in table `{table}`: 0 marks an empty slot; priorities \
         start at 1 and the higher one wins"
    )]
    ZeroPriority { table: String },

    #[error(
        "table `{table}` has only exact and lpm keys, so its entries have no priority; add \
         the entry without one"
    )]
    NoPriority { table: String },

    #[error(
        "table `{table}` has no direct counter; attach one with `counters = NAME;` in the \
         table (NAME a `direct_counter`)"
    )]
    NoDirectCounter { table: String },

    #[error(
        "the entries of table `{table}` are `const` in the program; change them in the source"
    )]
    ConstEntries { table: String },

    #[error(
        "the default action of table `{table}` is `const` in the program; change it in the source"
    )]
    ConstDefault { table: String },

    #[error("meter `{name}`: {why}")]
    BadMeter { name: String, why: String },

    #[error("index {index} is out of range for {kind} `{name}` of size {size} (valid: 0..{size})")]
    IndexOutOfRange {
        kind: &'static str,
        name: String,
        index: u32,
        size: u32,
    },

    #[error("map `{map}` holds action id {id}, which the manifest does not know; the object and the maps are out of step")]
    UnknownActionId { map: String, id: u32 },
}

impl Error {
    /// Whether this refuses the request itself (an unknown name, a value that does not fit,
    /// an entry that exists, a taken name or hook: the caller asked for something wrong,
    /// `iov` exits 1), rather than reporting the environment (privileges, bpffs, a missing
    /// interface, namespace or module: exit 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::UnknownTable { .. }
                | Error::UnknownAction { .. }
                | Error::UnknownExtern { .. }
                | Error::GroupRefused { .. }
                | Error::UnknownName { .. }
                | Error::MissingName { .. }
                | Error::DuplicateName { .. }
                | Error::KeyCount { .. }
                | Error::ArgCount { .. }
                | Error::TooWide { .. }
                | Error::PrefixTooLong { .. }
                | Error::HostBits { .. }
                | Error::MaskBits { .. }
                | Error::EmptyRange { .. }
                | Error::WrongMatch { .. }
                | Error::TableFull { .. }
                | Error::MasksFull { .. }
                | Error::EntryExists { .. }
                | Error::NoEntry { .. }
                | Error::ZeroPriority { .. }
                | Error::NoPriority { .. }
                | Error::NoDirectCounter { .. }
                | Error::ConstEntries { .. }
                | Error::ConstDefault { .. }
                | Error::IndexOutOfRange { .. }
                | Error::BadMeter { .. }
                | Error::Rollback { .. }
                | Error::NameInUse { .. }
                | Error::HookTaken { .. }
                | Error::HookBusy { .. }
                | Error::HookMismatch { .. }
                | Error::LayoutChanged { .. }
                | Error::NotAChain { .. }
                | Error::NotInChain { .. }
                | Error::ChainRefused { .. }
                | Error::AmbiguousName { .. }
                | Error::ChainThere { .. }
        )
    }

    /// The error for a failed bpf() call, turning EPERM into [`Error::PermissionDenied`].
    pub(crate) fn syscall(call: &'static str, target: &str, source: io::Error) -> Error {
        if is_permission(&source) {
            return Error::PermissionDenied {
                doing: format!("calling {call} on `{target}`"),
            };
        }
        Error::Syscall {
            call,
            target: target.to_string(),
            source,
        }
    }
}

fn netns_words(ns: &Option<PathBuf>) -> String {
    match ns {
        Some(p) => format!("network namespace {}", p.display()),
        None => "this network namespace".into(),
    }
}

fn ip_link(ns: &Option<PathBuf>) -> String {
    match ns {
        Some(p) if p.starts_with(crate::netns::NETNS_DIR) => format!(
            "ip -n {} link",
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ),
        Some(p) => format!("nsenter --net={} ip link", p.display()),
        None => "ip link".into(),
    }
}

/// Whether an I/O error means "not allowed" (no root, no CAP_BPF).
pub(crate) fn is_permission(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM))
}

/// The first I/O error in an error's chain of sources.
pub(crate) fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

/// An error and all its sources on one line (`a: b: c`).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let part = err.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = err.source();
    }
    text
}

/// `a, b, c`, or `(none)`.
pub(crate) fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    }
}
