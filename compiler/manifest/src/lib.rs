//! The manifest: the documented, versioned contract between the compiler and the runtime.
//!
//! Takes: built by code generation from the checked program and the maps it emitted.
//! Gives: a description of everything a compiled program exposes to the control plane, with
//! the exact byte layout of every map key and value, so the runtime can offer typed table,
//! counter and register operations without knowing the source. Carried inside the object in
//! the ELF section [`SECTION`] as JSON and printed by `iov build --emit manifest`.
//! The format is described in docs/manifest.md; [`VERSION`] changes when a field changes
//! meaning or disappears (adding fields does not change it).
//!
//! Byte layout rules (the same for every key and value):
//! - every control-plane value (key field, action parameter) is stored big-endian (network
//!   order) in `bytes = ceil(bits / 8)` bytes, right-aligned (high bits zero);
//! - a table value is `u32 action_id` (host order) followed by the action's parameters at the
//!   offsets given here;
//! - an `lpm` table key is `u32 prefix_len` (host order) followed by the key fields; exact
//!   fields come first, and the prefix length counts stored bits: every byte of the exact
//!   fields, then the lpm field's high padding bits and its prefix;
//! - an `array` table (any `ternary`, `range` or `optional` key) is an array map of `size`
//!   slots of `key_size + value_size` bytes, scanned from slot 0 until the first empty slot;
//!   the first slot that matches wins. A slot is `u32 priority` (host order; 0 = empty),
//!   then for each key field two values `a`, `b` of `bytes` bytes at `offset` and
//!   `offset + bytes` (offsets counted after the priority): `exact` a = value, b = all ones;
//!   `ternary` a = value & mask, b = mask; `optional` a = value, b = all ones, or both zero
//!   for "any"; `lpm` a = value & mask, b = the prefix mask; `range` a = low, b = high
//!   (inclusive). The table value follows at `key_size`. Writers keep slots sorted by
//!   descending priority, so the scan finds the highest priority first (since tuple-space
//!   tables came, only tables with a `range` key are arrays);
//! - a `tuple_space` table (a `ternary` or `optional` key, no `range` key) is a hash map of
//!   entries and an array of masks ([`TupleSpace`]). An entry's key is `u32 mask_slot`
//!   (host order) then each field's value ANDed with its mask, at `offset` after the slot
//!   index, in `key_size` bytes (a multiple of 8); its value is the table value with a
//!   `u64 rank` (host order) at `rank_offset`: `priority << 32 | (u32::MAX - seq)`, `seq`
//!   counting adds, so the higher priority and then the earlier add wins. A mask slot is
//!   `u32 state` (0 = end of the masks, 1 = live, 2 = a hole to skip) and each field's mask
//!   at the same offsets, then at `key_size` a `u32` flag (1: the mask holds one entry) and
//!   that entry's masked fields, then `u32 entries` and a writers' word at `2 * key_size`,
//!   then the `u64` highest rank of its entries; slot 0 is the writers' header
//!   (docs/manifest.md). A lookup probes every live mask up to the first slot in state 0
//!   (skipping the hash lookup where the one entry's fields differ, or where the mask's
//!   highest rank cannot beat the match found) and keeps the entry of the highest rank;
//! - a table with a `direct_counter` keeps `{u64 packets; u64 bytes}` (host order, updated
//!   atomically) at `direct_counter.offset` in every entry's value, counted on hits;
//! - a table with a `direct_meter` keeps a `u32` cell index (host order) at
//!   `direct_meter.offset` in every entry's value: the entry's cell in the meter's map.

use serde::{Deserialize, Serialize};

/// The manifest format's version.
pub const VERSION: u32 = 1;

/// The ELF section that carries the manifest inside a compiled object.
pub const SECTION: &str = ".iov.manifest";

