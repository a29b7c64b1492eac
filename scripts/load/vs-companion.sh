#!/usr/bin/env bash
# The gateway's /s3 routes and Uppy Companion's, side by side in one run with the same wrk
# settings: Uppy params, sign one part, create multipart. Companion (@uppy/companion from
# npm, cached outside the repository) stores in Garage (a real S3 server, built once by
# `ensure_garage`); the gateway stores in oss-local. Params and sign-part are computed
# locally by both; create multipart makes one storage call on each side.
#   scripts/load/vs-companion.sh [seconds=10] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
ensure_redis
have wrk || apt_install wrk
have npm || apt_install nodejs npm
SECS=${1:-10}; CONNS=${2:-64}
COMPANION_VERSION=6.2.2
CACHE="${UPLOAD_GATEWAY_CACHE:-$HOME/.cache/upload-gateway}"
ensure_garage
CDIR="$CACHE/companion-$COMPANION_VERSION"
if [ ! -x "$CDIR/node_modules/.bin/companion" ]; then
  mkdir -p "$CDIR"
  (cd "$CDIR" && npm install --no-audit --no-fund --loglevel=error "@uppy/companion@$COMPANION_VERSION")
fi

WORK=$(mktemp -d)
# The servers still write their last lines (Redis its shutdown) after the kill: retry the
# removal rather than fail the run on a race.
cleanup() {
  kill $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true
  for _ in 1 2 3 4 5; do rm -rf "$WORK" 2>/dev/null && return; sleep 0.5; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RPORT=$(free_port); GPORT=$(free_port); SPORT=$(free_port); CPORT=$(free_port)
S3PORT=$(free_port); RPCPORT=$(free_port)
G="http://127.0.0.1:$GPORT"; C="http://127.0.0.1:$CPORT"

# Garage, single node, with a key and a bucket.
GK=GKloadgarage000000000000a; GS=LoadGarageSecretKey00000000000000000000000000000000000000000000
start_garage "$WORK" "$S3PORT" "$RPCPORT" "$GK" "$GS" load-bucket

# The gateway, as scripts/load/run.sh runs it (rate limit off: not under test).
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
sed -e "s/127.0.0.1:9000/127.0.0.1:$SPORT/g" -e "s/127.0.0.1:8080\"/127.0.0.1:$GPORT\"/" \
    -e "s/6390/$RPORT/" -e 's/^format = "pretty"/format = "json"/' -e 's/^level = "info"/level = "warn"/' \
    -e "s|^journal_dir = .*|journal_dir = \"$WORK/journal\"|" config/local.toml > "$WORK/gateway.toml"
sed -i 's/^enabled = true/enabled = false/' "$WORK/gateway.toml"
cargo build --release --locked --bin upload-gateway 2>&1 | tail -1
cargo build --release --locked -p oss-local --bin oss-local 2>&1 | tail -1
./target/release/oss-local --listen "127.0.0.1:$SPORT" --data-dir "$WORK/store" --region local \
  --bucket local-bucket --access-key LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000 \
  > "$WORK/store.log" 2>&1 &
echo $! > "$WORK/store.pid"
./target/release/upload-gateway --config "$WORK/gateway.toml" serve > "$WORK/gateway.log" 2>&1 &
echo $! > "$WORK/gateway.pid"

# Companion, standalone, with S3 on Garage.
COMPANION_SECRET=load-only-secret COMPANION_DOMAIN="127.0.0.1:$CPORT" COMPANION_PROTOCOL=http \
  COMPANION_PORT=$CPORT COMPANION_DATADIR="$WORK" COMPANION_CLIENT_ORIGINS=true \
  COMPANION_UPLOAD_URLS="http://127.0.0.1:$CPORT/" \
  COMPANION_AWS_KEY=$GK COMPANION_AWS_SECRET=$GS COMPANION_AWS_BUCKET=load-bucket \
  COMPANION_AWS_REGION=us-east-1 COMPANION_AWS_ENDPOINT="http://127.0.0.1:$S3PORT" \
  COMPANION_AWS_FORCE_PATH_STYLE=true NODE_ENV=production \
  "$CDIR/node_modules/.bin/companion" > "$WORK/companion.log" 2>&1 &
echo $! > "$WORK/companion.pid"

CREATE='{"filename":"load.bin","type":"application/octet-stream","metadata":{}}'
ready() { for _ in $(seq 300); do curl -fsS -H 'X-Api-Key: local-dev-key' -H 'content-type: application/json' \
  -d "$CREATE" "$1/s3/multipart" 2>/dev/null && return; sleep 0.1; done
  echo "error: $1 did not start; logs in $WORK" >&2; tail -n 20 "$WORK"/*.log >&2; exit 1; }
key_of() { python3 -c 'import json,sys,urllib.parse;d=json.load(sys.stdin);print(d["uploadId"], urllib.parse.quote(d["key"],safe=""))'; }
read -r G_ID G_KEY < <(ready "$G" | key_of)
read -r C_ID C_KEY < <(ready "$C" | key_of)

R=scripts/load/request.lua
bench() {   # bench SIDE NAME URL wrk-args...
  local out="$WORK/$1-$2.txt"; shift 2
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s $R "$@" > "$out"
}
for side in gateway companion; do
  if [ $side = gateway ]; then B=$G; ID=$G_ID; KEY=$G_KEY; else B=$C; ID=$C_ID; KEY=$C_KEY; fi
  echo "== $side" >&2
  bench $side params "$B/s3/params?filename=a.pdf&type=application%2Fpdf" -- GET
  bench $side sign-part "$B/s3/multipart/$ID/3?key=$KEY" -- GET
  bench $side create-multipart "$B/s3/multipart" -- POST "$CREATE"
done

rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1=="99%" {print $2}' "$1"; }
bad() { awk '/non-2xx/ {print $3}' "$1"; }
echo "== summary ($CONNS connections, ${SECS}s each, Companion $COMPANION_VERSION on Node $(node --version))"
printf '%-18s %22s %22s %8s\n' route gateway companion ratio
for n in params sign-part create-multipart; do
  g="$WORK/gateway-$n.txt"; c="$WORK/companion-$n.txt"
  printf '%-18s %10.0f/s p99 %7s %10.0f/s p99 %7s %7.1fx' "$n" "$(rps "$g")" "$(p99 "$g")" \
    "$(rps "$c")" "$(p99 "$c")" "$(python3 -c "print($(rps "$g")/max($(rps "$c"),1e-9))")"
  echo "   (non-2xx: gateway $(bad "$g"), companion $(bad "$c"))"
done
