/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or BENCH_CPU_PROF_DIR with
 * `npm run bench`) as shares of the process's busy time by part of the purge:
 *
 *   node dist/bench/profile-shares.js <file.cpuprofile> [--top 25]
 *
 * Self time is attributed to the innermost frame that names a known part;
 * frames of the bundled CLI keep their names (esbuild keepNames).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Parts of the purge, tried in order on each frame from the innermost outwards. */
const PARTS: ReadonlyArray<readonly [string, RegExp]> = [
  ['Garbage collection', /^\(garbage collector\)$/],
  ['Lean list parser (this project)', /scanListVersions|scanDocument|startTag|endTag|textUntil|storeField|indexAfter|closeEntry|decodeXmlText|scanOrGiveUp|fromScan|scanBody|ListVersionsScan|^step$|^push$/],
  ['ListObjectVersions XML parsing (SDK)', /parseXML|XMLParser|parseXml|xml-builder|fast-xml-parser|readTag|readText|OrderedObjParser|buildAttributesMap|parseToOrderedJsObj/i],
  ['Mapping onto SDK types (schema, values, dates)', /XmlShapeDeserializer|readSchema|deserializeResponse|NormalizedSchema|parseRfc3339|parseRfc7231|dateTime|expectNonNull|strictParse|readMember|readStruct|readValue|deserializer|de_/],
  ['Building the DeleteObjects body', /XmlNode|XmlText|XmlShapeSerializer|serializeRequest|writeStruct|writeList|escapeElement|escapeAttribute|deleteObjectsBody|buildDeleteBody/],
  ['SigV4 signing', /SignatureV4|signRequest|createCanonicalRequest|getCanonicalHeaders|getPayloadHash|Hmac|hmac|getSigningKey|Hash\b|digest/],
  ['CRC32 / MD5 checksum', /crc32|Crc32|AwsCrc32|checksum|Checksum|md5/i],
  ['HTTP (node:http, sockets, streams)', /^node:(_http|http|net|stream|internal\/(streams|http|net|stream_base))/],
  ['Rate controller, deleter, engine', /RateController|BatchDeleter|PurgeEngine|StreamLedger|listVersionPage|mergePageEntries|deleteMany|settle/],
  ['Idle', /^\(idle\)$/],
  ['Program (other)', /^\(program\)$/],
];

function main(argv: readonly string[]): void {
  const file = argv[0];
  if (!file) throw new Error('usage: profile-shares <file.cpuprofile> [--top N]');
  const top = argv[1] === '--top' ? Number(argv[2]) : 0;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const shares = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const part = partOf(id, byId, parent);
    if (part !== 'Idle') busy += us;
    shares.set(part, (shares.get(part) ?? 0) + us);
    const name = frameName(id, byId, parent);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${pct(busy, total)} of wall time)\n`);
  console.log('| Part | Busy ms | Share of busy time |\n| --- | --: | --: |');
  for (const [part, us] of [...shares].sort((a, b) => b[1] - a[1])) {
    if (part !== 'Idle') console.log(`| ${part} | ${(us / 1000).toFixed(0)} | ${pct(us, busy)} |`);
  }
  if (top > 0) {
    console.log('\nTop functions by self time:');
    const ranked = [...byFunction].filter(([name]) => !name.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
    for (const [name, us] of ranked.slice(0, top)) console.log(`${pct(us, busy).padStart(6)}  ${name}`);
  }
}

function partOf(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): string {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)!.callFrame;
    for (const [part, pattern] of PARTS) {
      if (pattern.test(frame.functionName) || (part.startsWith('HTTP') && pattern.test(frame.url))) return part;
    }
  }
  return 'Other (engine, SDK plumbing, promises)';
}

/** A frame's name; an anonymous one is named after the nearest named caller. */
function frameName(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): string {
  const frame = byId.get(id)!.callFrame;
  const file = frame.url.replace(/^.*\//, '');
  if (frame.functionName) return `${frame.functionName} ${file}`;
  for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
    const caller = byId.get(at)!.callFrame.functionName;
    if (caller) return `(anonymous in ${caller}) ${file}`;
  }
  return `(anonymous) ${file}`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : 'n/a';
}

main(process.argv.slice(2));
