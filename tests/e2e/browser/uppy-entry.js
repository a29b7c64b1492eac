// Bundled by run.mjs with esbuild into dist/uppy.js for the test page: the released
// @uppy/core + @uppy/aws-s3, pointed at the gateway's Companion-style /s3 routes.
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'

window.uploadWithUppy = async ({ endpoint, token, size, multipart = true }) => {
  const uppy = new Uppy({ autoProceed: false })
  uppy.use(AwsS3, {
    endpoint,
    headers: { authorization: `Bearer ${token}` },
    shouldUseMultipart: multipart,
    getChunkSize: () => 5 * 1024 * 1024,
  })
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 255
  uppy.addFile({ name: multipart ? 'big.bin' : 'small.bin', type: 'application/octet-stream', data: new Blob([bytes]) })
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
    .map((b) => b.toString(16).padStart(2, '0')).join('')
  const result = await uppy.upload()
  return {
    sha256: digest,
    successful: result.successful.map((f) => ({ key: f.s3Multipart?.key, uploadId: f.s3Multipart?.uploadId, response: f.response?.body, uploadURL: f.response?.uploadURL })),
    failed: result.failed.map((f) => String(f.error)),
  }
}
