// The iov extension for VS Code: starts the iov language server (`iov lsp`, or the program
// named by the `iov.path` setting) with vscode-languageclient for .iov files, restarts it when
// the setting changes or on the `iov.restartServer` command. Highlighting and the language
// configuration are declared in package.json.
'use strict';

const path = require('path');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

// The program to run: `iov.path` as given when it is a bare command or an absolute path,
// otherwise relative to the first workspace folder.
function serverCommand() {
  const configured = (vscode.workspace.getConfiguration('iov').get('path') || 'iov').trim() || 'iov';
  const folders = vscode.workspace.workspaceFolders;
  if (path.isAbsolute(configured) || !/[\\/]/.test(configured) || !folders || folders.length === 0) {
    return configured;
  }
  return path.join(folders[0].uri.fsPath, configured);
}

function serverOptions() {
  const run = { command: serverCommand(), args: ['lsp'], transport: TransportKind.stdio };
  return { run, debug: run };
}

function clientOptions() {
  return {
    documentSelector: [
      { scheme: 'file', language: 'iov' },
      { scheme: 'untitled', language: 'iov' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.iov') },
  };
}

async function start() {
  const options = serverOptions();
  client = new LanguageClient('iov', 'iov language server', options, clientOptions());
  try {
    await client.start();
  } catch (e) {
    vscode.window.showErrorMessage(
      `iov: could not start \`${options.run.command} lsp\` (${e.message}). ` +
        'Install iov (cargo install --path . in the iov repository) or set `iov.path`.',
    );
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (e) {
      // A server that never started has nothing to stop.
    }
  }
}

async function restart() {
  await stop();
  await start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('iov.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('iov.path')) restart();
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, serverOptions, clientOptions };
