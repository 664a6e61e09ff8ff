import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CfnDeleteEvent,
  isCfnEvent,
  MAX_RESPONSE_BYTES,
  putBody,
  redactEvent,
  renderResponseBody,
  sendResponse,
  truncateUtf8,
} from '../../lambda/teardown/cfn-response';

const event: CfnDeleteEvent = {
  RequestType: 'Delete',
  ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
  ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=secret',
  StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Example/2f0c1a40-0000-0000-0000-000000000000',
  RequestId: '6d5b2b8e-0000-0000-0000-000000000000',
  LogicalResourceId: 'Purger69BC7BC8',
  ResourceType: 'Custom::VersionPurger',
  ResourceProperties: { BucketName: 'b' },
  PhysicalResourceId: 'version-purger:b',
};

describe('renderResponseBody', () => {
  test('renders every field CloudFormation reads', () => {
    const body = JSON.parse(renderResponseBody(event, { Status: 'SUCCESS', Reason: 'ok', PhysicalResourceId: 'version-purger:b' }));
    expect(body).toEqual({
      Status: 'SUCCESS',
      Reason: 'ok',
      PhysicalResourceId: 'version-purger:b',
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    });
  });

  test.each([
    ['ASCII', 'x'.repeat(10_000)],
    ['multi-byte', '€ü😀'.repeat(2_000)],
    ['characters JSON escapes', '"\\\n\u0001'.repeat(3_000)],
  ])('shortens a long %s reason to fit 4,096 bytes, marking it', (_, reason) => {
    // WHEN
    const body = renderResponseBody(event, { Status: 'FAILED', Reason: reason, PhysicalResourceId: 'p' });

    // THEN
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    expect(Buffer.byteLength(body, 'utf8')).toBeGreaterThan(MAX_RESPONSE_BYTES - 16);
    const parsed = JSON.parse(body);
    expect(parsed.Reason.endsWith(' [truncated]')).toBe(true);
    expect(reason.startsWith(parsed.Reason.slice(0, -' [truncated]'.length))).toBe(true);
    expect(parsed.Reason).not.toContain('\uFFFD');
  });

  test('uses the status as the reason when none is given', () => {
    expect(JSON.parse(renderResponseBody(event, { Status: 'SUCCESS', PhysicalResourceId: 'p' })).Reason).toBe('SUCCESS');
  });
});

describe('truncateUtf8', () => {
  test('never splits a character', () => {
    expect(truncateUtf8('a😀b', 4)).toBe('a');
    expect(truncateUtf8('a😀b', 5)).toBe('a😀');
    expect(truncateUtf8('abc', 10)).toBe('abc');
  });
});

describe('isCfnEvent', () => {
  test('recognises CloudFormation requests and nothing else', () => {
    expect(isCfnEvent(event)).toBe(true);
    expect(isCfnEvent({ ...event, RequestType: 'Other' })).toBe(false);
    expect(isCfnEvent({ kind: 'retention' })).toBe(false);
    expect(isCfnEvent(null)).toBe(false);
  });
});

describe('redactEvent', () => {
  test('masks the pre-signed ResponseURL', () => {
    expect(JSON.stringify(redactEvent(event))).not.toContain('secret');
  });
});

describe('sendResponse', () => {
  test('retries failed PUTs and stops at the first success', async () => {
    // GIVEN
    const put = jest.fn().mockRejectedValueOnce(new Error('503')).mockRejectedValueOnce(new Error('reset')).mockResolvedValue(undefined);

    // WHEN
    await sendResponse(event, { Status: 'SUCCESS', PhysicalResourceId: 'p' }, { put, baseDelayMs: 1 });

    // THEN
    expect(put).toHaveBeenCalledTimes(3);
    expect(put).toHaveBeenCalledWith(event.ResponseURL, expect.stringContaining('"Status":"SUCCESS"'), 10_000);
  });

  test('rejects with the last error when every attempt fails', async () => {
    const put = jest.fn().mockRejectedValue(new Error('down'));
    await expect(sendResponse(event, { Status: 'SUCCESS', PhysicalResourceId: 'p' }, { put, attempts: 3, baseDelayMs: 1 })).rejects.toThrow('down');
    expect(put).toHaveBeenCalledTimes(3);
  });

  test('PUTs the body with an empty Content-Type and rejects non-2xx answers', async () => {
    // GIVEN a server that records the request, then answers 403
    const seen: { method?: string; contentType?: string; body: string }[] = [];
    let status = 200;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, contentType: req.headers['content-type'], body });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/r?sig=x`;
    try {
      // WHEN / THEN
      await putBody(url, '{"a":1}', 5_000);
      expect(seen).toEqual([{ method: 'PUT', contentType: '', body: '{"a":1}' }]);
      status = 403;
      await expect(putBody(url, '{}', 5_000)).rejects.toThrow(/HTTP 403/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