/// The verdict record's `error` when the deparser had to move the packet start and the
/// kernel refused (no headroom; at TC a packet that cannot shrink): the packet is dropped.
/// Other values are the parser's error by its value in `errors`.
pub const VERDICT_MOVE_REFUSED: u32 = u32::MAX;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// The program's name (its file name without `.iov`).
    pub program: String,
    pub hook: Hook,
    /// ELF section and symbol of the BPF program.
    pub section: String,
    pub function: String,
    pub tables: Vec<Table>,
    pub counters: Vec<Counter>,
    pub registers: Vec<Register>,
    /// Token-bucket meters (layout in [`meter`]); absent in manifests from before meters.
    #[serde(default)]
    pub meters: Vec<Meter>,
    /// Digests: records the program sends to user space (absent before digests).
    #[serde(default)]
    pub digests: Vec<Digest>,
    /// Multicast groups: sets of ports the control plane fills, that `multicast` and
    /// `flood` send copies out of (absent before replication).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// Members of `error`, by value.
    pub errors: Vec<String>,
    /// A map of one `Verdict` recording the last packet's decision, present only in test
    /// builds (`iov test`), where the runtime reads it to observe where a packet went.
    pub verdict_map: Option<String>,
    /// In test builds only: the one-element array of `u64` that `timestamp()` reads instead of
    /// the kernel's clock, so a test sets the time (see docs/stf.md, `advance_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_map: Option<String>,
    /// The maps through which the program runs as a stage of a chain (absent in objects
    /// built before chains existed; such a program can run alone only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainMaps>,
}

/// A program's place in a chain. Where the program would pass a packet to the kernel, it
/// tail-calls the program in slot 0 of `next`; an empty slot (a program loaded alone, or the
/// last stage) falls through, and the packet passes as it would without a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainMaps {
    /// A program array of one slot (key and value `u32`, host order).
    pub next: String,
    /// A per-CPU array of one `u64` (host order): the packets the program received.
    pub packets: String,
    /// Present when the program calls `pass_to_class`: the program array whose slot `k`
    /// holds the chain that `pass_to_class(k)` hands packets to (an empty slot passes the
    /// packet on through `next`, as `pass()` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<ClassMaps>,
}

/// The class chains a program hands packets to (`pass_to_class`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassMaps {
    /// A program array (key and value `u32`, host order).
    pub map: String,
    /// Its slots: `pass_to_class(k)` with `k` at or past this passes as `pass()` does.
    pub slots: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    Xdp,
    TcIngress,
    TcEgress,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapKind {
    /// BPF_MAP_TYPE_HASH: exact keys.
    Hash,
    /// BPF_MAP_TYPE_LPM_TRIE: one lpm key after any exact keys.
    LpmTrie,
    /// BPF_MAP_TYPE_ARRAY of priority-ordered slots, scanned in order: tables with a
    /// `range` key.
    Array,
    /// Tuple-space search: a BPF_MAP_TYPE_HASH of entries keyed by (mask slot, masked key)
    /// and an array of the distinct masks ([`TupleSpace`]), each probed once per lookup:
    /// tables with `ternary` or `optional` keys and no `range` key.
    TupleSpace,
}

/// The masks of a `tuple_space` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TupleSpace {
    /// A BPF_MAP_TYPE_ARRAY of `masks + 1` slots of `2 * key_size + 16` bytes: slot 0 is the
    /// writers' header, slots 1 to `masks` hold one distinct mask each.
    pub masks_map: String,
    /// The most distinct masks the table holds; a lookup probes each live one.
    pub masks: u32,
    /// Where the entry's `u64` rank (host order) sits in its value: the higher wins.
    pub rank_offset: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Exact,
    Lpm,
    Ternary,
    Range,
    Optional,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// `Control.table`, as written in the program.
    pub name: String,
    /// The BPF map of entries, and the one-element array map holding the default action.
    pub map: String,
    pub default_map: String,
    pub kind: MapKind,
    pub size: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub keys: Vec<KeyField>,
    pub actions: Vec<Action>,
    pub default_action: ActionCall,
    /// `const default_action`: the control plane cannot change it.
    pub default_const: bool,
    /// `const entries`, installed by the runtime when the program is loaded; the table is
    /// then read-only for the control plane when `entries_const` is true.
    pub entries: Vec<Entry>,
    pub entries_const: bool,
    /// The table's `direct_counter`, when it has one.
    #[serde(default)]
    pub direct_counter: Option<DirectCounter>,
    /// The table's `direct_meter`, when it has one (absent before direct meters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_meter: Option<DirectMeter>,
    /// Set when the data plane writes the table (`add_on_miss`) or its entries expire
    /// (`idle_timeout`): its map is then an LRU hash, which evicts the least recently used
    /// entry when an add finds it full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_plane: Option<DataPlane>,
    /// The masks of a `tuple_space` table (absent for every other kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuple_space: Option<TupleSpace>,
}

