// Loads grammar/iov.tmLanguage.json with vscode-textmate and vscode-oniguruma (the engine
// VS Code uses) and tokenizes text line by line: [{ line, tokens: [{ start, end, scopes }] }].
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const onig = require('vscode-oniguruma');

const GRAMMAR_PATH = path.join(__dirname, '..', 'iov.tmLanguage.json');

let onigReady;
function onigLib() {
  if (!onigReady) {
    const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
    const bytes = wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength);
    onigReady = onig.loadWASM(bytes).then(() => ({
      createOnigScanner: (patterns) => new onig.OnigScanner(patterns),
      createOnigString: (s) => new onig.OnigString(s),
    }));
  }
  return onigReady;
}

async function loadGrammar(grammarPath = GRAMMAR_PATH) {
  const registry = new vsctm.Registry({
    onigLib: onigLib(),
    loadGrammar: async (scopeName) =>
      scopeName === 'source.iov'
        ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath)
        : null,
  });
  const grammar = await registry.loadGrammar('source.iov');
  if (!grammar) throw new Error(`cannot load ${grammarPath}`);
  return grammar;
}

function tokenize(grammar, text) {
  let stack = vsctm.INITIAL;
  return text.split(/\r?\n/).map((line) => {
    const result = grammar.tokenizeLine(line, stack);
    stack = result.ruleStack;
    return {
      line,
      tokens: result.tokens.map((t) => ({
        start: t.startIndex,
        end: Math.min(t.endIndex, line.length),
        scopes: t.scopes,
      })),
    };
  });
}

// Every regular expression of the grammar (match, begin, end), with where it is.
function regexes(raw = JSON.parse(fs.readFileSync(GRAMMAR_PATH, 'utf8'))) {
  const found = [];
  const walk = (node, where) => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => walk(n, `${where}[${i}]`));
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (['match', 'begin', 'end', 'while'].includes(k) && typeof v === 'string') {
          found.push({ where: `${where}.${k}`, source: v });
        } else {
          walk(v, `${where}.${k}`);
        }
      }
    }
  };
  walk(raw, '$');
  return found;
}

module.exports = { GRAMMAR_PATH, loadGrammar, tokenize, regexes, onigLib };
