#!/usr/bin/env bash
# Load against the release binary with a private redis-server and oss-local, each scenario
# reported as req/s, p99 and its ratio to /healthz of the same binary in the same run, and
# the gateway's resident memory at the end:
#   callbacks, each delivered once (1024-bit test key; 512-bit key, the size OSS signs
#   with), then the 512-bit ones again (all duplicates), presign PUT,
#   PostObject form, Uppy /s3/params, Uppy sign one part, 10 part URLs per request,
#   create multipart (POST /v1/multipart, POST /v1/uploads above the threshold; each is
#   one InitiateMultipartUpload against oss-local); 10 part URLs on a COS bucket (q-sign,
#   oss-local's COS listener); 10 part URLs on an S3 bucket (SigV4, Garage, a real S3 server).
#   scripts/load/run.sh [uploads=100000] [seconds=10] [connections=64] [scenario-regex=.]
# SOAK_SECS=60 adds a presign soak with the RSS sampled every 5 s.
# REDIS_STATS=1 also prints the Redis commands per request of each scenario.
# GW=path/to/binary loads another build of the gateway. PROFILE_DIR=dir also records each scenario with `perf record -a` (cpu-clock) into
# dir/NAME.data; `perf report -i dir/NAME.data --sort comm,dso` shows who spent the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
ensure_redis
have wrk || apt_install wrk

N=${1:-100000}; SECS=${2:-10}; CONNS=${3:-64}; ONLY=${4:-.}
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
ensure_garage
G="http://127.0.0.1:$GPORT"

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
PEM=$(python3 -c 'import json;print(json.dumps(json.load(open("tests/fixtures/vectors/oss_callback_example.json"))["synthetic_rsa1024_public_key_pem"]))')
# A 512-bit key like OSS's (whose private half nobody outside Alibaba has).
openssl genrsa -traditional -out "$WORK/k512.pem" 512 2>/dev/null
PEM512=$(openssl rsa -in "$WORK/k512.pem" -pubout 2>/dev/null | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))')
sed -e '/^key_url_prefixes = /d' -e "s/127.0.0.1:9000/127.0.0.1:$SPORT/g" \
    -e "s/127.0.0.1:8080\"/127.0.0.1:$GPORT\"/" -e "s/6390/$RPORT/" -e 's/^format = "pretty"/format = "json"/' \
    -e 's/^level = "info"/level = "warn"/' \
    -e "s|^journal_dir = .*|journal_dir = \"$WORK/journal\"\nkey_url_prefixes = [\"http://keys.load.test/\"]|" \
    config/local.toml > "$WORK/gateway.toml"
cat >> "$WORK/gateway.toml" <<TOML
[[callbacks.pinned_keys]]
url = "http://keys.load.test/callback_test_key.pem"
pem = $PEM

[[callbacks.pinned_keys]]
url = "http://keys.load.test/callback_test_key_512.pem"
pem = $PEM512

[buckets.cos]
provider = "cos"
bucket = "load-1250000000"
region = "ap-guangzhou"
endpoint = "http://127.0.0.1:$CPORT"
access_key_id = "AKIDLoadSecretId000000000000000000"
access_key_secret = "LoadSecretKey0000000000000000000"

[profiles.cosload]
bucket = "cos"
key_template = "cosload/{user}/{upload_id}-{filename}"
max_size_bytes = 5368709120
content_types = ["application/octet-stream"]
kinds = ["multipart"]

[buckets.s3]
provider = "s3"
bucket = "load-bucket"
endpoint = "http://127.0.0.1:$S3PORT"
region = "us-east-1"
url_style = "path"
access_key_id = "GKloadgarage000000000000a"
access_key_secret = "LoadGarageSecretKey00000000000000000000000000000000000000000000"

[profiles.s3load]
bucket = "s3"
key_template = "s3load/{user}/{upload_id}-{filename}"
max_size_bytes = 5368709120
content_types = ["application/octet-stream"]
kinds = ["multipart"]
TOML
# Garage, single node, with that key and bucket (the S3 scenario's one initiate goes there).
start_garage "$WORK" "$S3PORT" "$RPCPORT" GKloadgarage000000000000a \
  LoadGarageSecretKey00000000000000000000000000000000000000000000 load-bucket
