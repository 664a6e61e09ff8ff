/**
 * Interns ETags so a version stores a small number instead of a 34-character
 * string; seeded versions of equal size all share one entry.
 */
export class EtagTable {
  private readonly ids = new Map<string, number>();
  private readonly values: string[] = [];

  idOf(etag: string): number {
    let id = this.ids.get(etag);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(etag);
      this.ids.set(etag, id);
    }
    return id;
  }

  /** The quoted ETag, as S3 returns it. */
  etag(id: number): string {
    return this.values[id];
  }
}
