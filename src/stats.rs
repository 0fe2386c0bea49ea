//! `iov stats MODULE [--watch] [--interval S] [--count N] [--json]`: a module's traffic as
//! it happens.
//!
//! Takes: a deployed module's name, how often to look (`--interval`, seconds, > 0) and how
//! many times (`--count`, which implies `--watch`).
//! Gives: on a terminal with `--watch`, a live view (ratatui) refreshing in place: for every
//! counter index that moved since start, packets/s, bytes/s, totals and a history graph,
//! and each table's occupancy; `q`, Esc or Ctrl-C quits and restores the terminal. On a
//! terminal without `--watch`, one snapshot as a table. Otherwise (not a terminal, or
//! `--json`), one JSON line per sample, rates `null` on the first. The module is reopened
//! at every sample: an unloaded module stops the JSON lines with the runtime's error, and
//! shows in the live view, which keeps trying.

use crate::metrics::{read_counters, CounterSample};
use crate::modules::{self, usage};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use iov_runtime::iov_manifest::CounterKind;
use iov_runtime::record::hook_name;
use iov_runtime::{Error, Module, Occupancy};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row as TableRow, Table};
use ratatui::Frame;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How many past rates each row of the live view keeps for its graph.
const HISTORY: usize = 120;

#[derive(clap::Args)]
pub struct Args {
    /// The deployed module.
    module: String,
    /// Keep refreshing: a live view on a terminal, one JSON line per interval otherwise.
    #[arg(long)]
    watch: bool,
    /// Seconds between samples (fractions allowed).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    interval: f64,
    /// Stop after N samples (implies --watch).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// One JSON line per sample, even on a terminal.
    #[arg(long)]
    json: bool,
}

/// A counter index: `(Control.name, index)`.
type Key = (String, u32);
/// `(packets, bytes)` of every index that counted something.
type Values = HashMap<Key, (u64, u64)>;

/// One look at a module.
pub struct Reading {
    /// Seconds since the Unix epoch.
    pub time: f64,
    pub at: Instant,
    pub counters: Vec<CounterSample>,
    pub tables: Vec<Occupancy>,
}

impl Reading {
    /// `(packets, bytes)` of every index that counted something.
    fn values(&self) -> Values {
        let mut out = HashMap::new();
        for c in &self.counters {
            for &(index, p, b) in &c.values {
                out.insert((c.counter.clone(), index), (p, b));
            }
        }
        out
    }
}

