#!/usr/bin/env bash
# The whole test suite (what CI runs). Installs what it needs, then runs every test against
# real local servers, then checks that no secret reached any log line of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_redis
# The webhook tests' receiver verifies signatures with the reference library.
ensure_python_webhooks
# The Garage tests in tests/api fail (not skip) without it.
ensure_garage

# The API tests write their logs under target/tmp; start from a clean slate so the scan
# below sees only this run.
mkdir -p target/tmp
rm -f target/tmp/*.log

cargo test --workspace --locked "$@"

# `sign cos` against Tencent's own SDK (pure signing, no store needed).
ensure_python_cos
cargo build --locked --bin upload-gateway
GATEWAY_BIN=target/debug/upload-gateway python3 tests/e2e/cos_sdk_sign.py

# oss-local against Alibaba's own SDK: the proof that the local store verifies signatures
# as OSS does (the gateway's tests above trust it for that).
ensure_python_oss2
cargo build --locked -p oss-local --bin oss-local
store_dir=$(mktemp -d)
store_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/debug/oss-local --listen "127.0.0.1:$store_port" --data-dir "$store_dir" --region local \
  --bucket sdk-bucket --access-key SdkTestAccessKeyId:SdkTestAccessKeySecret00000000 \
  >target/tmp/oss-local-sdk.log 2>&1 &
store_pid=$!
cleanup_store() { kill "$store_pid" 2>/dev/null || true; rm -rf "$store_dir"; }
trap cleanup_store EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$store_port") 2>/dev/null && break
  sleep 0.1
done
OSS_ENDPOINT="http://127.0.0.1:$store_port" OSS_AK=SdkTestAccessKeyId \
  OSS_SK=SdkTestAccessKeySecret00000000 OSS_BUCKET=sdk-bucket OSS_REGION=local \
  python3 tests/e2e/oss2_store.py
cleanup_store
trap - EXIT

# oss-local's COS listener against Tencent's own Python SDKs (cos-python-sdk-v5, and
# tencentcloud-sdk-python-sts for the TC3 STS stand-in).
ensure_python_cos
ensure_python_tencent_sts
cos_dir=$(mktemp -d)
cos_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/debug/oss-local --listen 127.0.0.1:0 --cos-listen "127.0.0.1:$cos_port" --data-dir "$cos_dir" \
  --cos-bucket sdk-1250000000 --cos-region ap-guangzhou \
  --access-key AKIDSdkTestSecretId0000000000000000:SdkTestSecretKey0000000000000000 \
  >target/tmp/oss-local-cos-sdk.log 2>&1 &
cos_pid=$!
cleanup_cos() { kill "$cos_pid" 2>/dev/null || true; rm -rf "$cos_dir"; }
trap cleanup_cos EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$cos_port") 2>/dev/null && break
  sleep 0.1
done
COS_ENDPOINT="127.0.0.1:$cos_port" COS_SECRET_ID=AKIDSdkTestSecretId0000000000000000 \
  COS_SECRET_KEY=SdkTestSecretKey0000000000000000 COS_BUCKET=sdk-1250000000 \
  COS_REGION=ap-guangzhou python3 tests/e2e/cos_store.py
# The same listener against cos-nodejs-sdk-v5 (npm).
ensure_node_cos
COS_ENDPOINT="127.0.0.1:$cos_port" COS_SECRET_ID=AKIDSdkTestSecretId0000000000000000 \
  COS_SECRET_KEY=SdkTestSecretKey0000000000000000 COS_BUCKET=sdk-1250000000 \
  COS_REGION=ap-guangzhou node tests/e2e/cos-node/cos_store.js
cleanup_cos
trap - EXIT
# The S3 signer against AWS's own SDK: boto3 reads back what a gateway-signed URL wrote to
# Garage, and boto3's presigner and `upload-gateway sign s3` agree byte for byte.
ensure_python_boto3
cargo build --locked --bin upload-gateway
UPLOAD_GATEWAY_BIN=target/debug/upload-gateway python3 tests/e2e/s3_boto3.py
# The gateway binary with an S3 bucket on Garage: presigned PUT, form and curl multipart
# through its routes, confirm with the binding, all read back with boto3; then Uppy
# (@uppy/aws-s3) in headless Chromium through the gateway's /s3 routes to Garage.
ensure_redis
ensure_browser_tools
S3_BROWSER=1 UPLOAD_GATEWAY_BIN=target/debug/upload-gateway python3 tests/e2e/s3_gateway.py

# The gateway binary with real clients (oss2, curl) against oss-local and redis-server.
bash scripts/e2e.sh
# The same on a COS bucket with Tencent's client SDKs (the mini-program SDK under a wx shim).
bash scripts/e2e-cos.sh

# Faults under load (Redis frozen and killed, gateway kill -9, torn journal, full journal
# disk, cluster failover): no acknowledged callback lost; figures in target/tmp/faults-figures.txt.
bash scripts/faults.sh
# schemathesis against the served OpenAPI document: no 5xx, every answer as the spec says.
bash scripts/schema-fuzz.sh

# Dockerfile, compose, Kubernetes manifests, alert rules and dashboard, offline.
bash scripts/check-deploy.sh

logs=(target/tmp/*.log)
if [ ! -e "${logs[0]}" ]; then
  echo "log scan: no test logs were captured" >&2
  exit 1
fi
patterns=$(mktemp)
trap 'rm -f "$patterns"' EXIT
grep -v -e '^#' -e '^$' tests/fixtures/log-forbidden.txt >"$patterns"
if grep -n -F -f "$patterns" "${logs[@]}" | head -20 | grep .; then
  echo "log scan: secrets or signed material found in the logs above" >&2
  exit 1
fi
echo "log scan: $(cat "${logs[@]}" | wc -l) log lines, $(wc -l <"$patterns") forbidden strings, none found"
