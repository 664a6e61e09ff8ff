import type { PurgeResult } from '../../lambda/engine/purge-types';
import type { PrefixReport } from '../../lambda/retention/prefix-report';

/** The `--json` object: the stable fields of the CLI contract, then extras. */
export function jsonReport(result: PurgeResult, report?: PrefixReport): Record<string, unknown> {
  const base: Record<string, unknown> = {
    bucket: result.bucket,
    mode: result.mode,
    dryRun: result.dryRun,
    listed: result.listed,
    selected: result.selected,
    deleted: result.deleted,
    deleteMarkersDeleted: result.deleteMarkersDeleted,
    bytesDeleted: result.bytesDeleted,
    failed: result.failed,
    errors: result.errors,
    uploadsSelected: result.uploadsSelected,
    uploadsAborted: result.uploadsAborted,
    uploadsFailed: result.uploadsFailed,
    uploadErrors: result.uploadErrors,
    durationMs: result.durationMs,
    resumeToken: result.resumeToken,
  };
  if (result.mode === 'retain') {
    base.byPrefix = report?.byPrefix ?? {};
    base.capReached = result.capReached;
  }
  // `fault`: the transient fault the run gave up on (operation, code, message), or null.
  return { ...base, bucketMissing: result.bucketMissing, throttled: result.throttled, passes: result.passes, fault: result.fault };
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Where a stopped run left its token, and the command that continues it. */
export interface ResumeHint {
  readonly file: string;
  readonly command: string;
}

/**
 * Rows as indented lines whose columns line up: text columns padded on the
 * right, columns of numbers on the left (so counts align). `gaps` are the
 * spaces between columns (default 2).
 */
function alignColumns(rows: readonly string[][], gaps: readonly number[] = []): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i].length))) ?? [];
  const numeric = widths.map((_, i) => rows.every((row) => /^\d+$/.test(row[i])));
  return rows.map((row) => {
    const cells = row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])));
    return `    ${cells.map((cell, i) => (i === 0 ? cell : ' '.repeat(gaps[i - 1] ?? 2) + cell)).join('')}`.trimEnd();
  });
}

/** A short human summary for the terminal or a log. */
export function humanReport(result: PurgeResult, report?: PrefixReport, resume?: ResumeHint): string {
  const lines: string[] = [];
  const target = `s3://${result.bucket}`;
  if (result.bucketMissing) return `${target} does not exist: nothing to delete.`;
  const what = result.mode === 'retain' ? 'Retention' : 'Purge';
  const secs = (result.durationMs / 1000).toFixed(1);
  if (result.dryRun) {
    lines.push(`${what} dry run of ${target} (${secs} s): nothing was deleted.`);
    lines.push(`  listed           ${result.listed}`);
    lines.push(`  would delete     ${result.selected}`);
    lines.push(`  would abort      ${result.uploadsSelected} incomplete upload${result.uploadsSelected === 1 ? '' : 's'}`);
  } else {
    lines.push(`${what} of ${target} (${secs} s, ${result.passes} pass${result.passes === 1 ? '' : 'es'}):`);
    lines.push(`  listed           ${result.listed}`);
    lines.push(`  deleted versions ${result.deleted} (${bytes(result.bytesDeleted)})`);
    lines.push(`  deleted markers  ${result.deleteMarkersDeleted}`);
    lines.push(`  aborted uploads  ${result.uploadsAborted}`);
    lines.push(`  failed           ${result.failed}${result.uploadsFailed > 0 ? ` (and ${result.uploadsFailed} uploads not aborted)` : ''}`);
    if (result.throttled > 0) lines.push(`  throttled (503)  ${result.throttled}`);
  }
  if (report && Object.keys(report.byPrefix).length > 0) {
    lines.push('  by prefix:');
    lines.push(...alignColumns(Object.entries(report.byPrefix).sort().map(([prefix, t]) => [
      prefix || '(no prefix)', String(t.versions), `versions (${bytes(t.bytes)}),`, `${t.deleteMarkers} delete markers`,
    ]), [2, 1, 1]));
    if (result.dryRun && report.sample.length > 0) {
      lines.push('  sample:');
      lines.push(...alignColumns(report.sample.map((s) => [s.key, s.versionId, s.isDeleteMarker ? '(delete marker)' : ''])));
    }
  }
  if (result.capReached) lines.push(`  stopped at the --max-deletions cap; the next run continues.`);
  for (const e of result.errors.slice(0, 10)) lines.push(`  ! ${e.key} (${e.versionId}): ${e.code}: ${e.message}`);
  for (const e of result.uploadErrors.slice(0, 10)) lines.push(`  ! ${e.key} (upload ${e.uploadId}): ${e.code}: ${e.message}`);
  if (result.failed > result.errors.slice(0, 10).length) lines.push(`  … ${result.failed - Math.min(10, result.errors.length)} more failures (use --json for the first 100)`);
  if (resume) {
    lines.push(`  stopped before the end; the resume token is in ${resume.file}`);
    lines.push(`continue with: ${resume.command}`);
  }
  return lines.join('\n');
}
