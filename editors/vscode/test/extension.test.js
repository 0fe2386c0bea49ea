// Tests of the VS Code extension that run without VS Code (`npm test`, offline): the build
// copies the grammar from grammar/ unchanged, package.json and language-configuration.json
// agree, extension.js starts `iov lsp` as `iov.path` says (with the vscode API and the client
// library stubbed), and the command it builds really starts a language server that answers,
// spoken to with vscode-jsonrpc, the transport of vscode-languageclient (needs the iov binary:
// IOV_BIN, or target/debug/iov of the repository; skipped without one).
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const Module = require('module');
const { spawn } = require('child_process');
const build = require('../scripts/build');

const HERE = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8'));

// JSON with comments, as VS Code reads language-configuration.json.
function parseJsonc(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      const close = /"(?:[^"\\]|\\.)*"/y;
      close.lastIndex = i;
      const m = close.exec(text);
      out += m[0];
      i += m[0].length - 1;
    } else if (text.startsWith('//', i)) {
      i = text.indexOf('\n', i) - 1;
      if (i < 0) break;
    } else if (text.startsWith('/*', i)) {
      i = text.indexOf('*/', i) + 1;
    } else {
      out += text[i];
    }
  }
  return JSON.parse(out);
}

test('the build copies the grammar from grammar/ unchanged', () => {
  build.build();
  assert.strictEqual(fs.readFileSync(build.target, 'utf8'), fs.readFileSync(build.source, 'utf8'));
  assert.strictEqual(path.relative(HERE, build.target), path.join('syntaxes', 'iov.tmLanguage.json'));
});

test('package.json declares the language, its grammar, configuration, setting and command', () => {
  const [language] = manifest.contributes.languages;
  assert.strictEqual(language.id, 'iov');
  assert.deepStrictEqual(language.extensions, ['.iov']);
  const [grammar] = manifest.contributes.grammars;
  assert.strictEqual(grammar.language, 'iov');
  assert.strictEqual(grammar.scopeName, JSON.parse(fs.readFileSync(build.source, 'utf8')).scopeName);
  assert.ok(fs.existsSync(path.join(HERE, grammar.path)), `${grammar.path} is missing: npm run build`);
  assert.ok(fs.existsSync(path.join(HERE, language.configuration)));
  assert.strictEqual(manifest.contributes.configuration.properties['iov.path'].default, 'iov');
  assert.deepStrictEqual(
    manifest.contributes.commands.map((c) => c.command),
    ['iov.restartServer'],
  );
  assert.deepStrictEqual(manifest.activationEvents, ['onLanguage:iov']);
  assert.ok(fs.existsSync(path.join(HERE, manifest.main)));
});

test('the client library is installed and needs no newer VS Code than the extension declares', () => {
  assert.ok(require.resolve('vscode-languageclient/node', { paths: [HERE] }));
  const library = JSON.parse(
    fs.readFileSync(path.join(HERE, 'node_modules', 'vscode-languageclient', 'package.json'), 'utf8'),
  );
  assert.strictEqual(library.engines.vscode, manifest.engines.vscode);
});

test('language-configuration.json has the comments, brackets and pairs of iov', () => {
  const text = fs.readFileSync(path.join(HERE, 'language-configuration.json'), 'utf8');
  assert.ok(text.startsWith('//'), 'starts with a comment saying what it is');
  const config = parseJsonc(text);
  assert.deepStrictEqual(config.comments, { lineComment: '//', blockComment: ['/*', '*/'] });
  for (const pair of [['{', '}'], ['[', ']'], ['(', ')']]) {
    assert.ok(config.brackets.some((b) => b[0] === pair[0] && b[1] === pair[1]), pair.join(''));
    assert.ok(config.autoClosingPairs.some((p) => p.open === pair[0] && p.close === pair[1]), pair.join(''));
  }
  assert.ok(new RegExp(config.wordPattern).test('ipv4_t'));
});

// Loads extension.js with stand-ins for the `vscode` module and vscode-languageclient.
function loadExtension({ settings = {}, folders = [] } = {}) {
  const events = { clients: [], commands: {}, errors: [], configListeners: [] };
  const vscode = {
    workspace: {
      getConfiguration: (section) => ({ get: (key) => settings[`${section}.${key}`] }),
      workspaceFolders: folders.map((f) => ({ uri: { fsPath: f } })),
      createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
      onDidChangeConfiguration: (listener) => {
        events.configListeners.push(listener);
        return { dispose() {} };
      },
    },
    commands: {
      registerCommand: (name, fn) => {
        events.commands[name] = fn;
        return { dispose() {} };
      },
    },
    window: { showErrorMessage: (msg) => events.errors.push(msg) },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false });
      events.clients.push(this);
    }
    async start() {
      if (settings.failStart) throw new Error('spawn ENOENT');
      this.started = true;
    }
    async stop() {
      this.stopped = true;
    }
  }
  const client = { LanguageClient, TransportKind: { stdio: 0, ipc: 1 } };
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return client;
    return load.call(this, request, ...rest);
  };
  const file = require.resolve(path.join(HERE, manifest.main));
  delete require.cache[file];
  try {
    return { extension: require(file), events, settings };
  } finally {
    Module._load = load;
  }
}

