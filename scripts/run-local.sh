#!/usr/bin/env bash
# Runs the gateway on http://127.0.0.1:8080 with config/local.toml. Starts a private
# redis-server on 127.0.0.1:6390 (data in ./data/redis) unless one already answers there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_redis
mkdir -p data/redis data/journal
if ! redis-cli -p 6390 ping >/dev/null 2>&1; then
  redis-server --port 6390 --bind 127.0.0.1 --dir "$PWD/data/redis" --appendonly yes \
    --daemonize yes --logfile "$PWD/data/redis/redis.log" --pidfile "$PWD/data/redis/redis.pid"
  for _ in $(seq 50); do redis-cli -p 6390 ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "started redis-server on 127.0.0.1:6390 (stop it with: redis-cli -p 6390 shutdown)"
fi

echo "building and starting upload-gateway; try: curl -H 'X-Api-Key: local-dev-key' http://127.0.0.1:8080/v1/uploads"
exec cargo run --release --locked --bin upload-gateway -- serve --config "${UPLOAD_GATEWAY_CONFIG:-config/local.toml}"
