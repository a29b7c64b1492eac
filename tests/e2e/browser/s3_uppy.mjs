// @uppy/core + @uppy/aws-s3 in Debian's headless Chromium against the gateway with an S3
// bucket on Garage (started by tests/e2e/s3_gateway.py, which sets the bucket's CORS): a
// > 10 MiB multipart upload through the gateway's /s3 routes with parts PUT straight to
// Garage, and a small file through /s3/params (a POST policy form). Each record must be
// completed by the gateway; the bytes are fetched back through the owner's download URL.
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const GW = process.env.GATEWAY_URL
const KEY = process.env.GATEWAY_API_KEY
const PAGE_PORT = Number(process.env.PAGE_PORT)
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
const sha256 = (b) => createHash('sha256').update(b).digest('hex')
async function downloaded (id) {
  const [status, d] = await gw('GET', `/v1/uploads/${id}/download`)
  if (status !== 200) return null
  const r = await fetch(d.url)
  return Buffer.from(await r.arrayBuffer())
}

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
  await page.goto(`http://127.0.0.1:${PAGE_PORT}/uppy.html`)

  const size = 11 * 1024 * 1024 + 333
  const out = await page.evaluate((a) => window.uploadWithUppy(a), { endpoint: GW, token: KEY, size })
  check('Uppy (@uppy/aws-s3) multipart upload to Garage succeeded', out.successful.length === 1 && out.failed.length === 0, out)
  const { uploadId } = out.successful[0]
  const [, rec] = await gw('GET', `/v1/uploads/${uploadId}`)
  check('  record completed by the gateway from CompleteMultipartUpload, 3 parts', rec.status === 'completed' && rec.provider === 's3' && rec.size === size && rec.etag.endsWith('-3'), rec)
  const big = await downloaded(uploadId)
  check('  bytes identical (read back through the download URL)', big && sha256(big) === out.sha256)

  const small = await page.evaluate((a) => window.uploadWithUppy(a), { endpoint: GW, token: KEY, size: 4096, multipart: false })
  check('Uppy single-file upload (POST policy form from /s3/params) succeeded', small.successful.length === 1 && small.failed.length === 0, small)
  // The form's record: the caller's newest upload.
  const [, list] = await gw('GET', '/v1/uploads?limit=1')
  const formRec = list.items[0]
  check('  the form upload is the newest record, of kind form', formRec && formRec.kind === 'form' && formRec.status !== 'completed', formRec)
  const [status, confirmed] = await gw('POST', `/v1/uploads/${formRec.id}/confirm`, {})
  check('  confirm completes it from Garage\'s HeadObject and the binding', status === 200 && confirmed.status === 'completed' && confirmed.size === 4096, confirmed)
  const got = await downloaded(formRec.id)
  check('  bytes identical', got && sha256(got) === small.sha256)
} finally {
  await browser.close()
  server.close()
}
console.log(`s3 browser e2e: ${checks} checks passed (Chromium via playwright-core, @uppy/aws-s3 5, Garage)`)