test('activating starts `iov lsp` over stdio for iov documents', async () => {
  const { extension, events } = loadExtension();
  const context = { subscriptions: [] };
  await extension.activate(context);
  assert.strictEqual(events.clients.length, 1);
  const [client] = events.clients;
  assert.ok(client.started);
  assert.strictEqual(client.id, 'iov');
  assert.deepStrictEqual(client.serverOptions.run, { command: 'iov', args: ['lsp'], transport: 0 });
  assert.deepStrictEqual(
    client.clientOptions.documentSelector.map((s) => s.language),
    ['iov', 'iov'],
  );
  assert.strictEqual(context.subscriptions.length, 2);
  await extension.deactivate();
  assert.ok(client.stopped);
});

test('iov.path chooses the program: a command, an absolute path, or relative to the workspace', () => {
  const cases = [
    [undefined, 'iov'],
    ['  ', 'iov'],
    ['iov-dev', 'iov-dev'],
    ['/opt/iov/bin/iov', '/opt/iov/bin/iov'],
    ['target/debug/iov', path.join('/work/proj', 'target/debug/iov')],
  ];
  for (const [setting, command] of cases) {
    const { extension } = loadExtension({ settings: { 'iov.path': setting }, folders: ['/work/proj'] });
    assert.strictEqual(extension.serverOptions().run.command, command, String(setting));
  }
});

test('changing iov.path or running iov.restartServer restarts the server', async () => {
  const { extension, events, settings } = loadExtension();
  await extension.activate({ subscriptions: [] });
  settings['iov.path'] = '/usr/local/bin/iov';
  events.configListeners.forEach((l) => l({ affectsConfiguration: (s) => s === 'iov.other' }));
  assert.strictEqual(events.clients.length, 1);
  events.configListeners.forEach((l) => l({ affectsConfiguration: (s) => s === 'iov.path' }));
  await new Promise((r) => setImmediate(r));
  assert.strictEqual(events.clients.length, 2);
  assert.ok(events.clients[0].stopped);
  assert.strictEqual(events.clients[1].serverOptions.run.command, '/usr/local/bin/iov');
  await events.commands['iov.restartServer']();
  assert.strictEqual(events.clients.length, 3);
  assert.ok(events.clients[1].stopped && events.clients[2].started);
});

test('a server that cannot start is reported, naming iov.path', async () => {
  const { extension, events } = loadExtension({ settings: { failStart: true } });
  await extension.activate({ subscriptions: [] });
  assert.strictEqual(events.errors.length, 1);
  assert.match(events.errors[0], /could not start `iov lsp`.*iov\.path/);
  await extension.deactivate();
});

function iovBinary() {
  const candidates = [process.env.IOV_BIN, path.join(HERE, '..', '..', 'target', 'debug', 'iov')];
  return candidates.find((c) => c && fs.existsSync(c));
}

test('the command the extension builds starts a server that publishes diagnostics', async (t) => {
  const binary = iovBinary();
  if (!binary) {
    t.skip('no iov binary: set IOV_BIN or run `cargo build` in the repository');
    return;
  }
  const rpc = require('vscode-jsonrpc/node');
  const { extension } = loadExtension({ settings: { 'iov.path': binary } });
  const { command, args } = extension.serverOptions().run;
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin),
  );
  const published = new Promise((resolve) =>
    connection.onNotification('textDocument/publishDiagnostics', resolve),
  );
  connection.listen();
  try {
    const init = await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
    });
    assert.ok(init.capabilities.hoverProvider, JSON.stringify(init));
    await connection.sendNotification('initialized', {});
    const uri = 'file:///tmp/iov-vscode-test/broken.iov';
    await connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'iov', version: 1, text: 'const bit<8> X = 300;\n' },
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no diagnostics in 10 s')), 10000);
    });
    const diagnostics = await Promise.race([published, timeout]).finally(() => clearTimeout(timer));
    assert.strictEqual(diagnostics.uri, uri);
    assert.deepStrictEqual(
      diagnostics.diagnostics.map((d) => [d.code, d.range.start.line]),
      [['E0202', 0]],
    );
    await connection.sendRequest('shutdown');
    await connection.sendNotification('exit');
  } finally {
    connection.dispose();
    child.kill();
  }
});
