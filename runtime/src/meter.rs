//! Meters from the control plane: setting a cell's rates and bursts, reading its buckets.
//!
//! Takes: a meter's name and index, and an srTCM (RFC 2697) or trTCM (RFC 2698) setting in
//! tokens (packets or bytes, as the meter counts) per second and tokens.
//! Gives: the cell written as `iov_manifest::meter` lays it out (buckets full, clock not yet
//! started), under the cell's spin lock (`BPF_F_LOCK`), after every check passed: a refused
//! setting changes nothing. Reading gives the setting back and the tokens in each bucket.

use crate::control::{by_name, check_index};
use crate::error::list;
use crate::sys::Update;
use crate::{Error, Module};
use iov_manifest::meter as cell;
use iov_manifest::Meter;

/// Nano-tokens per token: buckets count in these (see `iov_manifest::meter`).
const NANO: u128 = 1_000_000_000;
/// The largest burst: its nano-tokens, doubled by a refill, must stay below 2^64.
pub const MAX_BURST: u64 = 4_000_000_000;
/// The largest rate, tokens per second (a terabyte per second).
pub const MAX_RATE: u64 = 1_000_000_000_000;

/// How a meter cell colours packets, in tokens per second and tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeterConfig {
    /// RFC 2697: committed rate `cir`, committed burst `cbs`, excess burst `ebs`.
    Srtcm { cir: u64, cbs: u64, ebs: u64 },
    /// RFC 2698: committed rate and burst, peak rate `pir` (at least `cir`) and burst `pbs`.
    Trtcm {
        cir: u64,
        cbs: u64,
        pir: u64,
        pbs: u64,
    },
}

/// A meter cell as read: its setting (`None` while unconfigured: every packet green) and the
/// whole tokens in its buckets (C, and E or P).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeterState {
    pub config: Option<MeterConfig>,
    pub committed: u64,
    pub excess: u64,
}

fn word(v: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(v[at..at + 8].try_into().expect("8 bytes"))
}

/// Nanoseconds that fill `burst` tokens at `rate` per second, rounded up.
fn fill_ns(burst: u128, rate: u64) -> u64 {
    (burst * NANO).div_ceil(u128::from(rate)) as u64
}

impl Module {
    pub(crate) fn meter_decl(&self, name: &str) -> Result<&Meter, Error> {
        by_name(&self.manifest.meters, name, |m| &m.name).ok_or_else(|| Error::UnknownExtern {
            kind: "meter",
            name: name.into(),
            known: list(self.manifest.meters.iter().map(|m| m.name.as_str())),
        })
    }

    /// Meter `name`, which must be indexed (not a table's `direct_meter`), and `index` in it.
    fn indexed(&self, name: &str, index: u32) -> Result<&Meter, Error> {
        let m = self.meter_decl(name)?;
        if let Some(t) = &m.table {
            return Err(Error::BadMeter {
                name: m.name.clone(),
                why: format!("it is the direct meter of table `{t}`, with a cell per entry: name the entry by its key (`iov meter MODULE {} KEY... srtcm ...`), not an index", m.name),
            });
        }
        check_index("meter", &m.name, index, m.size)?;
        Ok(m)
    }

    /// Sets meter `name` at `index`; its buckets start full. Nothing changes if refused.
    pub fn meter_set(&self, name: &str, index: u32, config: &MeterConfig) -> Result<(), Error> {
        let m = self.indexed(name, index)?;
        self.write_cell(m, index, &encode_cell(&m.name, config)?)
    }

    /// Writes cell `index` of meter `m` whole, under its lock.
    pub(crate) fn write_cell(&self, m: &Meter, index: u32, cell: &[u8]) -> Result<(), Error> {
        self.map(&m.map)?
            .update(&index.to_ne_bytes(), cell, Update::Locked)
            .map_err(|e| Error::syscall("BPF_MAP_UPDATE_ELEM", &m.map, e))
    }

    /// Meter `name` at `index`: its setting and the whole tokens in its buckets.
    pub fn meter_get(&self, name: &str, index: u32) -> Result<MeterState, Error> {
        let m = self.indexed(name, index)?;
        self.read_cell(m, index)
    }

