// The part of the WeChat mini-program runtime that cos-wx-sdk-v5 touches (a grep of its src/
// and lib/: wx.request, wx.uploadFile, wx.getFileSystemManager().readFile/stat, the three
// storage calls, wx.canIUse, wx.getAppBaseInfo, wx.getDeviceInfo, wx.getNetworkType), on
// Node's fetch and fs, with the documented behaviour of each call: request data becomes the
// query of a GET and JSON otherwise, content-type defaults to application/json, dataType
// 'json' parses the answer when it can, uploadFile posts multipart/form-data with the form
// fields before the file. Nothing here signs or knows COS: the SDK does all of that.
// `wx.log` keeps one line per request ("METHOD path?query") so a test can see what the SDK
// sent; `wx.failRequests(pattern)` makes every matching request fail as a lost network would
// (its retries included) until `wx.failRequests(null)`.
'use strict';
const fs = require('fs');
const path = require('path');

const log = [];
let failing = null;

function query(data) {
  return Object.keys(data)
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(data[k] == null ? '' : String(data[k]))}`)
    .join('&');
}

function headerValue(header, name) {
  const k = Object.keys(header).find((h) => h.toLowerCase() === name);
  return k === undefined ? undefined : header[k];
}

function asBuffer(data) {
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function headersOf(res) {
  const out = {};
  res.headers.forEach((v, k) => { out[k] = v; });
  return out;
}

function note(method, url) {
  const u = new URL(url);
  const line = `${method} ${u.pathname}${u.search}`;
  log.push(line);
  return failing && failing.test(line) ? new Error('simulated network loss') : null;
}

function withTimeout(ms) {
  const controller = new AbortController();
  const timer = ms > 0 ? setTimeout(() => controller.abort(), ms) : null;
  return { controller, done: () => timer && clearTimeout(timer) };
}

function request(opts) {
  const method = (opts.method || 'GET').toUpperCase();
  const header = { ...(opts.header || {}) };
  let url = opts.url;
  let body;
  const data = opts.data;
  const raw = asBuffer(data);
  if (raw) {
    body = raw;
  } else if (typeof data === 'string') {
    body = data;
  } else if (data != null && typeof data === 'object') {
    if (method === 'GET') {
      const q = query(data);
      if (q) url += (url.includes('?') ? '&' : '?') + q;
    } else if ((headerValue(header, 'content-type') || 'application/json').includes('application/json')) {
      body = JSON.stringify(data);
    } else {
      body = query(data);
    }
  }
  if (headerValue(header, 'content-type') === undefined) header['content-type'] = 'application/json';
  const t = withTimeout(opts.timeout || 60000);
  const finish = (ok, res) => { t.done(); (ok ? opts.success : opts.fail)?.(res); opts.complete?.(res); };
  const lost = note(method, url);
  (lost ? Promise.reject(lost) : fetch(url, {
    method, headers: header, body, redirect: opts.redirect === 'manual' ? 'manual' : 'follow', signal: t.controller.signal,
  })).then(async (res) => {
    const buf = Buffer.from(await res.arrayBuffer());
    let out;
    if (opts.responseType === 'arraybuffer') {
      out = toArrayBuffer(buf);
    } else {
      out = buf.toString('utf8');
      if ((opts.dataType || 'json') === 'json') { try { out = JSON.parse(out); } catch (e) { /* stays text */ } }
    }
    finish(true, { data: out, statusCode: res.status, header: headersOf(res), cookies: [], errMsg: 'request:ok' });
  }, (e) => finish(false, { errMsg: `request:fail ${t.controller.signal.aborted ? 'abort' : e.message}` }));
  return {
    abort: () => t.controller.abort(),
    onHeadersReceived() {}, offHeadersReceived() {}, onChunkReceived() {}, offChunkReceived() {},
  };
}

function uploadFile(opts) {
  const progress = [];
  const header = { ...(opts.header || {}) };
  // The runtime writes its own multipart content-type (with the boundary).
  for (const k of Object.keys(header)) if (k.toLowerCase() === 'content-type') delete header[k];
  const t = withTimeout(opts.timeout || 60000);
  const finish = (ok, res) => { t.done(); (ok ? opts.success : opts.fail)?.(res); opts.complete?.(res); };
  fs.promises.readFile(opts.filePath).then((file) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(opts.formData || {})) form.append(k, String(v));
    form.append(opts.name, new Blob([file]), path.basename(opts.filePath));
    const lost = note('POST', opts.url);
    if (lost) throw lost;
    return fetch(opts.url, { method: 'POST', headers: header, body: form, signal: t.controller.signal })
      .then(async (res) => {
        const text = await res.text();
        for (const cb of progress) cb({ progress: 100, totalBytesSent: file.length, totalBytesExpectedToSend: file.length });
        finish(true, { data: text, statusCode: res.status, header: headersOf(res), errMsg: 'uploadFile:ok' });
      });
  }).catch((e) => finish(false, { errMsg: `uploadFile:fail ${e.message}` }));
  return {
    abort: () => t.controller.abort(),
    onProgressUpdate: (cb) => progress.push(cb), offProgressUpdate() {},
    onHeadersReceived() {}, offHeadersReceived() {},
  };
}

function statsOf(st) {
  return {
    mode: st.mode, size: st.size,
    lastAccessedTime: Math.floor(st.atimeMs / 1000), lastModifiedTime: Math.floor(st.mtimeMs / 1000),
    isDirectory: () => st.isDirectory(), isFile: () => st.isFile(),
  };
}

const fileSystemManager = {
  readFile(opts) {
    const done = (ok, res) => { (ok ? opts.success : opts.fail)?.(res); opts.complete?.(res); };
    (async () => {
      let buf;
      if (opts.position === undefined && opts.length === undefined) {
        buf = await fs.promises.readFile(opts.filePath);
      } else {
        const fh = await fs.promises.open(opts.filePath, 'r');
        try {
          const size = (await fh.stat()).size;
          const pos = opts.position || 0;
          const len = opts.length === undefined ? size - pos : Math.min(opts.length, size - pos);
          buf = Buffer.alloc(Math.max(0, len));
          await fh.read(buf, 0, buf.length, pos);
        } finally {
          await fh.close();
        }
      }
      return opts.encoding ? buf.toString(opts.encoding === 'binary' ? 'latin1' : opts.encoding) : toArrayBuffer(buf);
    })().then((data) => done(true, { data, errMsg: 'readFile:ok' }),
      (e) => done(false, { errMsg: `readFile:fail ${e.message}` }));
  },
  stat(opts) {
    const done = (ok, res) => { (ok ? opts.success : opts.fail)?.(res); opts.complete?.(res); };
    fs.promises.stat(opts.path).then((st) => done(true, { stats: statsOf(st), errMsg: 'stat:ok' }),
      (e) => done(false, { errMsg: `stat:fail ${e.message}` }));
  },
};

// wx storage keeps any value across launches of the app; a missing key reads as ''. With
// WX_STORAGE_FILE set it lives in that JSON file, so a second process is the app relaunched.
const storageFile = process.env.WX_STORAGE_FILE;
const storage = new Map(storageFile && fs.existsSync(storageFile) ? Object.entries(JSON.parse(fs.readFileSync(storageFile, 'utf8'))) : []);
const persist = () => { if (storageFile) fs.writeFileSync(storageFile, JSON.stringify(Object.fromEntries(storage))); };

module.exports = {
  request,
  uploadFile,
  getFileSystemManager: () => fileSystemManager,
  getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
  setStorageSync: (k, v) => { storage.set(k, v); persist(); },
  removeStorageSync: (k) => { storage.delete(k); persist(); },
  canIUse: (name) => ['getAppBaseInfo', 'getDeviceInfo', 'getNetworkType'].includes(name),
  getAppBaseInfo: () => ({ SDKVersion: '3.7.0', version: '8.0.54', language: 'en' }),
  getDeviceInfo: () => ({ platform: 'android', system: `Node ${process.version}`, brand: 'node', model: 'node' }),
  getNetworkType: (opts) => { const r = { networkType: 'wifi', errMsg: 'getNetworkType:ok' }; opts.success?.(r); opts.complete?.(r); },
  log,
  failRequests: (re) => { failing = re; },
};
