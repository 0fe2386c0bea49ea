//! The language server driven over stdio as an editor drives it: initialize, open a file,
//! receive its diagnostics, then hover, go to definition, find references and list symbols.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

struct Client {
    child: Child,
    stdin: ChildStdin,
    /// Messages read from the server's stdout by a thread of their own, so a server that
    /// stops answering fails the test after a timeout instead of hanging it.
    messages: std::sync::mpsc::Receiver<Value>,
    next_id: u64,
}

/// How long a request may go unanswered.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads LSP messages from `stdout` until it closes.
fn read_messages(mut stdout: BufReader<ChildStdout>, to: std::sync::mpsc::Sender<Value>) {
    loop {
        let mut len = 0;
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        if stdout.read_exact(&mut body).is_err() {
            return;
        }
        if to.send(serde_json::from_slice(&body).unwrap()).is_err() {
            return;
        }
    }
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_iov"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("iov lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (to, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || read_messages(stdout, to));
        Client {
            child,
            stdin,
            messages,
            next_id: 1,
        }
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        match self.messages.recv_timeout(ANSWER_WITHIN) {
            Ok(msg) => msg,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the server did not answer within {ANSWER_WITHIN:?}")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the server closed its output")
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let msg = self.receive();
            if msg["id"] == json!(id) {
                return msg["result"].clone();
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn diagnostics(&mut self) -> Value {
        loop {
            let msg = self.receive();
            if msg["method"] == "textDocument/publishDiagnostics" {
                return msg["params"].clone();
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

const URI: &str = "file:///tmp/iov-lsp-test/prog.iov";

/// The router, with a type error in the control and a syntax error in the deparser.
const PROGRAM: &str = "import std.net.{ethernet_t, ipv4_t, ETHERTYPE_IPV4};

struct headers_t { ethernet_t eth; ipv4_t ipv4; }

parser P(packet_in pkt, out headers_t hdr) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.ether_type) { ETHERTYPE_IPV4: parse_ipv4; default: accept; }
    }
    state parse_ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}

control C(inout headers_t hdr, inout std_meta_t meta) {
    action drop_packet() { drop(); }
    table routes {
        key = { hdr.ipv4.dst: lpm; }
        actions = { drop_packet; }
        default_action = drop_packet();
    }
    apply {
        bit<16> ttl = hdr.ipv4.ttl;
        routes.apply();
    }
}

deparser D(packet_out pkt, inout headers_t hdr) { apply { pkt.emit(hdr.eth) } }

xdp(P(), C(), D()) main;
";

fn position_of(needle: &str, nth: usize) -> Value {
    let at = PROGRAM
        .match_indices(needle)
        .nth(nth)
        .expect("needle in program")
        .0;
    let line = PROGRAM[..at].matches('\n').count();
    let col = at - PROGRAM[..at].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": col})
}

#[test]
fn an_editor_session() {
    let mut c = Client::start();
    let init = c.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    assert_eq!(init["capabilities"]["hoverProvider"], true);
    assert_eq!(init["capabilities"]["definitionProvider"], true);
    assert_eq!(init["serverInfo"]["name"], "iov");
    c.notify("initialized", json!({}));

    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "iov", "version": 1, "text": PROGRAM}}),
    );
    let d = c.diagnostics();
    assert_eq!(d["uri"], URI);
    let diags = d["diagnostics"].as_array().unwrap();
    let codes: Vec<(&str, u64)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap(),
                d["range"]["start"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    // Same codes and lines as `iov check`: the width error, and the missing `;`.
    assert_eq!(codes, vec![("E0201", 20), ("E0001", 25)], "{diags:#?}");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("expected `bit<16>`, found `bit<8>`"));
    assert_eq!(diags[0]["range"]["start"]["character"], 22);

    // Hover on a header type: its layout, with bit offsets.
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": position_of("ipv4_t ipv4", 0)}),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("header ipv4_t {"), "{text}");
    assert!(text.contains("bit<8> ttl;  // bits 64..71"), "{text}");
    assert!(text.contains("160 bits, 20 bytes"), "{text}");

    // Hover on a field: its type.
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": position_of("ttl;", 0)}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("bit<8>"),
        "{hover}"
    );

    // Hover on a table: its keys, actions and default; on an extern function: its signature
    // and the comment above its declaration in the standard library.
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": position_of("routes.apply", 0)}),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("keys: `hdr.ipv4.dst`: lpm")
            && text.contains("actions: drop_packet")
            && text.contains("default: drop_packet()"),
        "{text}"
    );
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": position_of("drop();", 0)}),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("extern void drop()") && text.contains("Forwarding decisions"),
        "{text}"
    );

    // Go to definition: a transition's target state.
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": URI}, "position": position_of("parse_ipv4", 0)}),
    );
    assert_eq!(def["uri"], URI);
    assert_eq!(def["range"]["start"], position_of("parse_ipv4", 1));

    // Go to definition into the standard library.
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": URI}, "position": position_of("ethernet_t eth", 0)}),
    );
    assert!(
        def["uri"].as_str().unwrap().ends_with("/std/net.iov"),
        "{def}"
    );

    // References of an action: its declaration, its place in `actions` and the default.
    let refs = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": URI}, "position": position_of("drop_packet", 0), "context": {"includeDeclaration": true}}),
    );
    let lines: Vec<u64> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![13, 16, 17], "{refs}");

    // The outline.
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["headers_t", "P", "C", "D", "main"]);
    let parser_children: Vec<&str> = symbols[1]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(parser_children, vec!["start", "parse_ipv4"]);

    // Completion: fields after a dot, even in a line still being typed.
    let typing = PROGRAM.replace("routes.apply();", "routes.apply();\n        hdr.ipv4.");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": typing}]}),
    );
    let _ = c.diagnostics();
    let at = typing.find("hdr.ipv4.\n").unwrap() + "hdr.ipv4.".len();
    let line = typing[..at].matches('\n').count();
    let col = at - typing[..at].rfind('\n').unwrap() - 1;
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": col}}),
    );
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"ttl") && labels.contains(&"dst") && labels.contains(&"isValid"),
        "{labels:?}"
    );
    assert!(!labels.contains(&"table"), "{labels:?}");
    // States after `transition`; match kinds after a key's `:`; actions in `actions`.
    let labels_at = |c: &mut Client, needle: &str, shift: usize| -> Vec<String> {
        let p = position_of(needle, 0);
        let pos = json!({"line": p["line"], "character": p["character"].as_u64().unwrap() as usize + shift});
        let items = c.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": pos}),
        );
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["label"].as_str().unwrap().to_string())
            .collect()
    };
    let states = labels_at(&mut c, "transition accept; }\n}", "transition ".len());
    assert_eq!(
        states,
        vec!["start", "parse_ipv4", "accept", "reject", "select"]
    );
    let kinds = labels_at(&mut c, "lpm; }", 0);
    assert_eq!(kinds, vec!["exact", "lpm", "ternary", "range", "optional"]);
    let acts = labels_at(&mut c, "drop_packet; }", 0);
    assert_eq!(acts, vec!["drop_packet"]);

    // A fix clears the diagnostics.
    let fixed = PROGRAM
        .replace("bit<16> ttl", "bit<8> ttl")
        .replace("emit(hdr.eth) }", "emit(hdr.eth); pkt.emit(hdr.ipv4); }");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let d = c.diagnostics();
    assert_eq!(d["diagnostics"], json!([]));

    // Rename: every use and the declaration; refused with a reason where it would break code.
    let edit = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": URI}, "position": position_of("drop_packet", 1), "newName": "discard"}),
    );
    let lines: Vec<u64> = edit["changes"][URI]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![13, 16, 17], "{edit}");
    let id = 1000;
    for (name, reason) in [
        ("routes", "already names something"),
        ("table", "is not a name"),
    ] {
        c.send(json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/rename",
            "params": {"textDocument": {"uri": URI}, "position": position_of("drop_packet", 1), "newName": name}}));
        let reply = loop {
            let m = c.receive();
            if m["id"] == json!(id) {
                break m;
            }
        };
        assert!(
            reply["error"]["message"].as_str().unwrap().contains(reason),
            "{reply}"
        );
    }
    c.send(json!({"jsonrpc": "2.0", "id": id + 1, "method": "textDocument/rename",
        "params": {"textDocument": {"uri": URI}, "position": position_of("ethernet_t eth", 0), "newName": "eth_t"}}));
    let reply = loop {
        let m = c.receive();
        if m["id"] == json!(id + 1) {
            break m;
        }
    };
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is declared in std/net.iov"),
        "{reply}"
    );

    // Semantic tokens: the legend, and `ipv4_t` in the headers struct is a type.
    let legend = init["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"].clone();
    let data = c.request(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": URI}}),
    )["data"]
        .clone();
    let data: Vec<u64> = data
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let (mut line, mut col) = (0, 0);
    let mut kinds = std::collections::HashMap::new();
    for t in data.chunks(5) {
        line += t[0];
        col = if t[0] == 0 { col + t[1] } else { t[1] };
        kinds.insert(
            (line, col),
            legend[t[3] as usize].as_str().unwrap().to_string(),
        );
    }
    let at = position_of("ipv4_t ipv4", 0);
    assert_eq!(
        kinds[&(
            at["line"].as_u64().unwrap(),
            at["character"].as_u64().unwrap()
        )],
        "type"
    );
    let at = position_of("drop_packet; }", 0);
    assert_eq!(
        kinds[&(
            at["line"].as_u64().unwrap(),
            at["character"].as_u64().unwrap()
        )],
        "function"
    );

    // Signature help inside a call: the extern's parameters, the second one active.
    let at = position_of("pkt.extract(hdr.eth)", 0);
    let inside = json!({"line": at["line"], "character": at["character"].as_u64().unwrap() + "pkt.extract(".len() as u64});
    let help = c.request(
        "textDocument/signatureHelp",
        json!({"textDocument": {"uri": URI}, "position": inside}),
    );
    assert_eq!(
        help["signatures"][0]["label"], "void packet_in.extract(T0 hdr)",
        "{help}"
    );

    // Folding: the parser's body folds.
    let folds = c.request(
        "textDocument/foldingRange",
        json!({"textDocument": {"uri": URI}}),
    );
    assert!(
        folds
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["startLine"] == 4 && f["endLine"] == 9),
        "{folds}"
    );

    // Workspace symbols across open documents.
    let found = c.request("workspace/symbol", json!({"query": "parse_"}));
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["parse_ipv4"]);

    // Formatting: one edit with the same text as `iov fmt`.
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let new_text = edits[0]["newText"].as_str().unwrap();
    assert_eq!(
        Some(new_text.to_string()),
        iov_syntax::format::format(&fixed)
    );
    assert!(
        new_text.contains("    action drop_packet() {\n        drop();\n    }\n"),
        "{new_text}"
    );

    let _ = c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
}

