#!/usr/bin/env bash
# Load against the release binary with a private redis-server and oss-local, reported as a
# ratio against /healthz of the same binary in the same run: signed callbacks, and signing
# multipart part URLs (POST /v1/multipart/{id}/parts, 10 parts per request).
#   scripts/load/run.sh [uploads=100000] [seconds=10] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
ensure_redis
have wrk || apt_install wrk

N=${1:-100000}; SECS=${2:-10}; CONNS=${3:-64}
WORK=$(mktemp -d); trap 'kill $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
RPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
GPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
SPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
PEM=$(python3 -c 'import json;print(json.dumps(json.load(open("tests/fixtures/vectors/oss_callback_example.json"))["synthetic_rsa1024_public_key_pem"]))')
sed -e '/^key_url_prefixes = /d' -e "s/127.0.0.1:9000/127.0.0.1:$SPORT/g" \
    -e "s/127.0.0.1:8080\"/127.0.0.1:$GPORT\"/" -e "s/6390/$RPORT/" -e 's/^format = "pretty"/format = "json"/' \
    -e 's/^level = "info"/level = "warn"/' \
    -e "s|^journal_dir = .*|journal_dir = \"$WORK/journal\"\nkey_url_prefixes = [\"http://keys.load.test/\"]|" \
    config/local.toml > "$WORK/gateway.toml"
cat >> "$WORK/gateway.toml" <<TOML
[[callbacks.pinned_keys]]
url = "http://keys.load.test/callback_test_key.pem"
pem = $PEM
TOML
sed -i 's/^enabled = true/enabled = false/' "$WORK/gateway.toml"   # rate limit: not under test

cargo build --release --locked --bin upload-gateway --example callback_load_fixture 2>&1 | tail -1
cargo build --release --locked -p oss-local --bin oss-local 2>&1 | tail -1
./target/release/oss-local --listen "127.0.0.1:$SPORT" --data-dir "$WORK/store" --region local \
  --bucket local-bucket --access-key LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000 \
  > "$WORK/store.log" 2>&1 &
echo $! > "$WORK/store.pid"
./target/release/examples/callback_load_fixture "$WORK/gateway.toml" "$N" "$WORK/callbacks.txt"
./target/release/upload-gateway --config "$WORK/gateway.toml" serve > "$WORK/gateway.log" 2>&1 &
echo $! > "$WORK/gateway.pid"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$GPORT/readyz" >/dev/null && break; sleep 0.1; done

run() { wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@"; }
echo "== /healthz (trivial handler, same binary)"; run "http://127.0.0.1:$GPORT/healthz" | tee "$WORK/h.txt"
echo "== signed callbacks"; run -s scripts/load/callbacks.lua "http://127.0.0.1:$GPORT" -- "$WORK/callbacks.txt" | tee "$WORK/c.txt"
MP=$(curl -fsS -H 'X-Api-Key: local-dev-key' -H 'content-type: application/json' \
  -d '{"profile":"documents","filename":"load.bin","content_type":"application/octet-stream","size":1073741824}' \
  "http://127.0.0.1:$GPORT/v1/multipart" | python3 -c 'import json,sys;print(json.load(sys.stdin)["upload_id"])')
echo "== sign 10 part URLs"; run -s scripts/load/sign_parts.lua "http://127.0.0.1:$GPORT/v1/multipart/$MP/parts" | tee "$WORK/p.txt"

rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1=="99%" {print $2}' "$1"; }
echo "== summary"
echo "healthz:   $(rps "$WORK/h.txt") req/s, p99 $(p99 "$WORK/h.txt")"
echo "callbacks: $(rps "$WORK/c.txt") req/s, p99 $(p99 "$WORK/c.txt")"
echo "sign parts: $(rps "$WORK/p.txt") req/s, p99 $(p99 "$WORK/p.txt")"
python3 -c "print('ratio callbacks/healthz: %.2f' % ($(rps "$WORK/c.txt")/$(rps "$WORK/h.txt")))"
python3 -c "print('ratio sign-parts/healthz: %.2f' % ($(rps "$WORK/p.txt")/$(rps "$WORK/h.txt")))"
curl -s "http://127.0.0.1:$GPORT/metrics" | grep '^upload_gateway_callbacks_total' || true
