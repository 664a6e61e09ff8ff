/**
 * Imported first by the CLI, before anything loads the AWS SDK. The SDK warns
 * on every run under Node 20 that its releases after January 2027 need Node
 * 22; the CLI supports Node 20 until then, so the warning only adds noise to
 * every run's stderr. A value the user set is left alone.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
