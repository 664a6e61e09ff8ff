// Bundles the CLI into one self-contained file, dist/bin/cli.js (replacing
// tsc's output), so that the installed package needs no runtime dependency
// for it: the AWS SDK, commander and cli-progress are inside.
const path = require('node:path');
const fs = require('node:fs');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const outfile = path.join(root, 'dist', 'bin', 'cli.js');

esbuild.buildSync({
  entryPoints: [path.join(root, 'bin', 'cli', 'cli.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The SDK's ES modules, not its CommonJS build: esbuild can then leave out
  // the commands and schemas never used. Everything a module defines stays
  // live for the whole run, and V8 sizes the old generation at several times
  // what is live (bench/README.md, issue 12's memory).
  mainFields: ['module', 'main'],
  minify: true,
  // Stack traces in bug reports stay readable enough.
  keepNames: true,
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'warning',
});
fs.chmodSync(outfile, 0o755);
