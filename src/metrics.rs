//! `iov metrics MODULE... [--listen ADDR] [--once]`: deployed modules' counters, registers
//! and tables in the Prometheus text exposition format (version 0.0.4), served at `/metrics`.
//!
//! Takes: module names (each must exist at start), an address to listen on (loopback unless
//! told otherwise; port 0 picks a free one).
//! Gives: at every scrape, each module reopened by name and read afresh, so a module
//! unloaded (or reloaded) while served shows as `iov_module_up 0` (or its new state) and the
//! server goes on; `--once` prints one exposition to stdout. The server prints `listening on
//! http://ADDR/metrics` on stderr, answers 404 elsewhere, 400 to malformed requests, and
//! drops clients that are too slow. [`sample`] and [`read_counters`] are the reads (also
//! used by `iov stats`); [`render`] is the pure half, from samples to text.

use crate::modules::{self, usage};
use iov_runtime::iov_manifest::CounterKind;
use iov_runtime::record::hook_name;
use iov_runtime::{Error, MeterCellId, Module, Occupancy};
use std::collections::HashMap;
use std::fmt::Display;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many indexes of each register are exported (the first ones).
pub const REGISTER_CAP: u32 = 1024;
/// Clients served at once; more are answered 503.
const MAX_CLIENTS: usize = 32;
/// How long a client may take to send its request, and the server to send the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request head accepted.
const MAX_HEAD: usize = 8192;
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(clap::Args)]
#[command(
    after_help = "Counters are exported as iov_packets_total and iov_bytes_total with labels \
                  module, counter and index (only the kinds a counter counts, only indexes \
                  that counted something; promtool refuses `counter` in a counter's name); \
                  registers as iov_register_value gauges, the first 1024 indexes of each; \
                  tables as iov_table_entries and iov_table_size. deploy/grafana holds a \
                  dashboard; deploy/README.md a scrape configuration."
)]
pub struct Args {
    /// The deployed modules to export.
    #[arg(required = true, value_name = "MODULE")]
    modules: Vec<String>,
    /// Where to serve /metrics (HOST:PORT; port 0 picks one, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
    listen: String,
    /// Print the exposition once to stdout and exit.
    #[arg(long)]
    once: bool,
}

/// One counter's indexes that counted something: `(index, packets, bytes)`.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterSample {
    pub counter: String,
    pub kind: CounterKind,
    pub values: Vec<(u32, u64, u64)>,
}

/// One register's first [`REGISTER_CAP`] values.
#[derive(Clone, Debug, PartialEq)]
pub struct RegisterSample {
    pub register: String,
    pub size: u32,
    pub values: Vec<(u32, u128)>,
}

/// Where a module is attached, as recorded at load.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub iface: String,
    /// The namespace path, empty for the loader's own.
    pub netns: String,
    /// `native`/`generic` for XDP, empty for TC.
    pub mode: String,
}

/// Everything read from one module at one scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub hook: String,
    pub program_id: Option<u32>,
    pub source: String,
    pub loaded_at: u64,
    pub attachments: Vec<Attachment>,
    pub counters: Vec<CounterSample>,
    pub registers: Vec<RegisterSample>,
    pub tables: Vec<Occupancy>,
    /// Each digest and the records its ring buffer had no room for.
    pub digests: Vec<(String, u64)>,
    /// Each configured meter cell (the first [`REGISTER_CAP`] of a meter): meter, the cell
    /// (label `index`, or `entry` with the entry's key for a direct meter), tokens in its
    /// committed bucket and in its excess (srTCM) or peak (trTCM) bucket.
    pub meters: Vec<(String, (&'static str, String), u64, u64)>,
}

/// One module at one scrape: what was read, or why nothing could be.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleSample {
    pub module: String,
    /// How long reading it took.
    pub seconds: f64,
    pub snapshot: Result<Snapshot, String>,
}

/// Every index of every counter of `module` that counted something.
pub fn read_counters(module: &Module) -> Result<Vec<CounterSample>, Error> {
    module
        .manifest()
        .counters
        .iter()
        .map(|c| {
            let mut values = Vec::new();
            for index in 0..c.size {
                let (packets, bytes) = module.counter(&c.name, index)?;
                if packets != 0 || bytes != 0 {
                    values.push((index, packets, bytes));
                }
            }
            Ok(CounterSample {
                counter: c.name.clone(),
                kind: c.kind,
                values,
            })
        })
        .collect()
}

