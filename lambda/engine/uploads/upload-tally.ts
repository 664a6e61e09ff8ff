import { MAX_REPORTED_ERRORS } from '../constants';
import type { ResumeToken, UploadCounts } from '../resume-token';
import type { AbortFailure } from './upload-sweep';

const noUploads = (): UploadCounts => ({ uploadsSelected: 0, uploadsAborted: 0, uploadsFailed: 0 });

/**
 * What a run did to incomplete multipart uploads, across passes and resumed
 * segments, and whether the current pass still owes its upload sweep.
 *
 * A sweep that stops part-way is done again from the start when the run
 * resumes. Uploads it aborted are gone and will not be listed again, so the
 * token keeps them; what it chose but did not abort, and its failures, are
 * left out, because the resumed sweep meets them again.
 */
export class UploadTally {
  private counts: UploadCounts;
  private errors: AbortFailure[];
  /** True until the current pass's sweep has listed every page. */
  private pending: boolean;
  /** Counts and failures when the sweep in progress started; null between sweeps. */
  private atStart: { counts: UploadCounts; errors: number } | null = null;

  constructor(token?: ResumeToken) {
    this.counts = token?.uploads ? { ...token.uploads } : noUploads();
    this.errors = token?.uploadErrors ? [...token.uploadErrors] : [];
    // A fresh run sweeps first; a resumed one only if its token says the sweep was cut short.
    this.pending = token ? token.sweepPending === true : true;
  }

  get sweepPending(): boolean {
    return this.pending;
  }

  sweepStarted(): void {
    this.atStart = { counts: { ...this.counts }, errors: this.errors.length };
  }

  sweepFinished(): void {
    this.pending = false;
    this.atStart = null;
  }

  /** A new pass sweeps again; failures are counted per pass, like entries'. */
  newPass(): void {
    this.pending = true;
    this.counts.uploadsFailed = 0;
    this.errors = [];
  }

  selected(): void {
    this.counts.uploadsSelected++;
  }

  aborted(): void {
    this.counts.uploadsAborted++;
  }

  failed(f: AbortFailure): void {
    this.counts.uploadsFailed++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(f);
  }

  /** The counts and failures of the result. */
  resultFields(): UploadCounts & { uploadErrors: AbortFailure[] } {
    return { ...this.counts, uploadErrors: [...this.errors] };
  }

  /** The fields of a resume token written now. */
  tokenFields(): Pick<ResumeToken, 'uploads' | 'uploadErrors' | 'sweepPending'> {
    if (!this.pending || this.atStart === null) {
      return { uploads: { ...this.counts }, uploadErrors: [...this.errors], ...(this.pending && { sweepPending: true }) };
    }
    const before = this.atStart.counts;
    const abortedNow = this.counts.uploadsAborted - before.uploadsAborted;
    return {
      uploads: { uploadsSelected: before.uploadsSelected + abortedNow, uploadsAborted: this.counts.uploadsAborted, uploadsFailed: before.uploadsFailed },
      uploadErrors: this.errors.slice(0, this.atStart.errors),
      sweepPending: true,
    };
  }
}
