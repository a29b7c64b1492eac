// @uppy/core + @uppy/aws-s3 in Debian's headless Chromium on a COS bucket: the gateway's
// Companion-style /s3 routes with `[uppy] profile` on a COS profile (started by
// scripts/e2e-cos.sh), the parts PUT straight to oss-local's COS listener with q-signed
// URLs, the record `completed` from storage and the bytes identical.
// Env: GATEWAY_URL, GATEWAY_API_KEY, STORE_DATA_DIR, PAGE_PORT, COS_BUCKET.
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const { GATEWAY_URL: GW, GATEWAY_API_KEY: KEY, STORE_DATA_DIR: STORE, COS_BUCKET } = process.env
const PAGE_PORT = Number(process.env.PAGE_PORT)
let checks = 0
function check (name, ok, detail) {
  checks++
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${JSON.stringify(detail)}`}`)
  if (!ok) process.exit(1)
}
const sha256 = (b) => createHash('sha256').update(b).digest('hex')

await build({ entryPoints: [join(here, 'uppy-entry.js')], bundle: true, format: 'iife', outfile: join(here, 'dist/uppy.js'), logLevel: 'warning' })
const server = createServer((req, res) => {
  const file = req.url.startsWith('/dist/uppy.js') ? 'dist/uppy.js' : 'uppy.html'
  res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' })
  res.end(readFileSync(join(here, file)))
}).listen(PAGE_PORT, '127.0.0.1')
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
})
try {
  const page = await browser.newPage()
  page.on('console', (m) => { if (m.type() === 'error') console.log('  [browser]', m.text()) })
  const partHosts = new Set()
  page.on('request', (r) => { if (r.method() === 'PUT') partHosts.add(new URL(r.url()).host) })
  await page.goto(`http://127.0.0.1:${PAGE_PORT}/uppy.html`)
  const size = 11 * 1024 * 1024 + 333
  const out = await page.evaluate((a) => window.uploadWithUppy(a), { endpoint: GW, token: KEY, size })
  check('Uppy (@uppy/aws-s3) multipart upload to a COS bucket succeeded', out.successful.length === 1 && out.failed.length === 0, out)
  check('  the parts went straight to the COS listener', partHosts.size === 1 && !partHosts.has(new URL(GW).host), [...partHosts])
  const { key, uploadId } = out.successful[0]
  const r = await fetch(`${GW}/v1/uploads/${uploadId}`, { headers: { 'x-api-key': KEY } })
  const rec = await r.json()
  check('  record completed from storage (COS has no callback), 3 parts', rec.status === 'completed' && rec.provider === 'cos' && rec.size === size && rec.etag.endsWith('-3'), rec)
  const h = createHash('sha256').update(key).digest('hex')
  check('  bytes identical', sha256(readFileSync(join(STORE, COS_BUCKET, 'objects', `${h}.bin`))) === out.sha256)
} finally {
  await browser.close()
  server.close()
}
console.log(`uppy on COS: ${checks} checks passed (Chromium via playwright-core, @uppy/aws-s3)`)
