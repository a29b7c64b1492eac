// The mini-program app the e2e runs: the wx shim in place of the runtime, COS's SDK, and
// Tencent's stock getAuthorization snippet against the gateway.
// Env: GATEWAY_URL, GATEWAY_API_KEY, COS_ENDPOINT (host:port), COS_PROFILE.
'use strict';
global.wx = require('./wx_shim');
// The package's main is a webpack bundle for the mini-program runtime (it names `window`);
// index.js is the same SDK from its sources.
const COS = require('cos-wx-sdk-v5/index.js');

const { GATEWAY_URL, GATEWAY_API_KEY, COS_ENDPOINT, COS_PROFILE } = process.env;

// Tencent's snippet (cos-wx-sdk-v5 README), pasted unchanged but for the URL and the app's
// own login header; requestId is the gateway's grant, which confirm names.
let grantId = null;
let authCalls = 0;
const cos = new COS({
  // The wx SDK's getUrl ignores Protocol and defaults to https: a scheme in Domain wins.
  Domain: `http://${COS_ENDPOINT}`,
  ChunkParallelLimit: 1,
  ChunkRetryTimes: 1,
  getAuthorization: function (options, callback) {
    authCalls += 1;
    wx.request({
      url: `${GATEWAY_URL}/v1/credentials/cos-sdk?profile=${COS_PROFILE}`,
      header: { 'X-Api-Key': GATEWAY_API_KEY },
      data: {
        bucket: options.Bucket,
        region: options.Region,
      },
      dataType: 'json',
      success: function (result) {
        const data = result.data;
        const credentials = data && data.credentials;
        if (!data || !credentials) return console.error('credentials invalid', result.statusCode, data);
        grantId = data.requestId;
        callback({
          TmpSecretId: credentials.tmpSecretId,
          TmpSecretKey: credentials.tmpSecretKey,
          SecurityToken: credentials.sessionToken,
          StartTime: data.startTime,
          ExpiredTime: data.expiredTime,
        });
      },
    });
  },
});

module.exports = { cos, grant: () => grantId, authCalls: () => authCalls };