fn read(module: &Module) -> Result<Reading, Error> {
    let at = Instant::now();
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let tables = module
        .manifest()
        .tables
        .iter()
        .map(|t| module.occupancy(&t.name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Reading {
        time,
        at,
        counters: read_counters(module)?,
        tables,
    })
}

/// Per second, from `prev` to `cur` over `dt` seconds; a value that went down (the module was
/// reloaded) counts from zero.
fn rate(cur: u64, prev: u64, dt: f64) -> f64 {
    let grown = if cur >= prev { cur - prev } else { cur };
    grown as f64 / dt
}

/// The JSON line of `cur` (rates against `prev`, null without one).
pub fn json_line(module: &str, cur: &Reading, prev: Option<&Reading>) -> Value {
    let before = prev.map(|p| (p.values(), cur.at.duration_since(p.at).as_secs_f64()));
    let mut counters = Vec::new();
    for c in &cur.counters {
        for &(index, packets, bytes) in &c.values {
            let rates = before
                .as_ref()
                .filter(|(_, dt)| *dt > 0.0)
                .map(|(old, dt)| {
                    let (p0, b0) = old
                        .get(&(c.counter.clone(), index))
                        .copied()
                        .unwrap_or((0, 0));
                    (rate(packets, p0, *dt), rate(bytes, b0, *dt))
                });
            counters.push(json!({
                "counter": c.counter,
                "index": index,
                "packets": packets,
                "bytes": bytes,
                "packets_per_s": rates.map(|r| r.0),
                "bytes_per_s": rates.map(|r| r.1),
            }));
        }
    }
    let tables: Vec<Value> = cur
        .tables
        .iter()
        .map(|t| json!({ "table": t.table, "entries": t.entries, "size": t.size }))
        .collect();
    json!({ "module": module, "time": cur.time, "counters": counters, "tables": tables })
}

/// Where `module` runs, in one line: `xdp on va (netns /run/netns/x, generic), program 7`.
fn describe(module: &Module) -> String {
    let Some(r) = module.record() else {
        return String::new();
    };
    let places: Vec<String> = r
        .attachments
        .iter()
        .map(|a| {
            let mut about: Vec<String> = Vec::new();
            if let Some(ns) = &a.netns {
                about.push(format!("netns {}", ns.display()));
            }
            if let Some(m) = a.mode {
                about.push(m.as_str().into());
            }
            if about.is_empty() {
                a.iface.clone()
            } else {
                format!("{} ({})", a.iface, about.join(", "))
            }
        })
        .collect();
    let program = module
        .program_id()
        .map(|id| format!(", program {id}"))
        .unwrap_or_default();
    format!("{} on {}{program}", hook_name(r.hook), places.join(", "))
}

/// The snapshot printed on a terminal without `--watch`.
fn snapshot_text(module: &str, about: &str, r: &Reading) -> String {
    let mut out = format!("module {module}: {about}\n");
    let rows: Vec<(String, String, String, String)> = r
        .counters
        .iter()
        .flat_map(|c| {
            c.values.iter().map(move |&(i, p, b)| {
                let (p, b) = match c.kind {
                    CounterKind::Packets => (p.to_string(), "-".into()),
                    CounterKind::Bytes => ("-".into(), b.to_string()),
                    CounterKind::PacketsAndBytes => (p.to_string(), b.to_string()),
                };
                (c.counter.clone(), i.to_string(), p, b)
            })
        })
        .collect();
    let width = rows.iter().map(|r| r.0.len()).chain([7]).max().unwrap_or(7);
    if rows.is_empty() {
        out.push_str(&format!(
            "counters: nothing counted yet ({} counters)\n",
            r.counters.len()
        ));
    } else {
        out.push_str(&format!(
            "{:width$}  {:>6}  {:>14}  {:>16}\n",
            "COUNTER", "INDEX", "PACKETS", "BYTES"
        ));
        for (c, i, p, b) in rows {
            out.push_str(&format!("{c:width$}  {i:>6}  {p:>14}  {b:>16}\n"));
        }
    }
    if !r.tables.is_empty() {
        let width = r
            .tables
            .iter()
            .map(|t| t.table.len())
            .chain([5])
            .max()
            .unwrap_or(5);
        out.push_str(&format!(
            "{:width$}  {:>10}  {:>10}\n",
            "TABLE", "ENTRIES", "SIZE"
        ));
        for t in &r.tables {
            out.push_str(&format!(
                "{:width$}  {:>10}  {:>10}\n",
                t.table, t.entries, t.size
            ));
        }
    }
    out
}

pub fn run(args: &Args) -> ExitCode {
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return usage(format!(
            "--interval {}: give a number of seconds greater than 0",
            args.interval
        ));
    }
    let Ok(interval) = Duration::try_from_secs_f64(args.interval) else {
        return usage(format!("--interval {}: too long", args.interval));
    };
    if args.count == Some(0) {
        return usage("--count 0: give at least 1 sample");
    }
    let module = match modules::open(&args.module) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let repeat = args.watch || args.count.is_some();
    let terminal = std::io::stdout().is_terminal() && !args.json;
    match (terminal, repeat) {
        (true, true) => live(args, interval, module),
        (true, false) => match read(&module) {
            Ok(r) => {
                print!("{}", snapshot_text(&args.module, &describe(&module), &r));
                ExitCode::SUCCESS
            }
            Err(e) => modules::fail(&e),
        },
        (false, _) => lines(
            args,
            interval,
            module,
            if repeat {
                args.count.unwrap_or(u64::MAX)
            } else {
                1
            },
        ),
    }
}

