//! `iov metrics` and `iov stats`: the exposition checked by `promtool check metrics`, the
//! Grafana dashboard checked against what `render` produces, and, on a real interface, the
//! values a loaded router exports, the HTTP server's answers to good and bad clients, a
//! module unloaded while served, and `iov stats --json` lines.
//!
//! The command modules are compiled in here from src/ (with their unit tests), so `render`
//! and the samples are the binary's own. promtool (Debian's `prometheus` package) and root
//! are needed; each test skips with a message without them, and fails under CI=true.

#[allow(dead_code)]
#[path = "../src/modules.rs"]
mod modules;

#[allow(dead_code)]
#[path = "../src/metrics.rs"]
mod metrics;

#[allow(dead_code)]
#[path = "../src/stats.rs"]
mod stats;

mod net;

use net::{privileged, Net};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether promtool is installed; if not, skips (false) or, under CI, fails.
fn have_promtool(what: &str) -> bool {
    if Command::new("promtool").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        !ci(),
        "{what} needs promtool (apt-get install -y prometheus), and CI must run it"
    );
    eprintln!("skipping {what}: promtool is missing (apt-get install -y prometheus)");
    false
}

/// `promtool check metrics` on `text`: its complaints, or `None` when it accepts it.
fn promtool(text: &str) -> Option<String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (!out.status.success() || !said.trim().is_empty()).then_some(said)
}

#[test]
fn promtool_accepts_the_exposition() {
    if !have_promtool("the exposition check") {
        return;
    }
    let text = metrics::render(&metrics::tests::realistic());
    if let Some(complaint) = promtool(&text) {
        panic!("promtool check metrics:\n{complaint}\non:\n{text}");
    }
    // And the check does check: a counter without `_total` and a broken line are refused.
    assert!(promtool("# HELP x_packets p\n# TYPE x_packets counter\nx_packets 1\n").is_some());
    assert!(promtool("iov_table_size{table=\"a} 1\n").is_some());
}

/// Every `iov_...` name in `expr`.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("iov_") {
        let start = i + at;
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut end = start;
        while end < bytes.len() && word(bytes[end]) {
            end += 1;
        }
        if start == 0 || !word(bytes[start - 1]) {
            names.push(expr[start..end].to_string());
        }
        i = end;
    }
    names
}

/// Every string under a key `expr`, `definition` or `query` anywhere in `v`.
fn queries(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr" | "definition" | "query", Value::String(s)) => out.push(s.clone()),
                    _ => queries(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_names_only_rendered_metrics() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/iov-dashboard.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(dash["schemaVersion"]
        .as_u64()
        .is_some_and(|v| (36..=41).contains(&v)));
    let vars = dash["templating"]["list"].as_array().unwrap();
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no ${name}"))
    };
    assert_eq!(var("datasource")["type"], "datasource");
    assert_eq!(var("datasource")["query"], "prometheus");
    assert_eq!(var("module")["type"], "query");
    let panels = dash["panels"].as_array().unwrap();
    let mut ids: Vec<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    for p in panels {
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "panel {}",
            p["title"]
        );
        for t in p["targets"].as_array().unwrap() {
            assert!(
                t["expr"].as_str().unwrap().contains("$module"),
                "{} filters by $module",
                p["title"]
            );
        }
    }
    let rendered = metrics::render(&metrics::tests::realistic());
    let produced: Vec<&str> = rendered
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let mut found = Vec::new();
    queries(&dash, &mut found);
    let mut used = Vec::new();
    for q in &found {
        for name in metric_names(q) {
            assert!(
                produced.contains(&name.as_str()),
                "`{q}` names {name}, which render never produces"
            );
            used.push(name);
        }
    }
    for needed in [
        "iov_packets_total",
        "iov_bytes_total",
        "iov_table_entries",
        "iov_table_size",
        "iov_register_value",
        "iov_module_up",
    ] {
        assert!(used.iter().any(|u| u == needed), "no panel shows {needed}");
    }
}

/// `iov ARGS` with pin root `root`.
fn iov(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iov"))
        .args(args)
        .env("IOV_PIN_ROOT", root)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("iov runs")
}