#[test]
fn every_request_at_every_position_of_multibyte_text_gets_an_answer() {
    let mut c = Client::start();
    c.request("initialize", json!({"capabilities": {}}));
    c.notify("initialized", json!({}));
    // Names and comments with two-, three- and four-byte characters and a zero-width space,
    // typed next to members and calls.
    let text = "// é 日本 😀\u{200b}\ncontrol C(inout std_meta_t meta) {\n    apply { é.x; 日本(1, 😀\u{200b}.); meta.\u{200b} }\n}\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "iov", "version": 1, "text": text}}),
    );
    let _ = c.diagnostics();
    let methods = [
        "textDocument/completion",
        "textDocument/hover",
        "textDocument/signatureHelp",
        "textDocument/definition",
        "textDocument/references",
    ];
    for (line, content) in text.lines().enumerate() {
        // Every UTF-16 column, and some past the end of the line.
        let units = content.encode_utf16().count();
        for character in 0..units + 3 {
            for method in methods {
                let mut params = json!({
                    "textDocument": {"uri": URI},
                    "position": {"line": line, "character": character},
                });
                if method == "textDocument/references" {
                    params["context"] = json!({"includeDeclaration": true});
                }
                // `request` waits for the answer: a dead server fails here.
                let _ = c.request(method, params);
            }
        }
    }
    // Still serving.
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    );
    assert!(symbols.is_array(), "{symbols}");
}
