import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the pre-bundled handler lives, relative to the package root. */
const ASSET_DIR = path.join('assets', 'handler');

/**
 * Finds the package root by walking up from `start` to the first directory
 * that holds a package.json. Works both from `lib/*.ts` (ts-node, ts-jest)
 * and from `dist/lib/*.js` (the published package).
 */
function findPackageRoot(start: string): string | undefined {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Directory of the pre-bundled Lambda handler (`assets/handler/index.js`),
 * built by `npm run build`. Users' synth needs neither esbuild nor Docker.
 * @throws Error when the bundle is missing, saying how to build it.
 */
function handlerAssetDir(start: string = __dirname): string {
  const root = findPackageRoot(start);
  const dir = path.join(root ?? start, ASSET_DIR);
  if (!root || !fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(
      `cdk-version-purger: the Lambda handler bundle ${path.join(dir, 'index.js')} is missing. ` +
        `Run "npm run build" in ${root ?? 'the cdk-version-purger package'} to create it.`,
    );
  }
  return dir;
}

export { handlerAssetDir, findPackageRoot };
