//! Edit-to-diagnostics latency of `iov lsp` on a 5,000-line program.
//!
//! Run: `cargo build --release && cargo run --release -p iov-lsp --example latency [IOV]`
//! (IOV defaults to target/release/iov). It starts the server, opens a generated program of
//! about 5,000 lines, then makes edits that alternately break and fix one line, timing each
//! from sending `didChange` to receiving `publishDiagnostics`, and prints a table.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A program of about `lines` lines: the router's control repeated with fresh names.
fn program(lines: usize) -> String {
    let mut out = String::from("import std.net.{ethernet_t, ipv4_t, ETHERTYPE_IPV4};\nstruct headers_t { ethernet_t eth; ipv4_t ipv4; }\n");
    let mut n = 0;
    while out.lines().count() < lines {
        out.push_str(&format!(
            "control C{n}(inout headers_t hdr, inout std_meta_t meta) {{\n    counter(256, CounterType.packets) stats{n};\n    action fwd{n}(bit<48> mac, bit<32> port) {{\n        hdr.eth.dst = mac;\n        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;\n        send_to_port(port);\n        stats{n}.count(port);\n    }}\n    action no{n}() {{ drop(); }}\n    table t{n} {{\n        key = {{ hdr.ipv4.dst: lpm; }}\n        actions = {{ fwd{n}; no{n}; }}\n        default_action = no{n}();\n    }}\n    apply {{\n        if (hdr.ipv4.isValid() && hdr.ipv4.ttl > 1) {{ t{n}.apply(); }}\n    }}\n}}\n"
        ));
        n += 1;
    }
    out
}

fn frame(msg: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{msg}", msg.len())
}

fn main() {
    let iov = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/iov".into());
    let mut child = Command::new(&iov)
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {iov} lsp: {e} (build it with `cargo build --release`)")
        });
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut read_message = || -> String {
        let mut len = 0;
        loop {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        stdout.read_exact(&mut body).unwrap();
        String::from_utf8(body).unwrap()
    };
    let uri = "file:///tmp/iov-latency/big.iov";
    let text = program(5000);
    let lines = text.lines().count();
    stdin
        .write_all(
            frame(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#)
                .as_bytes(),
        )
        .unwrap();
    while !read_message().contains("\"id\":1") {}
    let open = serde_json::json!({"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":uri,"languageId":"iov","version":1,"text":text}}});
    stdin
        .write_all(frame(&open.to_string()).as_bytes())
        .unwrap();
    while !read_message().contains("publishDiagnostics") {}
    let broken = text.replacen("hdr.ipv4.ttl - 1;", "hdr.ipv4.ttl - 300;", 1);
    let mut times: Vec<Duration> = Vec::new();
    for i in 0..40 {
        let body = if i % 2 == 0 { &broken } else { &text };
        let change = serde_json::json!({"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":uri,"version":i + 2},"contentChanges":[{"text":body}]}});
        let start = Instant::now();
        stdin
            .write_all(frame(&change.to_string()).as_bytes())
            .unwrap();
        loop {
            let msg = read_message();
            if msg.contains("publishDiagnostics") {
                let has_error = msg.contains("E0202");
                assert_eq!(
                    has_error,
                    i % 2 == 0,
                    "the diagnostics do not match the edit"
                );
                break;
            }
        }
        times.push(start.elapsed());
    }
    let _ = child.kill();
    let _ = child.wait();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| program | edits | median | p90 | max |");
    println!("|---|---|---|---|---|");
    println!(
        "| {lines} lines | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(times[times.len() - 1])
    );
}
