// Browser and Node clients against the live gateway + oss-local (started by scripts/e2e.sh):
//   1. the /demo page in Debian's headless Chromium (Playwright core, no downloaded browser):
//      pick a file, upload, see the record; screenshot into target/e2e-artifacts/; then a
//      file above the threshold, cut off mid-upload, reloaded and resumed;
//   2. @uppy/core + @uppy/aws-s3 (bundled with esbuild) completing a > 10 MiB multipart
//      upload through the gateway's /s3 routes;
//   3. ali-oss (Node) putting an object with STS credentials from /v1/credentials.
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import OSS from 'ali-oss'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const GW = process.env.GATEWAY_URL
const KEY = process.env.GATEWAY_API_KEY
const STORE_DATA = process.env.STORE_DATA_DIR
const PAGE_PORT = Number(process.env.PAGE_PORT)
const ARTIFACTS = process.env.ARTIFACTS_DIR
let checks = 0
function check (name, ok, detail) {
  checks++
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${JSON.stringify(detail)}`}`)
  if (!ok) process.exit(1)
}
async function gw (method, path, body) {
  const r = await fetch(GW + path, {
    method,
    headers: { 'x-api-key': KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  return [r.status, await r.json()]
}
function stored (bucket, key) {
  const h = createHash('sha256').update(key).digest('hex')
  return readFileSync(join(STORE_DATA, bucket, 'objects', `${h}.bin`))
}
const sha256 = (b) => createHash('sha256').update(b).digest('hex')

// ---- ali-oss with STS credentials -----------------------------------------------------------
{
  const [status, c] = await gw('POST', '/v1/credentials', { profile: 'documents' })
  check('POST /v1/credentials', status === 200, c)
  const client = new OSS({
    endpoint: c.endpoint, region: c.region, bucket: c.bucket, sldEnable: true, secure: false,
    accessKeyId: c.access_key_id, accessKeySecret: c.access_key_secret, stsToken: c.security_token,
  })
  const body = Buffer.from('written by ali-oss ' + Date.now())
  const key = `${c.prefix}ali-oss.txt`
  const r = await client.put(key, body, {
    mime: 'text/plain',
    callback: undefined,
    headers: { 'x-oss-callback': c.callback.callback, 'x-oss-callback-var': c.callback['callback-var'] },
  })
  const answer = r.data && typeof r.data === 'object' ? r.data : JSON.parse(Buffer.from(r.res.data || '').toString() || '{}')
  check('ali-oss put (STS, callback) relays the gateway answer', r.res.status === 200 && answer.status === 'completed', answer)
  const [, rec] = await gw('GET', `/v1/uploads/${answer.upload_id}`)
  check('  record completed', rec.status === 'completed' && rec.size === body.length, rec)
  check('  bytes identical', stored(c.bucket, key).equals(body))
  let refused = null
  try { await client.put('docs/elsewhere/x.txt', Buffer.from('x')) } catch (e) { refused = e.code }
  check(`ali-oss outside the prefix -> ${refused}`, refused === 'AccessDenied', refused)
}

// ---- the browser ----------------------------------------------------------------------------
await build({ entryPoints: [join(here, 'uppy-entry.js')], bundle: true, format: 'iife', outfile: join(here, 'dist/uppy.js'), logLevel: 'warning' })
const server = createServer((req, res) => {
  const file = req.url.startsWith('/dist/uppy.js') ? 'dist/uppy.js' : 'uppy.html'
  res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' })
  res.end(readFileSync(join(here, file)))
}).listen(PAGE_PORT, '127.0.0.1')
mkdirSync(ARTIFACTS, { recursive: true })
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
})
try {
  const page = await browser.newPage()
  page.on('console', (m) => { if (m.type() === 'error') console.log('  [browser]', m.text()) })

  // /demo: a person picks a file and presses Upload.
  await page.goto(`${GW}/demo`)
  const demoBytes = Buffer.from('hello from the demo page\n'.repeat(100))
  await page.setInputFiles('#file', { name: 'hello.txt', mimeType: 'text/plain', buffer: demoBytes })
  await page.click('#upload')
  await page.waitForFunction(() => document.querySelector('#r-status')?.textContent === 'completed', null, { timeout: 20000 })
  const shown = await page.evaluate(() => ({ id: document.querySelector('#r-id').textContent, key: document.querySelector('#r-key').textContent, size: document.querySelector('#r-size').textContent }))
  await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true })
  check('demo page: upload shows status completed', Number(shown.size) === demoBytes.length, shown)
  check('  the stored object is the file picked', stored('local-bucket', shown.key).equals(demoBytes))

  // /demo above the threshold: 1 MiB parts, three at a time, with a progress bar. The network
  // fails after three part PUTs; the page is reloaded and the same file picked again: the
  // upload resumes with the parts storage holds, and only the rest are sent.
  const bigPath = join(ARTIFACTS, 'resume.bin')
  const bigBytes = randomBytes(6 * 1024 * 1024 + 77)
  writeFileSync(bigPath, bigBytes)
  let firstPuts = 0
  await page.route(/uploadId=/, (route) => {
    if (route.request().method() !== 'PUT') return route.continue()
    return ++firstPuts > 3 ? route.abort() : route.continue()
  })
  await page.goto(`${GW}/demo`)
  await page.setInputFiles('#file', bigPath)
  await page.click('#upload')
  await page.waitForFunction(() => document.querySelector('#status').className === 'err', null, { timeout: 20000 })
  const cutAt = await page.evaluate(() => document.querySelector('#progress').value)
  check('demo page: multipart progress shown, upload cut after 3 parts', cutAt > 0 && cutAt < 100, cutAt)
  // Let the parts that were in flight land before the reload.
  await new Promise((resolve) => setTimeout(resolve, 500))
  await page.unroute(/uploadId=/)
  let secondPuts = 0
  await page.route(/uploadId=/, (route) => {
    if (route.request().method() === 'PUT') secondPuts++
    return route.continue()
  })
  await page.reload()
  await page.setInputFiles('#file', bigPath)
  await page.click('#upload')
  await page.waitForFunction(() => document.querySelector('#r-status')?.textContent === 'completed', null, { timeout: 30000 })
  await page.unroute(/uploadId=/)
  const resumed = await page.evaluate(() => ({ key: document.querySelector('#r-key').textContent, size: document.querySelector('#r-size').textContent, progress: document.querySelector('#progress').value }))
  check(`  after a reload it resumed: ${secondPuts} of 7 parts sent again`, secondPuts > 0 && secondPuts < 7 && resumed.progress === 100, { secondPuts, resumed })
  check('  record completed, bytes identical', Number(resumed.size) === bigBytes.length && stored('local-bucket', resumed.key).equals(bigBytes), resumed)

  // Uppy: > 10 MiB multipart through /s3.
  await page.goto(`http://127.0.0.1:${PAGE_PORT}/uppy.html`)
  const size = 11 * 1024 * 1024 + 333
  const out = await page.evaluate((a) => window.uploadWithUppy(a), { endpoint: GW, token: KEY, size })
  check('Uppy (@uppy/aws-s3) multipart upload succeeded', out.successful.length === 1 && out.failed.length === 0, out)
  const { key, uploadId } = out.successful[0]
  const [, rec] = await gw('GET', `/v1/uploads/${uploadId}`)
  check('  record completed through the callback, 3 parts', rec.status === 'completed' && rec.size === size && rec.etag.endsWith('-3'), rec)
  check('  bytes identical', sha256(stored(rec.bucket, key)) === out.sha256)
} finally {
  await browser.close()
  server.close()
}
console.log(`browser/node e2e: ${checks} checks passed (Chromium via playwright-core, @uppy/aws-s3 5, ali-oss 6); screenshot in ${ARTIFACTS}/demo.png`)
