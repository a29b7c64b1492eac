// COS's mini-program SDK (cos-wx-sdk-v5) under Node with the wx shim, through the gateway:
// Tencent's stock getAuthorization snippet fetches /v1/credentials/cos-sdk, the SDK uploads
// straight to oss-local's COS listener with the temporary keys, and every upload ends with
// the gateway's record `completed` (POST /v1/uploads/{grant}/confirm with the key) and the
// stored bytes identical to the file's.
// Env: GATEWAY_URL, GATEWAY_API_KEY, COS_ENDPOINT (host:port), COS_BUCKET, COS_REGION,
// COS_PROFILE (an sts profile of that bucket), COS_PREFIX (its prefix for the API key's
// user), STORE_DATA_DIR (oss-local's --data-dir).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const env = process.env;
const { GATEWAY_URL, GATEWAY_API_KEY, COS_ENDPOINT, COS_PREFIX, STORE_DATA_DIR } = env;
const { execFileSync } = require('child_process');
const Bucket = env.COS_BUCKET;
const Region = env.COS_REGION;
const MIB = 1024 * 1024;
let passed = 0;
const ok = (what) => { passed += 1; console.log(`ok   ${what}`); };
const assert = (cond, what) => { if (!cond) throw new Error(`failed: ${what}`); };
const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cos-wx-'));
const file = (name, bytes) => { const p = path.join(dir, name); fs.writeFileSync(p, bytes); return p; };

const app = require('./wx_app');
const { cos } = app;

