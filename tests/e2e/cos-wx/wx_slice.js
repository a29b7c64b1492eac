// One launch of the mini-program app for the interrupted sliceUploadFile of wx_gateway.js:
// `interrupt FILE KEY` uploads with the network failing from part 3 on, `resume FILE KEY`
// uploads again. Prints one JSON line: the requests the SDK sent, and the ETag or the error.
'use strict';
const { cos } = require('./wx_app');

const [phase, FilePath, Key] = process.argv.slice(2);
const { COS_BUCKET: Bucket, COS_REGION: Region } = process.env;
if (phase === 'interrupt') wx.failRequests(/^PUT .*partNumber=3&/);
cos.sliceUploadFile({ Bucket, Region, Key, FilePath, ChunkSize: 1024 * 1024 }).then(
  (r) => console.log(JSON.stringify({ log: wx.log, etag: r.ETag })),
  (e) => console.log(JSON.stringify({ log: wx.log, error: JSON.stringify(e) })),
);
