// Bundles the Lambda handler into a self-contained asset shipped in the package,
// so that users' `cdk synth` needs neither esbuild nor Docker.
const path = require('node:path');
const fs = require('node:fs');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const entry = path.join(root, 'lambda', 'handler.ts');
const outdir = path.join(root, 'assets', 'handler');

if (!fs.existsSync(entry)) {
  console.error(`bundle-handler: ${entry} not found yet; skipping`);
  process.exit(0);
}
fs.rmSync(outdir, { recursive: true, force: true });
esbuild.buildSync({
  entryPoints: [entry],
  outfile: path.join(outdir, 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  // Unlike the CLI (bundle-cli.js), the SDK's CommonJS build: its ES build
  // reaches Node's http through a dynamic import(), which the lifecycle tests,
  // running this bundle inside Jest's VM, cannot follow.
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
