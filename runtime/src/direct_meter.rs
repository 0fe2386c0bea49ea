//! Direct meters from the control plane: a meter cell per entry of a table.
//!
//! Takes: a `direct_meter`'s name, the key of an entry of its table, and a setting (as
//! `meter.rs` reads it); when an entry is added, the values of the table's other entries.
//! Gives: the entry's cell set, read or cleared, found through the cell index its value holds
//! (see `iov_manifest::DirectMeter`); and for a new entry, the lowest cell no entry holds,
//! reset to unconfigured before the entry that names it is written, so no entry inherits a
//! deleted entry's setting or tokens. Cell 0 is never given: the default slot's index, so a
//! miss is green.

use crate::encode::{u32_at, Match};
use crate::meter::encode_cell;
use crate::{Error, MeterConfig, MeterState, Module};
use iov_manifest::{meter as cell, Meter, Table};

/// A cell of a meter: by index in a `meter`, by the key of its entry in a `direct_meter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeterCellId {
    Index(u32),
    Entry(Vec<Match>),
}

impl Module {
    /// The configured cells among the first `first` of meter `name` (cells of an indexed
    /// meter in index order, entries of a direct meter's table), with their state.
    pub fn meter_cells(
        &self,
        name: &str,
        first: u32,
    ) -> Result<Vec<(MeterCellId, MeterState)>, Error> {
        let m = self.meter_decl(name)?;
        let mut cells = Vec::new();
        match &m.table {
            None => {
                for index in 0..m.size.min(first) {
                    let s = self.read_cell(m, index)?;
                    if s.config.is_some() {
                        cells.push((MeterCellId::Index(index), s));
                    }
                }
            }
            Some(table) => {
                let t = self.table(table)?;
                for e in self.entries(table)?.into_iter().take(first as usize) {
                    let s = self.read_cell(m, self.cell_of(m, t, &e.keys)?)?;
                    if s.config.is_some() {
                        cells.push((MeterCellId::Entry(e.keys), s));
                    }
                }
            }
        }
        Ok(cells)
    }

    /// The state of `cell` of meter `name`: an index of a `meter`, an entry of a
    /// `direct_meter`'s table (refused the other way round).
    pub fn meter_cell_get(&self, name: &str, cell: &MeterCellId) -> Result<MeterState, Error> {
        match cell {
            MeterCellId::Index(i) => self.meter_get(name, *i),
            MeterCellId::Entry(keys) => self.direct_meter_get(name, keys),
        }
    }

    /// Sets `cell` of meter `name` to `config` (buckets full), or with `None` makes it
    /// unconfigured. Nothing changes if refused.
    pub fn meter_cell_set(
        &self,
        name: &str,
        cell: &MeterCellId,
        config: Option<&MeterConfig>,
    ) -> Result<(), Error> {
        match (cell, config) {
            (MeterCellId::Index(i), Some(c)) => self.meter_set(name, *i, c),
            (MeterCellId::Index(i), None) => self.meter_clear(name, *i),
            (MeterCellId::Entry(keys), Some(c)) => self.direct_meter_set(name, keys, c),
            (MeterCellId::Entry(keys), None) => self.direct_meter_clear(name, keys),
        }
    }

    /// Direct meter `name` and its table; refused for an indexed meter.
    fn direct(&self, name: &str) -> Result<(&Meter, &Table), Error> {
        let m = self.meter_decl(name)?;
        let Some(table) = &m.table else {
            return Err(Error::BadMeter {
                name: m.name.clone(),
                why: format!(
                    "it is an indexed meter: name a cell by its index (`iov meter MODULE {} INDEX ...`), not by a table key",
                    m.name
                ),
            });
        };
        Ok((m, self.table(table)?))
    }

    /// The table whose entries own the cells of direct meter `name`.
    pub fn direct_meter_table(&self, name: &str) -> Result<&Table, Error> {
        self.direct(name).map(|(_, t)| t)
    }

    /// Keys named as a [`crate::Request`] names them, for the table of direct meter `name`,
    /// in the order [`Module::direct_meter_set`] takes them.
    pub fn direct_meter_keys(
        &self,
        name: &str,
        keys: &[(String, Match)],
    ) -> Result<Vec<Match>, Error> {
        let t = self.direct_meter_table(name)?;
        self.keys_by_name(&t.name, keys)
    }

    /// The cell the entry of `t` with these keys holds in meter `m`.
    fn cell_of(&self, m: &Meter, t: &Table, keys: &[Match]) -> Result<u32, Error> {
        let value = self.entry_value(t, keys)?;
        let at = t
            .direct_meter
            .as_ref()
            .map(|d| d.offset as usize)
            .ok_or_else(|| Error::BadManifest(format!("table `{}` has no direct meter", t.name)))?;
        crate::encode::in_bounds(&format!("direct meter `{}`", m.name), at, 4, value.len())?;
        let index = u32_at(&value, at);
        if index == 0 || index >= m.size {
            return Err(Error::BadManifest(format!(
                "the entry of table `{}` holds meter cell {index}, outside 1..{} (written by something other than the iov runtime?)",
                t.name, m.size
            )));
        }
        Ok(index)
    }

    /// Sets the meter of the entry of `name`'s table with these keys; its buckets start
    /// full. Nothing changes if refused (no such entry, a setting RFC 2697 or 2698 refuses).
    pub fn direct_meter_set(
        &self,
        name: &str,
        keys: &[Match],
        config: &MeterConfig,
    ) -> Result<(), Error> {
        let (m, t) = self.direct(name)?;
        let bytes = encode_cell(&m.name, config)?;
        let index = self.cell_of(m, t, keys)?;
        self.write_cell(m, index, &bytes)
    }

    /// The meter of the entry with these keys: its setting and the tokens in its buckets.
    pub fn direct_meter_get(&self, name: &str, keys: &[Match]) -> Result<MeterState, Error> {
        let (m, t) = self.direct(name)?;
        let index = self.cell_of(m, t, keys)?;
        self.read_cell(m, index)
    }

    /// Makes the meter of the entry with these keys unconfigured: its packets green.
    pub fn direct_meter_clear(&self, name: &str, keys: &[Match]) -> Result<(), Error> {
        let (m, t) = self.direct(name)?;
        let index = self.cell_of(m, t, keys)?;
        self.write_cell(m, index, &[0; cell::SIZE])
    }

    /// Gives a new entry of `t` (`value`, not yet written) the lowest cell that none of
    /// `others` (the values of the table's entries) holds, reset to unconfigured.
    pub(crate) fn give_meter_cell<V: AsRef<[u8]>>(
        &self,
        t: &Table,
        others: &[V],
        value: &mut [u8],
    ) -> Result<(), Error> {
        let Some(dm) = &t.direct_meter else {
            return Ok(());
        };
        let m = self.meter_decl(&dm.name)?;
        let at = dm.offset as usize;
        crate::encode::in_bounds(&format!("direct meter `{}`", m.name), at, 4, value.len())?;
        let mut taken = vec![false; m.size as usize];
        for v in others {
            let v = v.as_ref();
            if v.len() >= at + 4 {
                if let Some(t) = taken.get_mut(u32_at(v, at) as usize) {
                    *t = true;
                }
            }
        }
        let index = (1..m.size)
            .find(|&i| !taken[i as usize])
            .ok_or_else(|| Error::TableFull {
                table: t.name.clone(),
                size: t.size,
            })?;
        self.write_cell(m, index, &[0; cell::SIZE])?;
        value[at..at + 4].copy_from_slice(&index.to_ne_bytes());
        Ok(())
    }
}
