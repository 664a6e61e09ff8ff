/** An S3 error response: HTTP status plus the `<Error>` code and message. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra elements of the `<Error>` body, e.g. BucketName. */
    readonly details: Readonly<Record<string, string>> = {},
    /** Response headers, e.g. x-amz-delete-marker on a HEAD of a deleted key. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const noSuchBucket = (bucket: string): S3Error =>
  new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

export const malformedXml = (): S3Error =>
  new S3Error(
    400,
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );

export const invalidArgument = (message: string, name?: string, value?: string): S3Error =>
  new S3Error(400, 'InvalidArgument', message, {
    ...(name !== undefined ? { ArgumentName: name } : {}),
    ...(value !== undefined ? { ArgumentValue: value } : {}),
  });

export const notImplemented = (what: string): S3Error =>
  new S3Error(501, 'NotImplemented', `A header or query you provided implies functionality that is not implemented: ${what}`);

export const slowDown = (): S3Error => new S3Error(503, 'SlowDown', 'Please reduce your request rate.');

export const internalError = (): S3Error => new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