/// One JSON line per sample, `samples` of them.
fn lines(args: &Args, interval: Duration, first: Module, samples: u64) -> ExitCode {
    let mut first = Some(first);
    let mut prev: Option<Reading> = None;
    let mut next = Instant::now();
    for _ in 0..samples {
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        next = (next + interval).max(Instant::now());
        let module = match first.take() {
            Some(m) => m,
            None => match modules::open(&args.module) {
                Ok(m) => m,
                Err(code) => return code,
            },
        };
        let reading = match read(&module) {
            Ok(r) => r,
            Err(e) => return modules::fail(&e),
        };
        let line = json_line(&args.module, &reading, prev.as_ref());
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            // The reader went away (`| head -1`): that is the end, not a failure.
            return ExitCode::SUCCESS;
        }
        prev = Some(reading);
    }
    ExitCode::SUCCESS
}

/// One row of the live view: a counter index that moved since start.
struct Row {
    kind: CounterKind,
    packets: u64,
    bytes: u64,
    pps: f64,
    bps: f64,
    /// Past rates (packets/s, or bytes/s for a bytes-only counter), oldest first.
    history: VecDeque<f64>,
}

/// What the live view shows.
struct View {
    module: String,
    about: String,
    interval: f64,
    baseline: Values,
    last: Option<(Values, Instant)>,
    rows: BTreeMap<Key, Row>,
    watched: usize,
    tables: Vec<Occupancy>,
    error: Option<String>,
    samples: u64,
    offset: usize,
}

impl View {
    fn new(module: &str, about: String, interval: f64) -> View {
        View {
            module: module.into(),
            about,
            interval,
            baseline: HashMap::new(),
            last: None,
            rows: BTreeMap::new(),
            watched: 0,
            tables: Vec::new(),
            error: None,
            samples: 0,
            offset: 0,
        }
    }

    fn update(&mut self, r: &Reading) {
        let now = r.values();
        if self.last.is_none() {
            self.baseline = now.clone();
        }
        let kinds: HashMap<&str, CounterKind> = r
            .counters
            .iter()
            .map(|c| (c.counter.as_str(), c.kind))
            .collect();
        for (key, value) in &now {
            let moved = self.baseline.get(key).copied().unwrap_or((0, 0)) != *value;
            if moved && !self.rows.contains_key(key) {
                let kind = kinds
                    .get(key.0.as_str())
                    .copied()
                    .unwrap_or(CounterKind::PacketsAndBytes);
                let row = Row {
                    kind,
                    packets: 0,
                    bytes: 0,
                    pps: 0.0,
                    bps: 0.0,
                    history: VecDeque::new(),
                };
                self.rows.insert(key.clone(), row);
            }
        }
        let dt = self
            .last
            .as_ref()
            .map(|(_, at)| r.at.duration_since(*at).as_secs_f64());
        for (key, row) in self.rows.iter_mut() {
            let (p, b) = now.get(key).copied().unwrap_or((0, 0));
            if let (Some(dt), Some((old, _))) = (dt.filter(|d| *d > 0.0), &self.last) {
                let (p0, b0) = old.get(key).copied().unwrap_or((0, 0));
                row.pps = rate(p, p0, dt);
                row.bps = rate(b, b0, dt);
                row.history.push_back(if row.kind == CounterKind::Bytes {
                    row.bps
                } else {
                    row.pps
                });
                if row.history.len() > HISTORY {
                    row.history.pop_front();
                }
            }
            row.packets = p;
            row.bytes = b;
        }
        self.watched = r.counters.len();
        self.last = Some((now, r.at));
        self.tables = r.tables.clone();
        self.error = None;
        self.samples += 1;
    }

    fn scroll(&mut self, by: isize) {
        let max = self.rows.len().saturating_sub(1);
        self.offset = self.offset.saturating_add_signed(by).min(max);
    }
}

/// `x` with an SI suffix: `999.0`, `1.2k`, `3.4M`.
fn human(x: f64) -> String {
    let units = ["", "k", "M", "G", "T", "P"];
    let mut x = x;
    let mut unit = 0;
    while x >= 1000.0 && unit + 1 < units.len() {
        x /= 1000.0;
        unit += 1;
    }
    format!("{x:.1}{}", units[unit])
}