/// Reads everything exported of `module`.
pub fn sample(module: &Module) -> Result<Snapshot, Error> {
    let manifest = module.manifest();
    let mut registers = Vec::new();
    for r in &manifest.registers {
        let mut values = Vec::new();
        for index in 0..r.size.min(REGISTER_CAP) {
            values.push((index, module.register_read(&r.name, index)?));
        }
        registers.push(RegisterSample {
            register: r.name.clone(),
            size: r.size,
            values,
        });
    }
    let tables = manifest
        .tables
        .iter()
        .map(|t| module.occupancy(&t.name))
        .collect::<Result<Vec<_>, _>>()?;
    let digests = manifest
        .digests
        .iter()
        .map(|d| Ok((d.name.clone(), module.digest_drops(&d.name)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let mut meters = Vec::new();
    for m in &manifest.meters {
        for (cell, s) in module.meter_cells(&m.name, REGISTER_CAP)? {
            let label = match cell {
                MeterCellId::Index(_) => "index",
                MeterCellId::Entry(_) => "entry",
            };
            let at = (label, iov::control_line::show_cell(module, &m.name, &cell));
            meters.push((m.name.clone(), at, s.committed, s.excess));
        }
    }
    let record = module.record();
    Ok(Snapshot {
        hook: record.map_or("", |r| hook_name(r.hook)).to_string(),
        program_id: module.program_id(),
        source: record.map(|r| r.source.clone()).unwrap_or_default(),
        loaded_at: record.map_or(0, |r| r.loaded_at),
        attachments: record
            .map(|r| {
                r.attachments
                    .iter()
                    .map(|a| Attachment {
                        iface: a.iface.clone(),
                        netns: a
                            .netns
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        mode: a.mode.map(|m| m.as_str().to_string()).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        counters: read_counters(module)?,
        registers,
        tables,
        digests,
        meters,
    })
}

/// Reopens and reads each module under `root`.
pub fn scrape(root: &Path, names: &[String]) -> Vec<ModuleSample> {
    names
        .iter()
        .map(|name| {
            let start = Instant::now();
            let snapshot = Module::open(root, name)
                .and_then(|m| sample(&m))
                .map_err(|e| e.to_string());
            ModuleSample {
                module: name.clone(),
                seconds: start.elapsed().as_secs_f64(),
                snapshot,
            }
        })
        .collect()
}

/// Every metric family [`render`] can produce: name, type, help, in output order.
pub const FAMILIES: &[(&str, &str, &str)] = &[
    ("iov_module_up", "gauge", "Whether the module could be read at this scrape (0: unloaded or unreadable)."),
    ("iov_module_info", "gauge", "The deployed module: its hook, program id and source file (always 1)."),
    ("iov_module_loaded_timestamp_seconds", "gauge", "When the module was loaded, in seconds since the Unix epoch."),
    ("iov_attachment_info", "gauge", "An interface the module is attached to, with its namespace and XDP mode (always 1)."),
    ("iov_scrape_duration_seconds", "gauge", "How long reading the module took at this scrape."),
    ("iov_packets_total", "counter", "Packets counted by a counter index, summed over CPUs (indexes that counted nothing are left out)."),
    ("iov_bytes_total", "counter", "Bytes counted by a counter index, summed over CPUs (indexes that counted nothing are left out)."),
    ("iov_register_value", "gauge", "A register's value at an index (only the first 1024 indexes of each register)."),
    ("iov_register_size", "gauge", "How many indexes a register has (values beyond the first 1024 are not exported)."),
    ("iov_table_entries", "gauge", "How many entries a table holds."),
    ("iov_table_size", "gauge", "How many entries a table can hold."),
    ("iov_digest_dropped_total", "counter", "Digest records the ring buffer had no room for, summed over CPUs."),
    ("iov_meter_tokens", "gauge", "Whole tokens in a configured meter cell's bucket (committed; excess for srTCM, peak for trTCM)."),
];

/// The exposition of `samples`, in the Prometheus text format 0.0.4.
pub fn render(samples: &[ModuleSample]) -> String {
    let mut out = Families(vec![String::new(); FAMILIES.len()]);
    for s in samples {
        let m = s.module.as_str();
        out.push(
            "iov_module_up",
            &[("module", m)],
            u8::from(s.snapshot.is_ok()),
        );
        out.push("iov_scrape_duration_seconds", &[("module", m)], s.seconds);
        let Ok(snap) = &s.snapshot else { continue };
        let program_id = snap.program_id.map(|id| id.to_string()).unwrap_or_default();
        out.push(
            "iov_module_info",
            &[
                ("module", m),
                ("hook", &snap.hook),
                ("program_id", &program_id),
                ("source", &snap.source),
            ],
            1,
        );
        out.push(
            "iov_module_loaded_timestamp_seconds",
            &[("module", m)],
            snap.loaded_at,
        );
        for a in &snap.attachments {
            let labels = [
                ("module", m),
                ("iface", &a.iface),
                ("netns", &a.netns),
                ("mode", &a.mode),
            ];
            out.push("iov_attachment_info", &labels, 1);
        }
        for c in &snap.counters {
            for &(index, packets, bytes) in &c.values {
                let index = index.to_string();
                let labels = [
                    ("module", m),
                    ("counter", c.counter.as_str()),
                    ("index", &index),
                ];
                if c.kind != CounterKind::Bytes {
                    out.push("iov_packets_total", &labels, packets);
                }
                if c.kind != CounterKind::Packets {
                    out.push("iov_bytes_total", &labels, bytes);
                }
            }
        }
        for r in &snap.registers {
            let name = r.register.as_str();
            out.push(
                "iov_register_size",
                &[("module", m), ("register", name)],
                r.size,
            );
            for &(index, value) in &r.values {
                let index = index.to_string();
                let labels = [("module", m), ("register", name), ("index", &index)];
                out.push("iov_register_value", &labels, value);
            }
        }
        for t in &snap.tables {
            let labels = [("module", m), ("table", t.table.as_str())];
            out.push("iov_table_entries", &labels, t.entries);
            out.push("iov_table_size", &labels, t.size);
        }
        for (digest, dropped) in &snap.digests {
            out.push(
                "iov_digest_dropped_total",
                &[("module", m), ("digest", digest)],
                dropped,
            );
        }
        for (meter, (cell, at), committed, excess) in &snap.meters {
            for (bucket, tokens) in [("committed", committed), ("excess", excess)] {
                let labels = [
                    ("module", m),
                    ("meter", meter.as_str()),
                    (cell, at.as_str()),
                    ("bucket", bucket),
                ];
                out.push("iov_meter_tokens", &labels, tokens);
            }
        }
    }
    let mut text = String::new();
    for ((name, kind, help), lines) in FAMILIES.iter().zip(&out.0) {
        if lines.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "# HELP {name} {}\n# TYPE {name} {kind}\n",
            escape_help(help)
        ));
        text.push_str(lines);
    }
    text
}

/// The sample lines of each family, in [`FAMILIES`] order.
struct Families(Vec<String>);

impl Families {
    fn push(&mut self, family: &str, labels: &[(&str, &str)], value: impl Display) {
        let at = FAMILIES
            .iter()
            .position(|f| f.0 == family)
            .expect("a family listed in FAMILIES");
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect();
        self.0[at].push_str(&format!("{family}{{{}}} {value}\n", labels.join(",")));
    }
}

/// A label value as the format writes it: `\`, `"` and newline escaped.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Help text as the format writes it: `\` and newline escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', r"\\").replace('\n', r"\n")
}

pub fn run(args: &Args) -> ExitCode {
    let mut names: Vec<String> = Vec::new();
    for name in &args.modules {
        if names.contains(name) {
            continue;
        }
        // Each module must exist at start: a mistyped name is an error, not a down module.
        if let Err(code) = modules::open(name) {
            return code;
        }
        names.push(name.clone());
    }
    let root = modules::root();
    if args.once {
        print!("{}", render(&scrape(&root, &names)));
        return ExitCode::SUCCESS;
    }
    let addrs: Vec<SocketAddr> = match args.listen.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return usage(format!(
                "--listen {}: not an address (HOST:PORT): {e}",
                args.listen
            ))
        }
    };
    let listener = match TcpListener::bind(&addrs[..]) {
        Ok(l) => l,
        Err(e) => return usage(format!("cannot listen on {}: {e}", args.listen)),
    };
    let addr = listener
        .local_addr()
        .map_or(args.listen.clone(), |a| a.to_string());
    if listener.local_addr().is_ok_and(|a| !a.ip().is_loopback()) {
        eprintln!(
            "note: {addr} is not a loopback address: whoever reaches it can read these metrics"
        );
    }
    eprintln!("listening on http://{addr}/metrics");
    serve(
        listener,
        Server {
            root,
            names,
            scraping: Mutex::new(HashMap::new()),
            clients: AtomicUsize::new(0),
        },
    )
}

/// What every connection shares.
struct Server {
    root: std::path::PathBuf,
    names: Vec<String>,
    /// Held while scraping (one scrape at a time); whether each module was up last time.
    scraping: Mutex<HashMap<String, bool>>,
    clients: AtomicUsize,
}

fn serve(listener: TcpListener, server: Server) -> ExitCode {
    let server = Arc::new(server);
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors, a connection reset before accept, ...: go on.
                eprintln!("warning: accepting a connection: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if server.clients.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            server.clients.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.set_nonblocking(true);
            let _ = stream.write_all(&response(503, "text/plain", b"busy\n", false));
            continue;
        }
        let shared = Arc::clone(&server);
        let spawned = std::thread::Builder::new()
            .name("iov-metrics-client".into())
            .spawn(move || {
                let _release = Release(&shared.clients);
                handle(stream, &shared);
            });
        if let Err(e) = spawned {
            server.clients.fetch_sub(1, Ordering::SeqCst);
            eprintln!("warning: cannot serve a client: {e}");
        }
    }
    ExitCode::SUCCESS
}

/// Gives a client's place back, even when its thread panics.
struct Release<'a>(&'a AtomicUsize);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn handle(mut stream: TcpStream, server: &Server) {
    let _ = stream.set_write_timeout(Some(CLIENT_TIMEOUT));
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let (status, head_only) = route(&head);
    let answer = match status {
        Route::Metrics => {
            let text = {
                let mut up = server.scraping.lock().unwrap_or_else(|e| e.into_inner());
                let samples = scrape(&server.root, &server.names);
                for s in &samples {
                    // Say when a module goes down or comes back, not at every scrape.
                    match (&s.snapshot, up.insert(s.module.clone(), s.snapshot.is_ok())) {
                        (Ok(_), Some(false)) => eprintln!("module {} is up again", s.module),
                        (Err(e), None | Some(true)) => {
                            eprintln!("module {} is down: {e}", s.module)
                        }
                        _ => {}
                    }
                }
                render(&samples)
            };
            response(200, CONTENT_TYPE, text.as_bytes(), head_only)
        }
        Route::Index => response(
            200,
            "text/plain; charset=utf-8",
            b"iov metrics: the exposition is at /metrics\n",
            head_only,
        ),
        Route::NotFound => response(404, "text/plain", b"not found: try /metrics\n", head_only),
        Route::Method => response(405, "text/plain", b"only GET and HEAD\n", head_only),
        Route::Bad => response(400, "text/plain", b"bad request\n", false),
    };
    let _ = stream.write_all(&answer);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// The request head (up to the empty line), or `None` when the client sent nothing usable
/// in time (then it gets no answer, or a 400 for an over-long head).
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let n = match stream.read(&mut buf) {
            // A client that half-closes after its request line still gets an answer.
            Ok(0) if head.is_empty() => return None,
            Ok(0) => return Some(String::from_utf8_lossy(&head).into_owned()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Some(String::from_utf8_lossy(&head).into_owned());
        }
        if head.len() > MAX_HEAD {
            let _ = stream.write_all(&response(400, "text/plain", b"request too long\n", false));
            return None;
        }
    }
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    Index,
    NotFound,
    Method,
    Bad,
}

