/**
 * `npm start` on a machine with nothing but Node: no moto_server on PATH and
 * no AWS_ENDPOINT_URL_S3, so the demo runs on the project's S3 model. Runs
 * the built demo (npm test builds first) as `npm start` does.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** PATH without the directories that hold a moto_server. */
function pathWithoutMoto(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !fs.existsSync(path.join(dir, 'moto_server')))
    .join(path.delimiter);
}

function runDemo(env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bin', 'demo', 'demo.js')], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('without moto_server or AWS_ENDPOINT_URL_S3, the demo runs on the S3 model, says so once, and prints no raw log lines', async () => {
  // GIVEN
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithoutMoto() };
  for (const name of ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'POWERTOOLS_LOG_LEVEL']) delete env[name];

  // WHEN
  const { status, stdout, stderr } = await runDemo(env);

  // THEN
  expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  expect(stdout.match(/project's own S3 model \(bench\/s3-model.*because moto_server is not installed/g)).toHaveLength(1);
  expect(stdout).toMatch(/== Done: both buckets are empty/);
  expect(stdout.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
  // Every command shown runs as printed: through npx, against the demo's endpoint.
  const commands = stdout.split('\n').filter((line) => line.startsWith('$ '));
  expect(commands.length).toBe(3);
  for (const command of commands) expect(command).toMatch(/^\$ npx version-purger \w+ .* --endpoint http:\/\/127\.0\.0\.1:\d+$/);
}, 180_000);
