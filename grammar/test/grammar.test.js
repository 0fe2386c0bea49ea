// Tests of the TextMate grammar (grammar/iov.tmLanguage.json), run by `npm test` here:
// the scopes written in fixtures/*.iov, the keyword list of the lexer, and every example and
// standard library file of the repository (all of it highlighted, nothing marked invalid).
//
// Fixture format: a line `// ^^^ scope.a scope.b !prefix` describes the nearest line above it
// that is not such a line: the character under each `^` must have every listed scope in its
// scope stack, and no scope equal to or under a `!prefix`. `// <- scopes` describes column 0.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const onig = require('vscode-oniguruma');
const { loadGrammar, tokenize, regexes, onigLib } = require('./tokenize');

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const ASSERTION = /^\s*\/\/\s*(<-|\^+)\s+(\S.*)$/;

const grammarReady = loadGrammar();

// Checks the assertions of one fixture; returns the failures, one message each.
function checkFixture(grammar, name, text) {
  const lines = tokenize(grammar, text);
  const failures = [];
  let assertions = 0;
  let target = -1;
  lines.forEach(({ line }, i) => {
    const m = ASSERTION.exec(line);
    if (!m) {
      target = i;
      return;
    }
    const where = `${name}:${i + 1}`;
    if (target < 0) {
      failures.push(`${where}: an assertion needs a line above it to describe`);
      return;
    }
    const columns = [];
    if (m[1] === '<-') {
      columns.push(0);
    } else {
      const first = line.indexOf('^', line.indexOf('//') + 2);
      for (let c = first; c < first + m[1].length; c++) columns.push(c);
    }
    const wanted = m[2].trim().split(/\s+/);
    const { line: described, tokens } = lines[target];
    for (const column of columns) {
      assertions++;
      const token = tokens.find((t) => t.start <= column && column < t.end);
      if (!token) {
        failures.push(`${where}: column ${column + 1} is past the end of line ${target + 1}`);
        continue;
      }
      const text = described.slice(token.start, token.end);
      for (const scope of wanted) {
        const ok = scope.startsWith('!')
          ? !token.scopes.some((s) => s === scope.slice(1) || s.startsWith(`${scope.slice(1)}.`))
          : token.scopes.includes(scope);
        if (!ok) {
          failures.push(
            `${where}: line ${target + 1} column ${column + 1} (${JSON.stringify(text)}) ` +
              `${scope.startsWith('!') ? 'must not have' : 'lacks'} ${scope.replace(/^!/, '')}; ` +
              `its scopes are ${token.scopes.join(' ')}`,
          );
        }
      }
    }
  });
  if (assertions === 0) failures.push(`${name}: no assertions`);
  return failures;
}

test('every regular expression of the grammar compiles with Oniguruma', async () => {
  await onigLib();
  const all = regexes();
  assert.ok(all.length > 50, `only ${all.length} regular expressions found`);
  const broken = [];
  for (const { where, source } of all) {
    try {
      new onig.OnigScanner([source]).dispose();
    } catch (e) {
      broken.push(`${where}: ${source}: ${e.message}`);
    }
  }
  assert.deepStrictEqual(broken, []);
});

test('the fixture harness reports wrong scopes, missing scopes and forbidden scopes', async () => {
  const grammar = await grammarReady;
  const text = [
    'if (x) { }',
    '// <- keyword.control.iov',
    '// ^ constant.numeric.integer.decimal.iov',
    '//  ^ !variable',
    '//          ^ keyword.control.iov',
  ].join('\n');
  const failures = checkFixture(grammar, 'self', text);
  assert.strictEqual(failures.length, 3, failures.join('\n'));
  assert.match(failures[0], /self:3: .*lacks constant\.numeric/);
  assert.match(failures[1], /self:4: .*must not have variable/);
  assert.match(failures[2], /self:5: column 13 is past the end/);
  assert.match(checkFixture(grammar, 'empty', 'if (x) { }').join(), /no assertions/);
});

const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.iov')).sort();
test('there are fixtures', () => assert.ok(fixtures.length >= 5, fixtures.join(', ')));
for (const name of fixtures) {
  test(`fixture ${name}`, async () => {
    const grammar = await grammarReady;
    const failures = checkFixture(grammar, name, fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
    assert.ok(failures.length === 0, `\n${failures.join('\n')}`);
  });
}

test('every keyword of the lexer is highlighted as a keyword', async () => {
  const grammar = await grammarReady;
  const lexer = fs.readFileSync(path.join(ROOT, 'compiler/syntax/src/lexer.rs'), 'utf8');
  const section = lexer.split('// Keywords.')[1]?.split('// Punctuation.')[0];
  assert.ok(section, 'compiler/syntax/src/lexer.rs has no `// Keywords.` ... `// Punctuation.` section');
  const keywords = [...section.matchAll(/#\[token\("([a-z_]+)"\)\]/g)].map((m) => m[1]);
  assert.ok(keywords.length >= 39, `found only ${keywords.length} keywords`);
  const wrong = [];
  for (const keyword of keywords) {
    const [{ tokens }] = tokenize(grammar, keyword);
    const scopes = tokens.length === 1 && tokens[0].end === keyword.length ? tokens[0].scopes : [];
    if (!scopes.some((s) => /^(keyword|storage|constant\.language)\./.test(s))) {
      wrong.push(`${keyword}: ${JSON.stringify(tokens)}`);
    }
  }
  assert.deepStrictEqual(wrong, []);
});

test('every example and standard library file is highlighted throughout, nothing invalid', async () => {
  const grammar = await grammarReady;
  const files = ['examples', 'stdlib/std'].flatMap((dir) =>
    fs
      .readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith('.iov'))
      .map((f) => path.join(dir, f)),
  );
  assert.ok(files.length >= 5, files.join(', '));
  const problems = [];
  for (const file of files) {
    tokenize(grammar, fs.readFileSync(path.join(ROOT, file), 'utf8')).forEach(({ line, tokens }, i) => {
      for (const t of tokens) {
        const text = line.slice(t.start, t.end);
        if (!text.trim()) continue;
        if (t.scopes.length < 2 || t.scopes.some((s) => s.startsWith('invalid.'))) {
          problems.push(`${file}:${i + 1}:${t.start + 1}: ${JSON.stringify(text)} has ${t.scopes.join(' ')}`);
        }
      }
    });
  }
  assert.ok(problems.length === 0, `\n${problems.slice(0, 40).join('\n')}`);
});