// Every call here is idempotent (GET, confirm); one retry covers a pooled keep-alive
// connection the gateway closed while the test waited on a child process.
async function gateway(method, p, body, retry = true) {
  let res;
  try {
    res = await fetch(GATEWAY_URL + p, {
      method,
      headers: { 'X-Api-Key': GATEWAY_API_KEY, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (retry) return gateway(method, p, body, false);
    throw e;
  }
  return { status: res.status, body: await res.json() };
}

function stored(key) {
  const h = crypto.createHash('sha256').update(key).digest('hex');
  return fs.readFileSync(path.join(STORE_DATA_DIR, Bucket, 'objects', `${h}.bin`));
}

// The gateway's record for the object: confirm, then the record read back by its id.
async function completes(key, bytes, what, etag = `"${md5(bytes)}"`) {
  const c = await gateway('POST', `/v1/uploads/${app.grant()}/confirm`, { key });
  assert(c.status === 200, `${what}: confirm ${c.status} ${JSON.stringify(c.body)}`);
  const rec = (await gateway('GET', `/v1/uploads/${c.body.id}`)).body;
  assert(rec.status === 'completed' && rec.kind === 'sts' && rec.key === key, `${what}: record ${JSON.stringify(rec)}`);
  assert(rec.size === bytes.length && rec.grant_id === app.grant(), `${what}: size/grant ${JSON.stringify(rec)}`);
  assert(etag === null || rec.etag.toLowerCase() === etag.replace(/"/g, '').toLowerCase(), `${what}: etag ${rec.etag} vs ${etag}`);
  assert(Buffer.compare(stored(key), bytes) === 0, `${what}: stored bytes differ`);
  // Confirming again changes nothing: the same record.
  const again = await gateway('POST', `/v1/uploads/${app.grant()}/confirm`, { key });
  assert(again.status === 200 && again.body.id === c.body.id, `${what}: second confirm ${JSON.stringify(again.body)}`);
  ok(`${what}: record ${rec.id} completed (sts, ${rec.size} bytes), bytes identical, confirm idempotent`);
  return rec;
}

const since = (mark) => wx.log.slice(mark);


(async () => {
  // putObject
  const small = Buffer.from('hello from cos-wx-sdk-v5\n');
  let mark = wx.log.length;
  const put = await cos.putObject({ Bucket, Region, Key: `${COS_PREFIX}put.txt`, Body: small.toString(), ContentType: 'text/plain' });
  assert(put.statusCode === 200 && put.ETag === `"${md5(small)}"`, `putObject ${JSON.stringify(put)}`);
  assert(since(mark).some((l) => l.startsWith('GET /v1/credentials/cos-sdk?profile=') && l.includes(`bucket=${Bucket}`) && l.includes(`region=${Region}`)),
    `getAuthorization sent the snippet's query: ${since(mark)}`);
  ok('getAuthorization (stock snippet, GET /v1/credentials/cos-sdk with bucket and region) then putObject');
  await completes(`${COS_PREFIX}put.txt`, small, 'putObject');

  // postObject: the mini-program SDK's form POST with the Signature field
  const form = crypto.randomBytes(70000);
  mark = wx.log.length;
  await cos.postObject({ Bucket, Region, Key: `${COS_PREFIX}post.bin`, FilePath: file('post.bin', form) });
  assert(since(mark).includes('POST /'), `postObject went to the bucket root: ${since(mark)}`);
  ok('postObject (wx.uploadFile form to the bucket root, Signature over POST /)');
  await completes(`${COS_PREFIX}post.bin`, form, 'postObject');

  // appendObject twice, the second at x-cos-next-append-position
  const key = `${COS_PREFIX}append.log`;
  const a1 = await cos.appendObject({ Bucket, Region, Key: key, Position: 0, Body: 'first;' });
  const next = Number(a1.headers['x-cos-next-append-position']);
  assert(next === 6, `next append position ${next}`);
  await cos.appendObject({ Bucket, Region, Key: key, Position: next, Body: 'second' });
  try {
    await cos.appendObject({ Bucket, Region, Key: key, Position: 3, Body: 'x' });
    throw new Error('append at a wrong position accepted');
  } catch (e) {
    assert(e.statusCode === 409 && e.error?.Code === 'AppendPositionErr', `wrong position: ${JSON.stringify(e)}`);
  }
  ok('appendObject twice at x-cos-next-append-position; a wrong position -> 409 AppendPositionErr');
  await completes(key, Buffer.from('first;second'), 'appendObject', null);

  // uploadFile: SliceSize above the file size -> one simple upload (postObject by default)
  const mid = crypto.randomBytes(3 * MIB + 17);
  const midPath = file('mid.bin', mid);
  mark = wx.log.length;
  await cos.uploadFile({ Bucket, Region, Key: `${COS_PREFIX}simple.bin`, FilePath: midPath, SliceSize: 8 * MIB });
  assert(since(mark).join() === 'POST /', `uploadFile below SliceSize: ${since(mark)}`);
  ok('uploadFile with SliceSize above the file size: one form POST');
  await completes(`${COS_PREFIX}simple.bin`, mid, 'uploadFile simple');

  // uploadFile: SliceSize below the file size -> sliceUploadFile with 1 MiB parts
  mark = wx.log.length;
  const sliced = await cos.uploadFile({ Bucket, Region, Key: `${COS_PREFIX}sliced.bin`, FilePath: midPath, SliceSize: MIB, ChunkSize: MIB });
  const parts = since(mark).filter((l) => /^PUT .*partNumber=/.test(l));
  assert(since(mark).some((l) => /^POST .*\?uploads/.test(l)) && parts.length === 4, `sliced: ${since(mark)}`);
  assert(/-4"$/.test(sliced.ETag), `multipart ETag ${sliced.ETag}`);
  ok('uploadFile with SliceSize below the file size: InitiateMultipartUpload, 4 parts, Complete');
  await completes(`${COS_PREFIX}sliced.bin`, mid, 'uploadFile sliced', null);

  // sliceUploadFile interrupted at part 3 (the network drops, the SDK's retry too) and the
  // app closed; relaunched (a new process, the same wx storage), the SDK finds the open
  // upload, lists its parts, checks their ETags against the file's MD5s and sends only what
  // is missing.
  const big = crypto.randomBytes(5 * MIB + 123);
  const bigPath = file('big.bin', big);
  const bigKey = `${COS_PREFIX}resumed.bin`;
  const launch = (phase) => JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'wx_slice.js'), phase, bigPath, bigKey],
    { env: { ...env, WX_STORAGE_FILE: path.join(dir, 'wx-storage.json') }, encoding: 'utf8' }).trim().split('\n').pop());
  const first = launch('interrupt');
  assert(/simulated network loss/.test(first.error || ''), `interruption: ${JSON.stringify(first)}`);
  const initiated = first.log.filter((l) => /^POST .*\?uploads/.test(l));
  const uploadId = (first.log.find((l) => /partNumber=1&/.test(l)) || '').match(/uploadId=([^&]+)/)?.[1];
  assert(initiated.length === 1 && uploadId, `first run: ${first.log}`);
  assert(!fs.existsSync(path.join(STORE_DATA_DIR, Bucket, 'objects', crypto.createHash('sha256').update(bigKey).digest('hex') + '.bin')),
    'no object after the interruption');
  ok(`sliceUploadFile interrupted at part 3 and the app closed (parts 1-2 stored, upload ${uploadId.slice(0, 8)}… open)`);
  const second = launch('resume');
  assert(second.etag, `resume failed: ${JSON.stringify(second)}`);
  const sent = second.log.filter((l) => /^PUT .*partNumber=/.test(l)).map((l) => Number(l.match(/partNumber=(\d+)/)[1]));
  assert(!second.log.some((l) => /^POST .*\?uploads/.test(l)), `resume initiated a new upload: ${second.log}`);
  assert(second.log.some((l) => l.startsWith('GET ') && l.includes(`uploadId=${uploadId}`)), `resume listed the parts: ${second.log}`);
  assert(second.log.every((l) => !/uploadId=/.test(l) || l.includes(`uploadId=${uploadId}`)), `one upload id: ${second.log}`);
  assert(JSON.stringify(sent) === JSON.stringify([3, 4, 5, 6]), `resumed parts ${sent}`);
  assert(/-6"$/.test(second.etag), `resumed ETag ${second.etag}`);
  ok('sliceUploadFile after relaunch: same UploadId, ListParts, only parts 3-6 sent, Complete');
  await completes(bigKey, big, 'sliceUploadFile resumed', null);

  // The keys work only under the caller's prefix.
  try {
    await cos.putObject({ Bucket, Region, Key: 'elsewhere/x.txt', Body: 'x' });
    throw new Error('put outside the prefix accepted');
  } catch (e) {
    assert(e.statusCode === 403 && e.error?.Code === 'AccessDenied', `outside the prefix: ${JSON.stringify(e)}`);
  }
  ok('putObject outside the granted prefix -> 403 AccessDenied');
  const outside = await gateway('POST', `/v1/uploads/${app.grant()}/confirm`, { key: 'elsewhere/x.txt' });
  const missing = await gateway('POST', `/v1/uploads/${app.grant()}/confirm`, { key: `${COS_PREFIX}never.txt` });
  assert(outside.status === 400 && outside.body.code === 'invalid-object-key', `confirm outside ${JSON.stringify(outside)}`);
  assert(missing.status === 409 && missing.body.code === 'object-missing', `confirm missing ${JSON.stringify(missing)}`);
  ok('confirm outside the prefix -> 400 invalid-object-key; of a missing object -> 409 object-missing');
  assert(app.authCalls() === 1, `getAuthorization called ${app.authCalls()} times (the SDK caches the keys)`);
  ok('one getAuthorization for the whole run (the SDK reuses the keys until shortly before expiry)');
  console.log(`cos-wx-sdk-v5: ${passed} checks passed through ${GATEWAY_URL} and http://${COS_ENDPOINT}`);
})().catch((e) => { console.error(e); process.exit(1); });
