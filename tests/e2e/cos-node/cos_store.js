// oss-local's COS listener against cos-nodejs-sdk-v5: the basic flows succeed with the right
// key and come back with COS's error codes otherwise.
// Env: COS_ENDPOINT (host:port), COS_SECRET_ID, COS_SECRET_KEY, COS_BUCKET, COS_REGION.
'use strict';
const COS = require('cos-nodejs-sdk-v5');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { COS_ENDPOINT, COS_SECRET_ID, COS_SECRET_KEY, COS_BUCKET: Bucket, COS_REGION: Region } = process.env;
let passed = 0;
const ok = (what) => { passed += 1; console.log(`ok   ${what}`); };
const assert = (cond, what) => { if (!cond) throw new Error(`failed: ${what}`); };
// Ip keeps the bucket's real Host (so host signing is exercised) while connecting to loopback.
const client = (SecretKey = COS_SECRET_KEY) => new COS({
  SecretId: COS_SECRET_ID, SecretKey, Protocol: 'http:', Ip: COS_ENDPOINT, AutoSwitchHost: false,
});
const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');

async function refused(p, code, status, what) {
  try { await p; } catch (e) {
    assert(e.code === code && e.statusCode === status, `${what}: got ${e.statusCode} ${e.code}`);
    ok(`${what} -> ${status} ${code}`);
    return;
  }
  throw new Error(`${what}: accepted`);
}

(async () => {
  const c = client();
  const body = Buffer.from('hello from cos-nodejs-sdk-v5\n');
  const put = await c.putObject({ Bucket, Region, Key: 'node/hello.txt', Body: body, ContentType: 'text/plain', Headers: { 'x-cos-meta-upload-id': 'n-1' } });
  assert(put.ETag === `"${md5(body)}"`, `put ETag ${put.ETag}`);
  ok('putObject: quoted lower-case MD5 ETag');
  const head = await c.headObject({ Bucket, Region, Key: 'node/hello.txt' });
  assert(head.headers['content-length'] === String(body.length) && head.headers['x-cos-meta-upload-id'] === 'n-1', 'head');
  assert(/^\d+$/.test(head.headers['x-cos-hash-crc64ecma']), 'crc64');
  ok('headObject: size, x-cos-meta-*, x-cos-hash-crc64ecma');
  const got = await c.getObject({ Bucket, Region, Key: 'node/hello.txt' });
  assert(Buffer.compare(got.Body, body) === 0, 'get bytes');
  ok('getObject: same bytes');

  const big = crypto.randomBytes(3 * 1024 * 1024 + 5);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cos-node-')), 'big.bin');
  fs.writeFileSync(file, big);
  const up = await c.uploadFile({ Bucket, Region, Key: 'node/big.bin', FilePath: file, SliceSize: 1024 * 1024, ChunkSize: 1024 * 1024 });
  assert(/-4"$/.test(up.ETag), `multipart ETag ${up.ETag}`);
  const back = await c.getObject({ Bucket, Region, Key: 'node/big.bin' });
  assert(Buffer.compare(back.Body, big) === 0, 'multipart bytes');
  ok('uploadFile above SliceSize (sliceUploadFile, 4 parts): same bytes');
  await c.uploadFile({ Bucket, Region, Key: 'node/small.txt', FilePath: file, SliceSize: 8 * 1024 * 1024 });
  const small = await c.headObject({ Bucket, Region, Key: 'node/small.txt' });
  assert(small.headers.etag === `"${md5(big)}"`, `simple ETag ${small.headers.etag}`);
  ok('uploadFile below SliceSize (one putObject)');

  const a1 = await c.appendObject({ Bucket, Region, Key: 'node/append.log', Position: 0, Body: 'first;' });
  const next = a1.headers['x-cos-next-append-position'];
  assert(next === '6', `next ${next}`);
  await c.appendObject({ Bucket, Region, Key: 'node/append.log', Position: Number(next), Body: 'second' });
  const appended = await c.getObject({ Bucket, Region, Key: 'node/append.log' });
  assert(appended.Body.toString() === 'first;second', 'append bytes');
  ok('appendObject twice with x-cos-next-append-position');
  await refused(c.appendObject({ Bucket, Region, Key: 'node/append.log', Position: 1, Body: 'x' }), 'AppendPositionErr', 409, 'append at a wrong position');

  const url = c.getObjectUrl({ Bucket, Region, Key: 'node/presigned.txt', Method: 'PUT', Sign: true }, () => {});
  // fetch may not set Host; node:http may, and the URL is signed for the bucket's Host.
  const u = new URL(url);
  const [hostname, port] = COS_ENDPOINT.split(':');
  const status = await new Promise((resolve, reject) => {
    const r = require('http').request({ hostname, port, method: 'PUT', path: u.pathname + u.search, headers: { host: u.host, 'content-length': 9 } }, (res) => { res.resume(); resolve(res.statusCode); });
    r.on('error', reject);
    r.end('presigned');
  });
  assert(status === 200, `presigned ${status}`);
  ok('getObjectUrl presigned PUT');

  await refused(client('WrongSecretKey00000000000000000').putObject({ Bucket, Region, Key: 'node/bad.txt', Body: 'x' }), 'SignatureDoesNotMatch', 403, 'wrong secret');
  await refused(c.headObject({ Bucket, Region, Key: 'node/missing' }), '404', 404, 'headObject of a missing key');
  console.log(`cos-nodejs-sdk-v5: ${passed} checks passed against http://${COS_ENDPOINT}`);
})().catch((e) => { console.error(e); process.exit(1); });