/// How the data plane writes a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPlane {
    /// Actions of the table may add the key just looked up (`add_entry`).
    pub add_on_miss: bool,
    /// An entry not hit for this long is a miss and is deleted at its next lookup.
    pub idle_timeout_ns: Option<u64>,
    /// Where each entry keeps the time (ns, host order `u64`) it was added or last hit.
    pub last_used_offset: Option<u32>,
}

/// A counter kept in every entry of a table, counted when the entry is hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectCounter {
    /// `Control.name` of the `direct_counter` instance.
    pub name: String,
    /// Byte offset of `{u64 packets; u64 bytes}` in the table value.
    pub offset: u32,
}

/// A meter kept for every entry of a table: the entry's value holds the index (`u32`, host
/// order) of its cell in the meter's map, given by the control plane when it adds the entry
/// (1 to the table's size; cell 0 is never configured, so a miss, whose default slot holds
/// 0, is green).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectMeter {
    /// `Control.name` of the `direct_meter` instance (also in `meters`, with `table` set).
    pub name: String,
    /// Byte offset of the cell index in the table value.
    pub offset: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyField {
    /// The key expression as written (`hdr.ipv4.dst`).
    pub name: String,
    pub bits: u32,
    pub match_kind: MatchKind,
    /// Byte offset in the map key (after the lpm prefix length, which is not counted here).
    pub offset: u32,
    pub bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub name: String,
    /// The value stored in the first four bytes of a table value; 0 is never used.
    pub id: u32,
    pub params: Vec<Param>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub bits: u32,
    /// Byte offset in the table value (after the four-byte action id, which is counted).
    pub offset: u32,
    pub bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCall {
    pub action: String,
    /// Argument values, one per parameter, as decimal strings (values may be 128 bits wide).
    pub args: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// One per key field.
    pub keys: Vec<KeyMatch>,
    pub action: ActionCall,
    /// For `array` tables: higher wins. Const entries get priorities from their order, the
    /// first listed highest.
    #[serde(default)]
    pub priority: u32,
}

/// How one key field of an entry matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum KeyMatch {
    /// Exactly this value (decimal string).
    Value { value: String },
    /// The first `len` bits of `value`.
    Prefix { value: String, len: u32 },
    /// Anything (`_`).
    Any,
    /// `value &&& mask` (ternary keys).
    Mask { value: String, mask: String },
    /// `low..high`, inclusive (range keys).
    Range { low: String, high: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterKind {
    Packets,
    Bytes,
    PacketsAndBytes,
}

/// A `counter`: a per-CPU array of `{ u64 packets; u64 bytes }`, summed by the runtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// `Control.name`.
    pub name: String,
    pub map: String,
    pub size: u32,
    pub kind: CounterKind,
}

/// A `meter`: an array of `size` token-bucket meters, set up by the control plane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    /// `Control.name`.
    pub name: String,
    pub map: String,
    pub size: u32,
    /// What a packet takes from the buckets: one token, or one per byte.
    pub kind: MeterKind,
    /// A `direct_meter`: `Control.name` of the table whose entries each own a cell
    /// (`size` is then the table's size plus cell 0, see [`DirectMeter`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeterKind {
    Packets,
    Bytes,
}

/// A `digest<T>`: records sent through a BPF ring buffer, `bytes` long each: `T`'s fields
/// in order, big-endian, packed bit by bit as a header is (the last byte filled with zero
/// bits). Records the ring buffer had no room for are counted in `drops_map`, a per-CPU
/// array of one `u64`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// `Control.name`.
    pub name: String,
    pub map: String,
    pub drops_map: String,
    /// The ring buffer's size in bytes.
    pub ring_bytes: u32,
    pub bytes: u32,
    pub fields: Vec<DigestField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestField {
    pub name: String,
    pub bits: u32,
}

