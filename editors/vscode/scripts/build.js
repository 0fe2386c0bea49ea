// Build step of the VS Code extension: copies the TextMate grammar from grammar/ (its single
// source, two directories up) to syntaxes/, where package.json points, after checking it.
'use strict';

const fs = require('fs');
const path = require('path');

const here = path.join(__dirname, '..');
const source = path.join(here, '..', '..', 'grammar', 'iov.tmLanguage.json');
const manifest = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const [contribution] = manifest.contributes.grammars;
const target = path.join(here, contribution.path);

function build() {
  if (!fs.existsSync(source)) {
    throw new Error(`${source} is missing: build the extension inside the iov repository`);
  }
  const text = fs.readFileSync(source, 'utf8');
  const grammar = JSON.parse(text);
  if (grammar.scopeName !== contribution.scopeName) {
    throw new Error(`${source} has scope ${grammar.scopeName}, package.json expects ${contribution.scopeName}`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, text);
  return target;
}

module.exports = { build, source, target };

if (require.main === module) {
  try {
    console.log(`wrote ${path.relative(process.cwd(), build())} from ${path.relative(process.cwd(), source)}`);
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
}