/// `iov ARGS`, which must succeed: its stdout.
fn ok(root: &Path, args: &[&str]) -> String {
    let out = iov(root, args);
    assert!(
        out.status.success(),
        "iov {args:?} failed ({:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bad_arguments_are_usage_errors() {
    let root = std::env::temp_dir().join(format!("iov-metrics-none-{}", std::process::id()));
    for args in [
        &["stats", "nosuch", "--json"][..],
        &["stats", "nosuch", "--interval", "0"],
        &["stats", "nosuch", "--interval", "-1"],
        &["stats", "nosuch", "--interval", "soon"],
        &["stats", "nosuch", "--count", "0"],
        &["metrics", "nosuch", "--once"],
        &["metrics"],
    ] {
        let out = iov(&root, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "iov {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let err = String::from_utf8(iov(&root, &["stats", "r1", "--interval", "0"]).stderr).unwrap();
    assert!(err.contains("greater than 0"), "{err}");
}

/// Loads `file` as module `name` on `va` (in the bench's namespace A), in generic mode.
fn load(lab: &Net, file: &str, name: &str) {
    ok(
        &lab.root,
        &[
            "load", file, "--dev", "va", "--netns", &lab.a, "--name", name, "--mode", "generic",
        ],
    );
}

/// A 60-byte IPv4 frame to `dst` (checksum left zero: the router does not check it).
fn frame(dst: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 9, 9, 9]);
    f.extend_from_slice(&dst);
    f.resize(60, 0);
    f
}

/// The value of the sample line that starts with `series` (name and labels), if any.
fn value(text: &str, series: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')
            .map(str::to_string)
    })
}

/// A child process killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `request` to `addr` and reads the whole answer: status, head, body.
fn http(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, head.to_string(), body.to_string())
}

