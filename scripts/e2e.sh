#!/usr/bin/env bash
# End-to-end run with real clients: redis-server, oss-local and the gateway binaries on free
# loopback ports (config/local.toml with the ports swapped), then tests/e2e/clients.py
# (oss2 + curl) and the callback-failure path (gateway down -> 203 -> confirm).
# Called by scripts/test.sh after the debug binaries are built.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "timed out waiting for $1" >&2; return 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

ensure_browser_tools
redis_port=$(free_port); store_port=$(free_port); gw_port=$(free_port); page_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work" >/dev/null &
pids+=($!)
target/debug/oss-local --listen "127.0.0.1:$store_port" --data-dir "$work/store" --region local \
  --bucket local-bucket --access-key LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000 \
  >target/tmp/e2e-oss-local.log 2>&1 &
pids+=($!)
sed -e "s/127.0.0.1:8080/127.0.0.1:$gw_port/g" -e "s/127.0.0.1:9000/127.0.0.1:$store_port/g" \
  -e "s/127.0.0.1:6390/127.0.0.1:$redis_port/g" -e "s#data/journal#$work/journal#" \
  -e 's/^format = "pretty"/format = "json"/' \
  -e "s#^allowed_origins = .*#allowed_origins = [\"http://127.0.0.1:$gw_port\", \"http://127.0.0.1:$page_port\"]#" \
  config/local.toml >"$work/gateway.toml"
start_gateway() {
  target/debug/upload-gateway serve --config "$work/gateway.toml" >>target/tmp/e2e-gateway.log 2>&1 &
  gw_pid=$!
  pids+=($gw_pid)
  wait_http "http://127.0.0.1:$gw_port/readyz"
}
wait_http "http://127.0.0.1:$store_port/_oss-local/callback-key.pem"
start_gateway

export GATEWAY_URL="http://127.0.0.1:$gw_port" GATEWAY_API_KEY=local-dev-key STORE_DATA_DIR="$work/store"
python3 tests/e2e/clients.py
PAGE_PORT=$page_port ARTIFACTS_DIR="$PWD/target/e2e-artifacts" node tests/e2e/browser/run.mjs

# The callback cannot reach the gateway: storage keeps the object and tells the client 203
# CallbackFailed; once the gateway is back, confirm completes the record from storage.
presign=$(curl -fsS -H "X-Api-Key: $GATEWAY_API_KEY" -H 'content-type: application/json' \
  -d '{"profile":"documents","filename":"late.txt","content_type":"text/plain","size":5}' \
  "$GATEWAY_URL/v1/uploads/presign")
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
url=$(echo "$presign" | field '["url"]'); id=$(echo "$presign" | field '["upload_id"]')
kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
code=$(printf 'late\n' | curl -s -o "$work/put.out" -w '%{http_code}' -X PUT -H 'Content-Type: text/plain' --data-binary @- "$url")
grep -q '<Code>CallbackFailed</Code>' "$work/put.out" && [ "$code" = 203 ] ||
  { echo "FAIL expected 203 CallbackFailed, got $code: $(cat "$work/put.out")" >&2; exit 1; }
echo "ok   gateway down: the upload answers 203 CallbackFailed, the object is kept"
start_gateway
status=$(curl -fsS -X POST -H "X-Api-Key: $GATEWAY_API_KEY" "$GATEWAY_URL/v1/uploads/$id/confirm" | field '["status"]')
[ "$status" = completed ] || { echo "FAIL confirm after 203 gave status $status" >&2; exit 1; }
echo "ok   POST /v1/uploads/{id}/confirm completes the record from storage"