/// A meter cell: host-order fields at these byte offsets; tokens and bursts are counted in
/// nano-tokens (tokens x 10^9), so a rate in tokens per second adds `rate` nano-tokens per
/// nanosecond with no division.
pub mod meter {
    /// `struct bpf_spin_lock` (the program holds it while it updates the cell).
    pub const LOCK: usize = 0;
    /// `u32`: 0 unconfigured (every packet is green), 1 srTCM (RFC 2697), 2 trTCM (RFC 2698).
    pub const MODE: usize = 4;
    /// `u32`: 0 until the first packet, which starts the clock without adding tokens.
    pub const STARTED: usize = 8;
    /// `u64` committed information rate, tokens per second.
    pub const CIR: usize = 16;
    /// `u64` peak information rate (trTCM), tokens per second; 0 for srTCM.
    pub const PIR: usize = 24;
    /// `u64` committed burst, nano-tokens: the C bucket's size.
    pub const CBS: usize = 32;
    /// `u64` excess (srTCM) or peak (trTCM) burst, nano-tokens: the E or P bucket's size.
    pub const EBS: usize = 40;
    /// `u64` nano-tokens in the C bucket.
    pub const TC: usize = 48;
    /// `u64` nano-tokens in the E or P bucket.
    pub const TE: usize = 56;
    /// `u64` the time of the last update, ns.
    pub const LAST: usize = 64;
    /// `u64` elapsed ns past which the C bucket (srTCM: C and E) is full whatever it held.
    pub const FILL_C: usize = 72;
    /// `u64` elapsed ns past which the P bucket (trTCM) is full.
    pub const FILL_P: usize = 80;
    pub const SIZE: usize = 88;
    pub const UNCONFIGURED: u32 = 0;
    pub const SRTCM: u32 = 1;
    pub const TRTCM: u32 = 2;
}

/// A `register<T>`: an array of `size` values, each stored in a host-order u64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    pub name: String,
    pub map: String,
    pub size: u32,
    pub bits: u32,
    /// The value every cell starts with (`register<T>(size, initial)`). A cell stores its
    /// value minus `initial` (wrapping), so the zeroed map any loader creates holds `initial`
    /// everywhere; readers add it back.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub initial: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A multicast group (`multicast_group(size) NAME;`): the ports, by interface index, that
/// `multicast(NAME)` and `flood(NAME)` send a copy out of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Qualified with its control: `SwitchIngress.ports`.
    pub name: String,
    pub map: String,
    /// The most ports the group holds.
    pub size: u32,
    pub kind: GroupKind,
}

/// How a group's map holds its ports; the hook decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// XDP: a BPF_MAP_TYPE_DEVMAP_HASH of `size` entries, which `bpf_redirect_map`
    /// broadcasts to (`BPF_F_BROADCAST`): key the port's ifindex (`u32`, host order), value
    /// the kernel's `struct bpf_devmap_val` (`u32` ifindex, the same, then `u32` 0: no
    /// program runs on the copies).
    Devmap,
    /// TC: a BPF_MAP_TYPE_HASH of one entry (key `u32` 0): `u32 count`, then `size` slots of
    /// `u32` ifindex (host order), the first `count` of them in use; the program clones the
    /// packet to each. Writers replace the whole entry, so a packet sees the old list or the
    /// new one, never a mixture.
    PortList,
}

/// What the verdict map holds in test builds (host order).
pub mod verdict {
    /// Byte size of the record: `u32 action; u32 port; u32 error; u32 clone` (`error` is the
    /// parser's error, by its value in the manifest's `errors`, 0 being `NoError`; `clone` the
    /// port a copy went to with `clone(port)`, 0 for none).
    pub const SIZE: usize = 16;
    pub const PASS: u32 = 1;
    pub const DROP: u32 = 2;
    pub const REDIRECT: u32 = 3;
    pub const REFLECT: u32 = 4;
    /// `multicast(group)`: `port` is the group's index in the manifest's `groups`.
    pub const MULTICAST: u32 = 5;
    /// `flood(group)`: as `MULTICAST`, but not out of the port the packet came in on.
    pub const FLOOD: u32 = 6;
    /// `pass_to_class(k)` in a chain stage: `port` is `k`; the packet passes, to the class
    /// chain in slot `k` where there is one.
    pub const CLASS: u32 = 7;
}

impl Manifest {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serializes")
    }

    pub fn from_json(text: &str) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_str(text).map_err(|e| format!("invalid manifest: {e}"))?;
        if m.version != VERSION {
            return Err(format!(
                "manifest version {} is not supported (this runtime reads version {VERSION})",
                m.version
            ));
        }
        Ok(m)
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name == name || t.name.rsplit('.').next() == Some(name))
    }
}