sed -i 's/^enabled = true/enabled = false/' "$WORK/gateway.toml"   # rate limit: not under test

# Two builds: with the example in the same one, cargo would unify the dev-dependencies'
# features into the gateway, and the binary measured would not be the one deployed.
cargo build --release --locked --bin upload-gateway 2>&1 | tail -1
cargo build --release --locked --example callback_load_fixture 2>&1 | tail -1
cargo build --release --locked -p oss-local --bin oss-local 2>&1 | tail -1
./target/release/oss-local --listen "127.0.0.1:$SPORT" --data-dir "$WORK/store" --region local \
  --bucket local-bucket --access-key LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000 \
  --cos-listen "127.0.0.1:$CPORT" --cos-bucket load-1250000000 \
  --access-key AKIDLoadSecretId000000000000000000:LoadSecretKey0000000000000000000 \
  > "$WORK/store.log" 2>&1 &
echo $! > "$WORK/store.pid"
./target/release/examples/callback_load_fixture "$WORK/gateway.toml" "$N" "$WORK/callbacks.txt"
./target/release/examples/callback_load_fixture "$WORK/gateway.toml" "$N" "$WORK/callbacks512.txt" \
  "$WORK/k512.pem" http://keys.load.test/callback_test_key_512.pem
"${GW:-./target/release/upload-gateway}" --config "$WORK/gateway.toml" serve > "$WORK/gateway.log" 2>&1 &
echo $! > "$WORK/gateway.pid"
for _ in $(seq 100); do curl -fs "$G/readyz" >/dev/null && break; sleep 0.1; done

api() { curl -fsS -H 'X-Api-Key: local-dev-key' -H 'content-type: application/json' "$@"; }
json() { python3 -c "import json,sys;print(json.load(sys.stdin)$1)"; }
MP=$(api -d '{"profile":"documents","filename":"load.bin","content_type":"application/octet-stream","size":1073741824}' \
  "$G/v1/multipart" | json '["upload_id"]')
MPCOS=$(api -d '{"profile":"cosload","filename":"load.bin","content_type":"application/octet-stream","size":1073741824}' \
  "$G/v1/multipart" | json '["upload_id"]')
MPS3=""   # Garage takes a moment to serve its default bucket
for _ in $(seq 100); do
  MPS3=$(api -d '{"profile":"s3load","filename":"load.bin","content_type":"application/octet-stream","size":1073741824}' \
    "$G/v1/multipart" 2>/dev/null | json '["upload_id"]' 2>/dev/null) && [ -n "$MPS3" ] && break
  sleep 0.2
done
[ -n "$MPS3" ] || { echo "error: Garage did not take the S3 initiate; see $WORK/garage.log" >&2; exit 1; }
UPPY=$(api -d '{"filename":"load.bin","type":"application/octet-stream","metadata":{}}' "$G/s3/multipart")
UPPY_ID=$(echo "$UPPY" | json '["uploadId"]')
UPPY_KEY=$(echo "$UPPY" | python3 -c 'import json,sys,urllib.parse;print(urllib.parse.quote(json.load(sys.stdin)["key"],safe=""))')
SMALL='{"profile":"avatars","filename":"a.png","content_type":"image/png","size":1024}'
LARGE='{"profile":"documents","filename":"big.bin","content_type":"application/octet-stream","size":104857600}'