    /// Cell `index` of meter `m`, read under its lock.
    pub(crate) fn read_cell(&self, m: &Meter, index: u32) -> Result<MeterState, Error> {
        let v = self
            .map(&m.map)?
            .lookup_locked(&index.to_ne_bytes())
            .map_err(|e| Error::syscall("BPF_MAP_LOOKUP_ELEM", &m.map, e))?
            .unwrap_or_else(|| vec![0; cell::SIZE]);
        Ok(decode_cell(&v))
    }

    /// Makes meter `name` at `index` unconfigured again: every packet green.
    pub fn meter_clear(&self, name: &str, index: u32) -> Result<(), Error> {
        let m = self.indexed(name, index)?;
        self.write_cell(m, index, &[0; cell::SIZE])
    }
}

/// A cell set to `config` with full buckets, or why RFC 2697 or 2698 does not allow it.
pub(crate) fn encode_cell(name: &str, config: &MeterConfig) -> Result<Vec<u8>, Error> {
    let bad = |why: String| Error::BadMeter {
        name: name.to_string(),
        why,
    };
    let (mode, cir, pir, cbs, ebs) = match *config {
        MeterConfig::Srtcm { cir, cbs, ebs } => (cell::SRTCM, cir, 0, cbs, ebs),
        MeterConfig::Trtcm { cir, cbs, pir, pbs } => {
            if pir < cir {
                return Err(bad(format!(
                        "the peak rate ({pir}) must be at least the committed rate ({cir}), as RFC 2698 requires"
                    )));
            }
            (cell::TRTCM, cir, pir, cbs, pbs)
        }
    };
    for (what, rate) in [("committed rate", cir), ("peak rate", pir)] {
        if rate > MAX_RATE || (rate == 0 && (what == "committed rate" || mode == cell::TRTCM)) {
            return Err(bad(format!(
                "the {what} must be 1 to {MAX_RATE} tokens per second, not {rate}"
            )));
        }
    }
    for (what, burst) in [("committed burst", cbs), ("second burst", ebs)] {
        if burst > MAX_BURST {
            return Err(bad(format!(
                "the {what} must be at most {MAX_BURST} tokens, not {burst}"
            )));
        }
    }
    if cbs == 0 && ebs == 0 {
        return Err(bad(
            "at least one burst must be above 0 (RFC 2697, 2698)".into()
        ));
    }
    let (fill_c, fill_p) = if mode == cell::SRTCM {
        (fill_ns(u128::from(cbs) + u128::from(ebs), cir), 0)
    } else {
        (fill_ns(u128::from(cbs), cir), fill_ns(u128::from(ebs), pir))
    };
    let mut v = vec![0u8; cell::SIZE];
    v[cell::MODE..cell::MODE + 4].copy_from_slice(&mode.to_ne_bytes());
    let n = |t: u64| (u128::from(t) * NANO) as u64;
    for (at, x) in [
        (cell::CIR, cir),
        (cell::PIR, pir),
        (cell::CBS, n(cbs)),
        (cell::EBS, n(ebs)),
        (cell::TC, n(cbs)),
        (cell::TE, n(ebs)),
        (cell::FILL_C, fill_c),
        (cell::FILL_P, fill_p),
    ] {
        v[at..at + 8].copy_from_slice(&x.to_ne_bytes());
    }
    Ok(v)
}

/// What a cell's bytes say: its setting and the whole tokens in its buckets.
pub(crate) fn decode_cell(v: &[u8]) -> MeterState {
    let mode = u32::from_ne_bytes(v[cell::MODE..cell::MODE + 4].try_into().expect("4 bytes"));
    let tokens = |at| (u128::from(word(v, at)) / NANO) as u64;
    let (cir, pir) = (word(v, cell::CIR), word(v, cell::PIR));
    let (cbs, ebs) = (tokens(cell::CBS), tokens(cell::EBS));
    let config = match mode {
        cell::SRTCM => Some(MeterConfig::Srtcm { cir, cbs, ebs }),
        cell::TRTCM => Some(MeterConfig::Trtcm {
            cir,
            cbs,
            pir,
            pbs: ebs,
        }),
        _ => None,
    };
    MeterState {
        config,
        committed: tokens(cell::TC),
        excess: tokens(cell::TE),
    }
}