/// A graph of the last `width` values of `history`, scaled to their maximum, right-aligned.
fn spark(history: &VecDeque<f64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let points: Vec<f64> = history
        .iter()
        .skip(history.len().saturating_sub(width))
        .copied()
        .collect();
    let max = points.iter().copied().fold(0.0, f64::max);
    let mut out = " ".repeat(width - points.len());
    for v in points {
        out.push(if v > 0.0 {
            BARS[((v / max) * 7.0).round().min(7.0) as usize]
        } else {
            ' '
        });
    }
    out
}

/// A bar of `width` cells filled `entries/size` of the way, and the percentage.
fn fill(entries: u32, size: u32, width: usize) -> String {
    let part = if size == 0 {
        0.0
    } else {
        f64::from(entries) / f64::from(size)
    };
    let full = ((part * width as f64).ceil() as usize).min(width);
    let full = if entries == 0 { 0 } else { full };
    format!(
        "{}{} {:5.1}%",
        "█".repeat(full),
        "░".repeat(width - full),
        part * 100.0
    )
}

/// A right-aligned header cell.
fn right(text: &'static str) -> Cell<'static> {
    Cell::from(Line::from(text).right_aligned())
}

fn draw(frame: &mut Frame, view: &View) {
    let area = frame.area();
    let tables_height = (view.tables.len() as u16 + 3).min(area.height / 3).max(3);
    let [head, counters, tables, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(tables_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut title = format!(
        "iov stats {} · {} · every {}s · sample {}",
        view.module, view.about, view.interval, view.samples
    );
    let mut style = Style::default().add_modifier(Modifier::BOLD);
    if let Some(e) = &view.error {
        title = format!("iov stats {} · cannot read it: {e}", view.module);
        style = style.fg(Color::Red);
    }
    frame.render_widget(Paragraph::new(Line::styled(title, style)), head);
    draw_counters(frame, view, counters);
    draw_tables(frame, view, tables);
    let help = "q quit · ↑/↓ PgUp/PgDn scroll · rates per second over the last interval";
    frame.render_widget(
        Paragraph::new(Line::styled(help, Style::default().fg(Color::DarkGray))),
        foot,
    );
}

fn draw_counters(frame: &mut Frame, view: &View, area: Rect) {
    let block = Block::bordered().title(format!(" counters that moved: {} ", view.rows.len()));
    if view.rows.is_empty() {
        let text = format!(
            "no counter index has moved since start ({} counters watched)",
            view.watched
        );
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let names: Vec<String> = view.rows.keys().map(|(c, i)| format!("{c}[{i}]")).collect();
    let name_width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 48) as u16;
    let fixed = [10u16, 10, 14, 16];
    let used = 2 + name_width + fixed.iter().sum::<u16>() + 5;
    let graph = area.width.saturating_sub(used).max(4);
    let visible = area.height.saturating_sub(3) as usize;
    let offset = view
        .offset
        .min(view.rows.len().saturating_sub(visible.max(1)));
    let rows = view
        .rows
        .values()
        .zip(&names)
        .skip(offset)
        .take(visible)
        .map(|(r, name)| {
            let dash = || "-".to_string();
            let (pps, packets) = if r.kind == CounterKind::Bytes {
                (dash(), dash())
            } else {
                (human(r.pps), r.packets.to_string())
            };
            let (bps, bytes) = if r.kind == CounterKind::Packets {
                (dash(), dash())
            } else {
                (human(r.bps), r.bytes.to_string())
            };
            TableRow::new(vec![
                Cell::from(name.clone()),
                Cell::from(Line::from(pps).right_aligned()),
                Cell::from(Line::from(bps).right_aligned()),
                Cell::from(Line::from(packets).right_aligned()),
                Cell::from(Line::from(bytes).right_aligned()),
                Cell::from(spark(&r.history, graph as usize))
                    .style(Style::default().fg(Color::Green)),
            ])
        });
    let widths = [
        Constraint::Length(name_width),
        Constraint::Length(fixed[0]),
        Constraint::Length(fixed[1]),
        Constraint::Length(fixed[2]),
        Constraint::Length(fixed[3]),
        Constraint::Length(graph),
    ];
    let header = TableRow::new(vec![
        Cell::from("counter[index]"),
        right("pkt/s"),
        right("bytes/s"),
        right("packets"),
        right("bytes"),
        Cell::from("history"),
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

fn draw_tables(frame: &mut Frame, view: &View, area: Rect) {
    let block = Block::bordered().title(" tables ");
    if view.tables.is_empty() {
        frame.render_widget(Paragraph::new("no tables").block(block), area);
        return;
    }
    let name_width = view
        .tables
        .iter()
        .map(|t| t.table.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 48) as u16;
    let bar = area
        .width
        .saturating_sub(2 + name_width + 24 + 10)
        .clamp(4, 40);
    let rows = view.tables.iter().map(|t| {
        TableRow::new(vec![
            Cell::from(t.table.clone()),
            Cell::from(Line::from(t.entries.to_string()).right_aligned()),
            Cell::from(Line::from(t.size.to_string()).right_aligned()),
            Cell::from(fill(t.entries, t.size, bar as usize)),
        ])
    });
    let widths = [
        Constraint::Length(name_width),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(bar + 8),
    ];
    let header = TableRow::new(vec![
        Cell::from("table"),
        right("entries"),
        right("size"),
        Cell::from("occupancy"),
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

fn live(args: &Args, interval: Duration, module: Module) -> ExitCode {
    let mut view = View::new(&args.module, describe(&module), args.interval);
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            return usage(format!("cannot set up the terminal: {e}"));
        }
    };
    let result = watch(&mut terminal, &mut view, args, interval, module);
    ratatui::restore();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage(format!("the terminal failed: {e}")),
    }
}

fn watch(
    terminal: &mut ratatui::DefaultTerminal,
    view: &mut View,
    args: &Args,
    interval: Duration,
    first: Module,
) -> std::io::Result<()> {
    let mut first = Some(first);
    let mut next = Instant::now();
    let mut taken = 0u64;
    loop {
        let now = Instant::now();
        if now >= next {
            let module = match first.take() {
                Some(m) => Ok(m),
                None => Module::open(&modules::root(), &args.module),
            };
            match module.and_then(|m| read(&m)) {
                Ok(r) => view.update(&r),
                Err(e) => view.error = Some(e.to_string()),
            }
            taken += 1;
            next = (next + interval).max(now);
        }
        terminal.draw(|f| draw(f, view))?;
        if args.count.is_some_and(|c| taken >= c) {
            return Ok(());
        }
        if !event::poll(next.saturating_duration_since(Instant::now()))? {
            continue;
        }
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        let page = terminal.size()?.height.saturating_sub(8).max(1) as isize;
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return Ok(()),
            KeyCode::Up | KeyCode::Char('k') => view.scroll(-1),
            KeyCode::Down | KeyCode::Char('j') => view.scroll(1),
            KeyCode::PageUp => view.scroll(-page),
            KeyCode::PageDown => view.scroll(page),
            KeyCode::Home => view.offset = 0,
            KeyCode::End => view.scroll(isize::MAX),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn reading(at: Instant, port3: (u64, u64), entries: u32) -> Reading {
        Reading {
            time: 1_764_000_000.5,
            at,
            counters: vec![
                CounterSample {
                    counter: "RouterIngress.port_stats".into(),
                    kind: CounterKind::PacketsAndBytes,
                    values: vec![(3, port3.0, port3.1), (9, 4, 400)],
                },
                CounterSample {
                    counter: "RouterIngress.idle".into(),
                    kind: CounterKind::Packets,
                    values: vec![],
                },
            ],
            tables: vec![Occupancy {
                table: "RouterIngress.routes".into(),
                entries,
                size: 65536,
            }],
        }
    }

    #[test]
    fn json_lines_have_rates_after_the_first() {
        let t0 = Instant::now();
        let a = reading(t0, (10, 1000), 1);
        let b = reading(t0 + Duration::from_millis(500), (20, 2000), 2);
        let first = json_line("r1", &a, None);
        assert_eq!(first["module"], "r1");
        assert_eq!(first["time"], 1_764_000_000.5);
        assert_eq!(first["counters"][0]["packets"], 10);
        assert!(first["counters"][0]["packets_per_s"].is_null());
        assert_eq!(
            first["tables"][0],
            json!({"table": "RouterIngress.routes", "entries": 1, "size": 65536})
        );
        let second = json_line("r1", &b, Some(&a));
        assert_eq!(second["counters"][0]["counter"], "RouterIngress.port_stats");
        assert_eq!(second["counters"][0]["index"], 3);
        assert_eq!(second["counters"][0]["packets_per_s"], 20.0);
        assert_eq!(second["counters"][0]["bytes_per_s"], 2000.0);
        assert_eq!(second["counters"][1]["packets_per_s"], 0.0);
    }

    #[test]
    fn a_reset_counts_from_zero() {
        assert_eq!(rate(5, 100, 1.0), 5.0);
        assert_eq!(rate(150, 100, 0.5), 100.0);
    }

    #[test]
    fn the_view_shows_what_moved() {
        let t0 = Instant::now();
        let mut view = View::new("r1", "xdp on va".into(), 1.0);
        view.update(&reading(t0, (10, 1000), 1));
        assert!(view.rows.is_empty(), "nothing moved yet");
        view.update(&reading(t0 + Duration::from_secs(1), (1510, 151_000), 1));
        view.update(&reading(t0 + Duration::from_secs(2), (3010, 301_000), 1));
        assert_eq!(view.rows.len(), 1, "index 9 stayed at 4");
        let row = &view.rows[&("RouterIngress.port_stats".to_string(), 3)];
        assert_eq!((row.pps, row.bps, row.packets), (1500.0, 150_000.0, 3010));
        let mut terminal = Terminal::new(TestBackend::new(110, 16)).unwrap();
        terminal.draw(|f| draw(f, &view)).unwrap();
        let screen: String = terminal
            .backend()
            .buffer()
            .content()
            .chunks(110)
            .map(|line| line.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect();
        assert!(screen.contains("iov stats r1 · xdp on va"), "{screen}");
        assert!(screen.contains("RouterIngress.port_stats[3]"), "{screen}");
        assert!(
            screen.contains("1.5k") && screen.contains("150.0k") && screen.contains("3010"),
            "{screen}"
        );
        assert!(screen.contains("██"), "a full history bar:\n{screen}");
        assert!(
            screen.contains("RouterIngress.routes") && screen.contains("65536"),
            "{screen}"
        );
        assert!(!screen.contains("port_stats[9]"), "{screen}");
    }

    #[test]
    fn graphs_and_bars() {
        let h: VecDeque<f64> = [0.0, 1.0, 2.0, 4.0, 8.0].into();
        assert_eq!(spark(&h, 7), "   ▂▃▅█");
        assert_eq!(spark(&h, 3), "▃▅█");
        assert_eq!(fill(0, 100, 4), "░░░░   0.0%");
        assert_eq!(fill(1, 65536, 4), "█░░░   0.0%");
        assert_eq!(fill(100, 100, 4), "████ 100.0%");
        assert_eq!(human(999.0), "999.0");
        assert_eq!(human(1234.0), "1.2k");
        assert_eq!(human(2.5e9), "2.5G");
    }

    #[test]
    fn the_snapshot_is_a_table() {
        let text = snapshot_text("r1", "xdp on va", &reading(Instant::now(), (10, 980), 1));
        assert!(text.starts_with("module r1: xdp on va\n"), "{text}");
        assert!(
            text.contains("RouterIngress.port_stats       3              10               980\n"),
            "{text}"
        );
        assert!(
            text.contains("RouterIngress.routes           1       65536\n"),
            "{text}"
        );
    }
}