# utime+stime of the gateway and of Redis, in clock ticks: CPU per request is steadier than
# req/s on a shared machine, where the cores' speed and the neighbours vary from run to run.
cpu_ticks() {
  local g r
  g=$(awk '{print $14+$15}' "/proc/$(cat "$WORK/gateway.pid")/stat")
  r=$(awk '{print $14+$15}' "/proc/$(cat "$WORK/redis.pid")/stat")
  echo "$g $r"
}
TICK=$(getconf CLK_TCK)
# OSS callbacks the gateway counted as accepted and as duplicates so far.
callback_results() {
  curl -s "$G/metrics" | awk '/^upload_gateway_callbacks_total\{provider="oss",result="accepted"\}/ {a=$2}
    /^upload_gateway_callbacks_total\{provider="oss",result="duplicate"\}/ {d=$2} END {print a+0, d+0}'
}
NAMES=()
run() {   # run NAME wrk-args...
  local name=$1; shift
  [[ $name == healthz || $name =~ $ONLY ]] || return 0
  echo "== $name"
  if [ -n "${PROFILE_DIR:-}" ]; then   # whole-machine samples, to see who spends the cores
    mkdir -p "$PROFILE_DIR"
    perf record -q -a -g -e cpu-clock -F 499 -o "$PROFILE_DIR/$name.data" -- sleep "$SECS" \
      2>/dev/null &
    PERF_PID=$!
  fi
  local before; before=$(cpu_ticks)
  local cb_before; cb_before=$(callback_results)
  curl -s "$G/metrics" > "$WORK/$name.metrics-before"
  redis-cli -p "$RPORT" config resetstat >/dev/null
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" | tee "$WORK/$name.txt"
  echo "cpu_ticks $before $(cpu_ticks)" >> "$WORK/$name.txt"
  echo "callback_results $cb_before $(callback_results)" >> "$WORK/$name.txt"
  curl -s "$G/metrics" > "$WORK/$name.metrics-after"
  # Which Redis commands a request costs: calls and usec per command, from INFO commandstats.
  redis-cli -p "$RPORT" info commandstats | tr -d '\r' | grep '^cmdstat_' \
    | sed 's/^cmdstat_/redis_cmd /' >> "$WORK/$name.txt"
  [ -z "${PERF_PID:-}" ] || wait "$PERF_PID"
  NAMES+=("$name")
}
R=scripts/load/request.lua
run healthz "$G/healthz"
# Each fixture delivered once (every delivery verifies, records and appends an event), then
# the 512-bit ones once more: all duplicates, as when OSS retries (verify and one read). The
# same mode for both, so wrk's own cost per answer is the same.
run callbacks-1024 -s scripts/load/callbacks.lua "$G" -- "$WORK/callbacks.txt" once
run callbacks-512 -s scripts/load/callbacks.lua "$G" -- "$WORK/callbacks512.txt" once
run callbacks-512-dup -s scripts/load/callbacks.lua "$G" -- "$WORK/callbacks512.txt" once
run presign-put -s $R "$G/v1/uploads/presign" -- POST "$SMALL"
run form -s $R "$G/v1/uploads/form" -- POST "$SMALL"
run uppy-params -s $R "$G/s3/params?filename=a.pdf&type=application%2Fpdf" -- GET
run uppy-sign-part -s $R "$G/s3/multipart/$UPPY_ID/3?key=$UPPY_KEY" -- GET
run sign-10-parts -s scripts/load/sign_parts.lua "$G/v1/multipart/$MP/parts"
run sign-10-parts-cos -s scripts/load/sign_parts.lua "$G/v1/multipart/$MPCOS/parts"
run sign-10-parts-s3 -s scripts/load/sign_parts.lua "$G/v1/multipart/$MPS3/parts"
run create-multipart -s $R "$G/v1/multipart" -- POST \
  '{"profile":"documents","filename":"load.bin","content_type":"application/octet-stream","size":1073741824}'
run create-upload-large -s $R "$G/v1/uploads" -- POST "$LARGE"

# The gateway's own latency over the storage call it makes: one connection, one request at a
# time (no queueing), first straight to oss-local with a presigned InitiateMultipartUpload,
# then the same call through POST /v1/multipart (auth, plan, sign, the call, the record).
if [[ create-multipart =~ $ONLY ]]; then
  DIRECT=$(OSS_ACCESS_KEY_ID=LocalOssAccessKeyId OSS_ACCESS_KEY_SECRET=LocalOssAccessKeySecret0000000000 \
    ./target/release/upload-gateway sign oss --method POST --endpoint "http://127.0.0.1:$SPORT" \
    --bucket local-bucket --key load/direct.bin --region local --url-style path --param uploads \
    --expires-in 900)
  for pair in "initiate-direct-c1|$DIRECT|" "create-multipart-c1|$G/v1/multipart|x"; do
    IFS='|' read -r name url api <<< "$pair"
    echo "== $name"
    curl -s "$G/metrics" > "$WORK/$name.metrics-before"
    if [ -n "$api" ]; then
      wrk -t1 -c1 -d"${SECS}s" --latency -s $R "$url" -- POST \
        '{"profile":"documents","filename":"load.bin","content_type":"application/octet-stream","size":1073741824}'
    else
      wrk -t1 -c1 -d"${SECS}s" --latency -s $R "$url" -- POST
    fi > "$WORK/$name.txt"
    curl -s "$G/metrics" > "$WORK/$name.metrics-after"
    grep -E 'Requests/sec|^ +(50|75|90|99)%' "$WORK/$name.txt"
  done