#[test]
fn a_loaded_router_exports_its_state() {
    if !privileged() {
        return;
    }
    let promtool_ok = have_promtool("checking a router's exposition");
    let lab = Net::new();
    let name = lab.a.clone();
    load(&lab, "examples/router.iov", &name);
    let routes = format!("{{module=\"{name}\",table=\"RouterIngress.routes\"}}");
    let port3 = format!("{{module=\"{name}\",counter=\"RouterIngress.port_stats\",index=\"3\"}}");

    let before = ok(&lab.root, &["metrics", &name, "--once"]);
    assert_eq!(
        value(&before, &format!("iov_table_size{routes}")).as_deref(),
        Some("65536"),
        "{before}"
    );
    assert_eq!(
        value(&before, &format!("iov_table_entries{routes}")).as_deref(),
        Some("0")
    );
    assert_eq!(
        value(&before, &format!("iov_module_up{{module=\"{name}\"}}")).as_deref(),
        Some("1")
    );
    assert!(
        !before.contains("iov_packets_total"),
        "nothing counted yet:\n{before}"
    );

    ok(
        &lab.root,
        &[
            "table",
            &name,
            "add",
            "routes",
            "hdr.ipv4.dst:10.0.0.0/8",
            "forward(dst_mac:02:00:00:00:00:02,",
            "src_mac:02:00:00:00:00:01,",
            "port:3)",
        ],
    );
    net::send(&lab.b, "vb", vec![frame([10, 1, 2, 3]); 3]);
    net::send(&lab.b, "vb", vec![frame([192, 168, 0, 1])]); // no route: the default drops it, uncounted

    let start = Instant::now();
    let after = ok(&lab.root, &["metrics", &name, "--once"]);
    eprintln!("iov metrics --once on the router: {:?}", start.elapsed());
    assert_eq!(
        value(&after, &format!("iov_table_entries{routes}")).as_deref(),
        Some("1"),
        "{after}"
    );
    assert_eq!(
        value(&after, &format!("iov_packets_total{port3}")).as_deref(),
        Some("3"),
        "{after}"
    );
    assert_eq!(
        value(&after, &format!("iov_bytes_total{port3}")).as_deref(),
        Some("180"),
        "{after}"
    );
    assert_eq!(after.matches("iov_packets_total{").count(), 1, "{after}");
    let info = after
        .lines()
        .find(|l| l.starts_with("iov_module_info{"))
        .unwrap();
    assert!(
        info.contains("hook=\"xdp\"") && info.contains("source=\"examples/router.iov\""),
        "{info}"
    );
    let attach = format!("iov_attachment_info{{module=\"{name}\",iface=\"va\",netns=\"/run/netns/{name}\",mode=\"generic\"}} 1");
    assert!(after.contains(&attach), "{after}");
    if promtool_ok {
        if let Some(complaint) = promtool(&after) {
            panic!("promtool check metrics:\n{complaint}\non:\n{after}");
        }
    }

    let lines = ok(
        &lab.root,
        &[
            "stats",
            &name,
            "--json",
            "--count",
            "2",
            "--interval",
            "0.2",
        ],
    );
    let lines: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let c = &lines[0]["counters"][0];
    assert_eq!(
        (
            c["counter"].as_str(),
            c["index"].as_u64(),
            c["packets"].as_u64(),
            c["bytes"].as_u64()
        ),
        (
            Some("RouterIngress.port_stats"),
            Some(3),
            Some(3),
            Some(180)
        )
    );
    assert!(c["packets_per_s"].is_null() && c["bytes_per_s"].is_null());
    assert_eq!(lines[1]["counters"][0]["packets_per_s"], 0.0);
    let dt = lines[1]["time"].as_f64().unwrap() - lines[0]["time"].as_f64().unwrap();
    assert!((0.15..1.0).contains(&dt), "0.2 s apart, not {dt}");
    assert_eq!(
        lines[1]["tables"][0],
        serde_json::json!({"table": "RouterIngress.routes", "entries": 1, "size": 65536})
    );

    // The server: real scrapes, bad clients, the module unloaded under it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_iov"))
        .args(["metrics", &name, "--listen", "127.0.0.1:0"])
        .env("IOV_PIN_ROOT", &lab.root)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let server = Server(child);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|l| l.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"))
        .parse()
        .unwrap();
    let (status, head, body) = http(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert_eq!(
        value(&body, &format!("iov_packets_total{port3}")).as_deref(),
        Some("3")
    );
    let slow = TcpStream::connect(addr).unwrap(); // says nothing, holds its connection
    assert_eq!(http(addr, b"GET /nope HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(http(addr, b"\x00\x01\xff garbage\r\n\r\n").0, 400);
    assert_eq!(http(addr, b"POST /metrics HTTP/1.1\r\n\r\n").0, 405);
    drop(TcpStream::connect(addr).unwrap()); // hangs up at once
    let mut long = b"GET /".to_vec();
    long.resize(20_000, b'a');
    let mut s = TcpStream::connect(addr).unwrap();
    let _ = s.write_all(&long);
    drop(s);
    let start = Instant::now();
    let (status, _, body) = http(addr, b"GET /metrics HTTP/1.0\r\n\r\n");
    eprintln!("a scrape over HTTP: {:?}", start.elapsed());
    assert_eq!(status, 200);
    assert!(body.contains("iov_table_size"));
    ok(&lab.root, &["unload", &name]);
    let (status, _, body) = http(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(status, 200);
    assert_eq!(
        value(&body, &format!("iov_module_up{{module=\"{name}\"}}")).as_deref(),
        Some("0"),
        "{body}"
    );
    assert!(!body.contains("iov_table_size"), "{body}");
    if promtool_ok {
        assert_eq!(promtool(&body), None);
    }
    drop(slow);
    let mut server = server;
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "the server is still running"
    );
}

#[test]
fn a_counter_of_65536_indexes_refreshes_within_a_second() {
    if !privileged() {
        return;
    }
    let lab = Net::new();
    let name = lab.a.clone();
    let dir = std::env::temp_dir().join(format!("{name}-src"));
    std::fs::create_dir_all(&dir).unwrap();
    let router =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/router.iov"))
            .unwrap();
    let big = router.replace("counter(256,", "counter(65536,");
    assert_ne!(big, router);
    let file = dir.join("big.iov");
    std::fs::write(&file, big).unwrap();
    load(&lab, file.to_str().unwrap(), &name);
    let _ = std::fs::remove_dir_all(&dir);

    let start = Instant::now();
    let text = ok(&lab.root, &["metrics", &name, "--once"]);
    let whole = start.elapsed();
    let read: f64 = value(
        &text,
        &format!("iov_scrape_duration_seconds{{module=\"{name}\"}}"),
    )
    .unwrap()
    .parse()
    .unwrap();
    eprintln!(
        "65536-index counter: read in {read:.3} s (iov metrics --once took {whole:?} in all)"
    );
    assert!(read < 1.0, "a scrape took {read} s");

    let lines = ok(
        &lab.root,
        &["stats", &name, "--json", "--count", "3", "--interval", "1"],
    );
    let times: Vec<f64> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["time"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        let dt = pair[1] - pair[0];
        eprintln!("iov stats --interval 1 on a 65536-index counter: lines {dt:.3} s apart");
        assert!(dt < 1.2, "the interval slipped to {dt} s");
    }
}
