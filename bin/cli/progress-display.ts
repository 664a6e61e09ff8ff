import { SingleBar, Presets } from 'cli-progress';
import type { PurgeProgress } from '../../lambda/engine/purge-types';

/**
 * A progress bar on the terminal: deleted entries against entries listed so
 * far (the bucket's size is unknown until the listing ends). It shows only
 * when both stdout and stderr are terminals, and draws on stderr.
 */
export class ProgressDisplay {
  private bar: SingleBar | undefined;

  constructor(private readonly verb: string) {}

  static wanted(): boolean {
    return process.stdout.isTTY === true && process.stderr.isTTY === true;
  }

  update(p: PurgeProgress): void {
    const done = p.deleted + p.deleteMarkersDeleted + p.failed;
    const total = Math.max(p.selected, done, 1);
    const payload = { verb: this.verb, listed: p.listed, rate: Math.round((done / Math.max(p.elapsedMs, 1)) * 1000), pass: p.pass };
    if (!this.bar) {
      this.bar = new SingleBar(
        {
          format: '{verb} [{bar}] {value}/{total} selected | listed {listed} | {rate}/s | pass {pass}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      );
      this.bar.start(total, done, payload);
    }
    this.bar.setTotal(total);
    this.bar.update(done, payload);
  }

  stop(): void {
    this.bar?.stop();
  }
}