/// The route of a request head, and whether it asks for headers only (HEAD).
fn route(head: &str) -> (Route, bool) {
    let line = head.lines().next().unwrap_or("");
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return (Route::Bad, false);
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase());
    if !token(method) || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return (Route::Bad, false);
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return (Route::Method, false);
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let route = match path {
        "/metrics" | "/metrics/" => Route::Metrics,
        "/" => Route::Index,
        _ => Route::NotFound,
    };
    (route, head_only)
}

/// A whole HTTP/1.1 response; the connection closes after it.
fn response(status: u16, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let allow = if status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {allow}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A router-like module with every kind of metric, and one module that is gone.
    pub fn realistic() -> Vec<ModuleSample> {
        vec![
            ModuleSample {
                module: "r1".into(),
                seconds: 0.0042,
                snapshot: Ok(Snapshot {
                    hook: "xdp".into(),
                    program_id: Some(42),
                    source: "examples/router.iov".into(),
                    loaded_at: 1_764_000_000,
                    attachments: vec![Attachment {
                        iface: "veth0".into(),
                        netns: "/run/netns/blue".into(),
                        mode: "generic".into(),
                    }],
                    counters: vec![
                        CounterSample {
                            counter: "RouterIngress.port_stats".into(),
                            kind: CounterKind::PacketsAndBytes,
                            values: vec![(3, 10, 980), (7, 1, 60)],
                        },
                        CounterSample {
                            counter: "RouterIngress.drops".into(),
                            kind: CounterKind::Packets,
                            values: vec![(0, 5, 0)],
                        },
                        CounterSample {
                            counter: "RouterIngress.volume".into(),
                            kind: CounterKind::Bytes,
                            values: vec![(1, 0, 1500)],
                        },
                    ],
                    registers: vec![RegisterSample {
                        register: "RouterIngress.last_seen".into(),
                        size: 4096,
                        values: vec![(0, 7), (1, u128::from(u64::MAX) + 1)],
                    }],
                    tables: vec![Occupancy {
                        table: "RouterIngress.routes".into(),
                        entries: 1,
                        size: 65536,
                    }],
                    digests: vec![("RouterIngress.syns".into(), 3)],
                    meters: vec![(
                        "RouterIngress.limits".into(),
                        ("index", "2".into()),
                        1500,
                        0,
                    )],
                }),
            },
            ModuleSample {
                module: "gone \"quoted\"\\\n".into(),
                seconds: 0.0001,
                snapshot: Err("no module".into()),
            },
        ]
    }

    #[test]
    fn renders_every_family_with_help_and_type() {
        let text = render(&realistic());
        for (name, kind, _) in FAMILIES {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}:\n{text}");
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
        }
        assert!(text.contains(
            "iov_packets_total{module=\"r1\",counter=\"RouterIngress.port_stats\",index=\"3\"} 10\n"
        ));
        assert!(text.contains(
            "iov_bytes_total{module=\"r1\",counter=\"RouterIngress.port_stats\",index=\"3\"} 980\n"
        ));
        // Only the kinds a counter counts.
        assert!(!text.contains("iov_bytes_total{module=\"r1\",counter=\"RouterIngress.drops\""));
        assert!(!text.contains("iov_packets_total{module=\"r1\",counter=\"RouterIngress.volume\""));
        assert!(text.contains("iov_register_value{module=\"r1\",register=\"RouterIngress.last_seen\",index=\"1\"} 18446744073709551616\n"));
        assert!(text
            .contains("iov_digest_dropped_total{module=\"r1\",digest=\"RouterIngress.syns\"} 3\n"));
        assert!(text.contains(
            "iov_meter_tokens{module=\"r1\",meter=\"RouterIngress.limits\",index=\"2\",bucket=\"committed\"} 1500\n"
        ));
        assert!(
            text.contains("iov_table_size{module=\"r1\",table=\"RouterIngress.routes\"} 65536\n")
        );
        assert!(text.contains("iov_module_info{module=\"r1\",hook=\"xdp\",program_id=\"42\",source=\"examples/router.iov\"} 1\n"));
        assert!(text.contains("iov_module_up{module=\"r1\"} 1\n"));
        assert!(
            text.contains("iov_module_up{module=\"gone \\\"quoted\\\"\\\\\\n\"} 0\n"),
            "{text}"
        );
    }

    #[test]
    fn families_are_contiguous() {
        let text = render(&realistic());
        let mut seen: Vec<&str> = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            if seen.last() != Some(&name) {
                assert!(!seen.contains(&name), "{name} is split:\n{text}");
                seen.push(name);
            }
        }
    }

    #[test]
    fn nothing_to_say_is_empty() {
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn escapes_labels() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn routes_requests() {
        assert_eq!(
            route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            (Route::Metrics, false)
        );
        assert_eq!(
            route("GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            (Route::Metrics, false)
        );
        assert_eq!(
            route("HEAD /metrics HTTP/1.1\r\n\r\n"),
            (Route::Metrics, true)
        );
        assert_eq!(route("GET / HTTP/1.1\r\n\r\n"), (Route::Index, false));
        assert_eq!(
            route("GET /nope HTTP/1.1\r\n\r\n"),
            (Route::NotFound, false)
        );
        assert_eq!(
            route("POST /metrics HTTP/1.1\r\n\r\n"),
            (Route::Method, false)
        );
        assert_eq!(route("garbage\r\n\r\n"), (Route::Bad, false));
        assert_eq!(route("GET metrics HTTP/1.1\r\n\r\n"), (Route::Bad, false));
        assert_eq!(route("GET /metrics SPDY/3\r\n\r\n"), (Route::Bad, false));
        assert_eq!(route("\u{0}\u{1}\r\n\r\n"), (Route::Bad, false));
        assert_eq!(route(""), (Route::Bad, false));
    }

    #[test]
    fn responses_have_length_and_close() {
        let r = String::from_utf8(response(404, "text/plain", b"no\n", false)).unwrap();
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(r.contains("Content-Length: 3\r\n") && r.contains("Connection: close\r\n"));
        assert!(r.ends_with("\r\n\r\nno\n"));
        let head = String::from_utf8(response(200, CONTENT_TYPE, b"body", true)).unwrap();
        assert!(head.ends_with("\r\n\r\n") && head.contains("Content-Length: 4\r\n"));
    }
}
