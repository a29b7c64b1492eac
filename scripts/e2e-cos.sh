#!/usr/bin/env bash
# End to end on a COS bucket with Tencent's own client SDKs: redis-server, oss-local (its COS
# listener and TC3 STS stand-in) and the gateway binary on free loopback ports, then
# cos-wx-sdk-v5 (the mini-program SDK, under Node with tests/e2e/cos-wx/wx_shim.js) and
# cos-python-sdk-v5, both taking temporary keys from /v1/credentials/cos-sdk, and Uppy
# (@uppy/aws-s3 in headless Chromium) through the /s3 routes on a COS profile.
# Called by scripts/test.sh after the debug binaries are built.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -sS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for $1" >&2; return 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

ensure_node_cos_wx
ensure_browser_tools
ensure_python_cos
cos_bucket=wxbucket-1250000000 cos_region=ap-guangzhou
cos_id=AKIDLocalCosSecretId00000000000000 cos_key=LocalCosSecretKey000000000000000
redis_port=$(free_port); store_port=$(free_port); cos_port=$(free_port); gw_port=$(free_port)
page_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work" >/dev/null &
pids+=($!)
target/debug/oss-local --listen "127.0.0.1:$store_port" --cos-listen "127.0.0.1:$cos_port" \
  --data-dir "$work/store" --region local --bucket local-bucket --cos-bucket "$cos_bucket" \
  --cos-region "$cos_region" \
  --access-key "LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000,$cos_id:$cos_key" \
  >target/tmp/e2e-cos-oss-local.log 2>&1 &
pids+=($!)
sed -e "s/127.0.0.1:8080/127.0.0.1:$gw_port/g" -e "s/127.0.0.1:9000/127.0.0.1:$store_port/g" \
  -e "s/127.0.0.1:6390/127.0.0.1:$redis_port/g" -e "s#data/journal#$work/journal#" \
  -e 's/^format = "pretty"/format = "json"/' \
  -e "s#^allowed_origins = .*#allowed_origins = [\"http://127.0.0.1:$page_port\"]#" \
  -e 's/^profile = "documents" .*# @uppy.*/profile = "cosuppy"/' config/local.toml >"$work/gateway.toml"
grep -q '^profile = "cosuppy"' "$work/gateway.toml" || { echo "e2e-cos: no [uppy] profile line to point at COS" >&2; exit 1; }
cat >>"$work/gateway.toml" <<TOML

[buckets.cos]
provider = "cos"
bucket = "$cos_bucket"
region = "$cos_region"
endpoint = "http://127.0.0.1:$cos_port"
access_key_id = "$cos_id"
access_key_secret = "$cos_key"

[buckets.cos.sts]                    # oss-local's TC3 stand-in, on the COS listener
endpoint = "http://127.0.0.1:$cos_port"

[profiles.wx]                        # temporary keys for the mini-program SDK
bucket = "cos"
key_template = "wx/{user}/{uuid}{ext}"
max_size_bytes = 104857600
kinds = ["sts", "append"]            # append: the keys may AppendObject too
allow_sts_shared_prefix = true

[profiles.cosuppy]                   # @uppy/aws-s3 through /s3 on the COS bucket
bucket = "cos"
key_template = "uppy/{user}/{upload_id}-{filename}"
max_size_bytes = 104857600
content_types = ["application/octet-stream"]
kinds = ["multipart"]

[profiles.pyimg]                     # the profile's types and size in the STS policy
bucket = "cos"
key_template = "pyimg/{user}/{uuid}{ext}"
max_size_bytes = 8388608
content_types = ["image/*"]
kinds = ["sts"]
TOML
wait_http "http://127.0.0.1:$cos_port/"
target/debug/upload-gateway serve --config "$work/gateway.toml" >>target/tmp/e2e-cos-gateway.log 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$gw_port/readyz"

export GATEWAY_URL="http://127.0.0.1:$gw_port" GATEWAY_API_KEY=local-dev-key \
  COS_ENDPOINT="127.0.0.1:$cos_port" COS_BUCKET="$cos_bucket" COS_REGION="$cos_region" \
  COS_PROFILE=wx COS_PREFIX=wx/local-user/ STORE_DATA_DIR="$work/store" \
  COS_TYPED_PROFILE=pyimg COS_TYPED_PREFIX=pyimg/local-user/
node tests/e2e/cos-wx/wx_gateway.js
python3 tests/e2e/cos_gateway.py
PAGE_PORT=$page_port node tests/e2e/browser/uppy_cos.mjs
