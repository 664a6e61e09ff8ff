export { startModelServer, type ModelServer, type ModelServerOptions } from './server';
export { S3Model } from './model';
export { DEFAULT_CONFIG, INSTANT_CONFIG, type ModelConfig } from './model-config';
export type { SeedSpec, SeedResult } from './seed';
export type { StatsSnapshot, BucketStats } from './stats';
export { partitionOf } from './token-bucket';
