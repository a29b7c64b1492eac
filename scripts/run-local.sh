#!/usr/bin/env bash
# Runs the whole local flow, no cloud account needed:
#   - a private redis-server on 127.0.0.1:6390 (data in ./data/redis), unless one answers there;
#   - oss-local, the project's OSS-compatible store, on 127.0.0.1:9000 (objects in
#     ./data/oss-local), which checks signatures and sends signed upload callbacks;
#   - the gateway on http://127.0.0.1:8080 with config/local.toml, pointed at both (also
#     its STS stand-in), with the demo page at http://127.0.0.1:8080/demo.
# Ctrl-C stops the gateway and the store; Redis keeps running (redis-cli -p 6390 shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_redis
# Before anything starts: a taken port would otherwise surface as a confusing failure
# after the banner. A Redis already answering on 6390 is reused.
redis_up=false
redis-cli -p 6390 ping >/dev/null 2>&1 && redis_up=true
$redis_up || require_free_port 6390 "the local Redis"
require_free_port 9000 "oss-local, the local store"
require_free_port 8080 "the gateway"

mkdir -p data/redis data/journal data/oss-local
if ! $redis_up; then
  redis-server --port 6390 --bind 127.0.0.1 --dir "$PWD/data/redis" --appendonly yes \
    --daemonize yes --logfile "$PWD/data/redis/redis.log" --pidfile "$PWD/data/redis/redis.pid"
  for _ in $(seq 50); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "started redis-server on 127.0.0.1:6390 (stop it with: redis-cli -p 6390 shutdown)"
fi

echo "building (release) ..."
# Two commands, not one `&&` list: under `set -e` a failure inside such a list would not stop
# the script, and it would go on to start stale binaries.
cargo build --release --locked --bin upload-gateway
cargo build --release --locked -p oss-local --bin oss-local

# The same bucket, region and key pair as [buckets.local] in config/local.toml.
target/release/oss-local --listen 127.0.0.1:9000 --data-dir data/oss-local --region local \
  --bucket local-bucket --access-key LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000 &
store_pid=$!
trap 'kill $store_pid 2>/dev/null || true' EXIT INT TERM
store_up=false
for _ in $(seq 50); do
  kill -0 "$store_pid" 2>/dev/null || break
  curl -fsS http://127.0.0.1:9000/_oss-local/callback-key.pem >/dev/null 2>&1 && store_up=true && break
  sleep 0.1
done
$store_up || { echo "error: oss-local did not start on 127.0.0.1:9000 (see its output above)" >&2; exit 1; }

cat <<'MSG'

  demo:       http://127.0.0.1:8080/demo   (pick a file in a browser, watch the callback record it)
  gateway:    http://127.0.0.1:8080   (API key header: 'X-Api-Key: local-dev-key')
  store:      http://127.0.0.1:9000   (bucket local-bucket, objects under data/oss-local)
  try:        curl -H 'X-Api-Key: local-dev-key' http://127.0.0.1:8080/v1/uploads
  spec:       http://127.0.0.1:8080/openapi.yaml

MSG
target/release/upload-gateway serve --config "${UPLOAD_GATEWAY_CONFIG:-config/local.toml}"