fi

# Memory under a long run: presign PUT for SOAK_SECS, the RSS sampled every 5 s.
if [ "${SOAK_SECS:-0}" -gt 0 ]; then
  echo "== soak: presign-put for ${SOAK_SECS}s"
  wrk -t2 -c"$CONNS" -d"${SOAK_SECS}s" -s $R "$G/v1/uploads/presign" -- POST "$SMALL" > "$WORK/soak.txt" &
  SOAK_PID=$!
  RSS=()
  while kill -0 "$SOAK_PID" 2>/dev/null; do
    RSS+=("$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$(cat "$WORK/gateway.pid")/status")")
    sleep 5
  done
  wait "$SOAK_PID" || true
  echo "soak: $(awk '/Requests\/sec/ {print $2}' "$WORK/soak.txt") req/s; RSS MiB every 5 s: ${RSS[*]}"
fi

echo "== summary ($CONNS connections, ${SECS}s each; ratio = req/s / healthz req/s)"
for n in "${NAMES[@]}"; do
  awk -v n="$n" -v t="$TICK" -v want="$N" -v h="$(awk '/Requests\/sec/ {print $2}' "$WORK/healthz.txt")" '
    /^Requests\/sec:/ {r=$2} /^Requests\/sec \(once\):/ {o=$3} $1=="99%" {p=$2} /non-2xx/ {e=$3}
    / requests in / {q=$1} $1=="cpu_ticks" {g=($4-$2)*1e6/t; d=($5-$3)*1e6/t}
    $1=="callback_results" {acc=$4-$2; dup=$5-$3}
    END {if (o != "") r=o
      if (n ~ /^callbacks-(1024|512)$/ && acc != want)
        printf "WARNING: %s recorded %d uploads, not all %d: a longer run (seconds) is needed\n", n, acc, want
      if (n ~ /-dup$/ && acc != 0)
        printf "WARNING: %s recorded %d uploads: not all its deliveries were duplicates\n", n, acc
      printf "%-20s %10.0f req/s  p99 %9s  ratio %.2f  non-2xx %s  cpu/request: gateway %.1f us, redis %.1f us%s\n",
      n, r, p, r/h, (e==""?0:e), g/q, d/q, (acc+dup>0 ? sprintf("  (callbacks: %d recorded, %d duplicates)", acc, dup) : "")}' \
    "$WORK/$n.txt"
  python3 scripts/load/own_time.py "$WORK/$n.metrics-before" "$WORK/$n.metrics-after"
  [ -z "${REDIS_STATS:-}" ] || awk -F'[ :=,]' '/ requests in / {split($0, a, " "); q=a[1]}
    $1=="redis_cmd" {printf "    redis %-12s %5.2f calls/request, %5.2f us each\n", $2, $4/q, $6/$4}' "$WORK/$n.txt"
done
if [ -f "$WORK/create-multipart-c1.txt" ]; then
  awk '$1=="99%" {v=$2; u=1; if (v ~ /us$/) u=0.001; if (v ~ /[0-9]s$/ && v !~ /ms$/) u=1000; sub(/[a-z]+$/, "", v); p[FILENAME]=v*u}
    END {d=p[ARGV[1]]; g=p[ARGV[2]]; printf "create multipart, one connection: p99 %.2f ms through the gateway, %.2f ms straight to the store: overhead %.2f ms\n", g, d, g-d}' \
    "$WORK/initiate-direct-c1.txt" "$WORK/create-multipart-c1.txt"
  # Measured inside the gateway, request by request: its latency less the storage call's.
  python3 scripts/load/own_time.py "$WORK/create-multipart-c1.metrics-before" \
    "$WORK/create-multipart-c1.metrics-after"
fi
echo "gateway RSS at the end: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$(cat "$WORK/gateway.pid")/status")"
