import type { S3Model } from './model';
import type { S3Response } from './operations';
import type { SeedSpec } from './seed';

/** Path prefix of the admin API; underscores make it an invalid bucket name, so it never shadows S3. */
export const ADMIN_PREFIX = '/__model/';

const json = (status: number, value: unknown): S3Response => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8').trim();
  return text === '' ? {} : JSON.parse(text);
}

/**
 * Admin endpoints:
 *   POST /__model/seed    body SeedSpec  → SeedResult
 *   GET  /__model/stats                  → StatsSnapshot
 *   POST /__model/reset                  → {}
 *   GET  /__model/config                 → ModelConfig
 *   POST /__model/config  body Partial<ModelConfig> → ModelConfig
 */
export function handleAdmin(model: S3Model, method: string, path: string, body: Buffer): S3Response {
  const route = `${method} ${path.slice(ADMIN_PREFIX.length).replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'POST seed':
        return json(200, model.seed(parseJson(body) as SeedSpec));
      case 'GET stats':
        return json(200, model.statistics());
      case 'POST reset':
        model.reset();
        return json(200, {});
      case 'GET config':
        return json(200, model.config);
      case 'POST config':
        return json(200, model.configure(parseJson(body)));
      default:
        return json(404, { error: `no admin route ${route}` });
    }
  } catch (error) {
    // Bad JSON, an invalid config field or an impossible seed spec: all the caller's to fix.
    return json(400, { error: error instanceof Error ? error.message : String(error) });
  }
}
