#!/usr/bin/env bash
# Instructions per request, for when wall-clock load runs are too noisy (a shared machine):
# the release gateway (one worker) runs under `valgrind --tool=callgrind` with a private
# redis-server and oss-local; per scenario, a warm-up, then N requests on one keep-alive
# connection between a zeroing and a dump of the counters. Prints user-space instructions
# per request and /healthz's as a share of it. Counts are repeatable to a fraction of a
# percent; kernel time is not in them, and SHA-256 runs in software under valgrind (no
# SHA-NI), so hashing weighs several times more than on the CPU.
#   scripts/load/instructions.sh OUT_DIR [N=1000] [scenario-regex=.]
# GW=path/to/binary measures another build; OSS_LOCAL likewise for the store. Analyse a dump
# with `callgrind_annotate --inclusive=yes OUT_DIR/cg.<pid>.<n>`.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
ensure_redis
have valgrind || apt_install valgrind
OUT=$(realpath -m "$1"); N=${2:-1000}; ONLY=${3:-.}
rm -rf "$OUT"; mkdir -p "$OUT"
K512=$OUT/k512.pem
CL=scripts/load/keepalive_client.py
# Two builds: with the example in the same one, cargo would unify the dev-dependencies'
# features into the gateway, and the binary measured would not be the one deployed. The
# example writes the callbacks whichever gateway is measured.
[ -n "${GW:-}" ] || cargo build --release --locked --bin upload-gateway 2>&1 | tail -1
cargo build --release --locked --example callback_load_fixture 2>&1 | tail -1
[ -n "${OSS_LOCAL:-}" ] || cargo build --release --locked -p oss-local --bin oss-local 2>&1 | tail -1
WORK=$(mktemp -d)
cleanup() { for f in "$WORK"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done; sleep 1; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RPORT=$(free_port); GPORT=$(free_port); SPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
PEM=$(python3 -c 'import json;print(json.dumps(json.load(open("tests/fixtures/vectors/oss_callback_example.json"))["synthetic_rsa1024_public_key_pem"]))')
openssl genrsa -traditional -out "$K512" 512 2>/dev/null
PEM512=$(openssl rsa -in "$K512" -pubout 2>/dev/null | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))')
sed -e '/^key_url_prefixes = /d' -e "s/127.0.0.1:9000/127.0.0.1:$SPORT/g" \
    -e "s/127.0.0.1:8080\"/127.0.0.1:$GPORT\"/" -e "s/6390/$RPORT/" -e 's/^format = "pretty"/format = "json"/' \
    -e 's/^level = "info"/level = "warn"/' \
    -e "s|^journal_dir = .*|journal_dir = \"$WORK/journal\"\nkey_url_prefixes = [\"http://keys.load.test/\"]|" \
    -e "s|^public_url = .*|&\nworkers = 1|" \
    config/local.toml > "$WORK/gateway.toml"
cat >> "$WORK/gateway.toml" <<TOML
[[callbacks.pinned_keys]]
url = "http://keys.load.test/callback_test_key.pem"
pem = $PEM

[[callbacks.pinned_keys]]
url = "http://keys.load.test/callback_test_key_512.pem"
pem = $PEM512
TOML
[ "${RATE_LIMIT:-0}" = 1 ] || sed -i 's/^enabled = true/enabled = false/' "$WORK/gateway.toml"
[ "${RATE_LIMIT:-0}" = 1 ] && sed -i 's/^per_minute = 120/per_minute = 100000000/; s/^burst = 30/burst = 100000000/' "$WORK/gateway.toml"
cp "$WORK/gateway.toml" "$OUT/"
${OSS_LOCAL:-./target/release/oss-local} --listen "127.0.0.1:$SPORT" --data-dir "$WORK/store" --region local \
  --bucket local-bucket --access-key LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000 \
  > "$WORK/store.log" 2>&1 &
echo $! > "$WORK/store.pid"
NCB=$((N + 300))
./target/release/examples/callback_load_fixture "$WORK/gateway.toml" "$NCB" "$WORK/cb1024.txt" >/dev/null
./target/release/examples/callback_load_fixture "$WORK/gateway.toml" "$NCB" "$WORK/cb512.txt" \
  "$K512" http://keys.load.test/callback_test_key_512.pem >/dev/null
cp "${GW:-target/release/upload-gateway}" "$OUT/upload-gateway"
valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" --dump-instr=no \
  "$OUT/upload-gateway" --config "$WORK/gateway.toml" serve > "$OUT/gateway.log" 2>&1 &
VPID=$!; echo $VPID > "$WORK/gw.pid"
G="http://127.0.0.1:$GPORT"
for _ in $(seq 600); do curl -fs "$G/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
api() { curl -fsS -H 'X-Api-Key: local-dev-key' -H 'content-type: application/json' "$@"; }
UPPY=$(api -d '{"filename":"load.bin","type":"application/octet-stream","metadata":{}}' "$G/s3/multipart")
UPPY_ID=$(echo "$UPPY" | python3 -c 'import json,sys;print(json.load(sys.stdin)["uploadId"])')
UPPY_KEY=$(echo "$UPPY" | python3 -c 'import json,sys,urllib.parse;print(urllib.parse.quote(json.load(sys.stdin)["key"],safe=""))')
SMALL='{"profile":"avatars","filename":"a.png","content_type":"image/png","size":1024}'
C="python3 $CL 127.0.0.1 $GPORT"
scen() {  # scen NAME command...
  local name=$1; shift
  [[ $name == healthz || $name =~ $ONLY ]] || return 0
  "$@" 200 2>/dev/null || true            # warm-up (first-use init, caches)
  callgrind_control -z "$VPID" >/dev/null
  "$@" "$N"
  callgrind_control -d "$name" "$VPID" >/dev/null
  NAMES+=("$name")
}
NAMES=()
h() { $C "$1" GET /healthz; }
p() { $C "$1" POST /v1/uploads/presign "$SMALL"; }
f() { $C "$1" POST /v1/uploads/form "$SMALL"; }
up() { $C "$1" GET '/s3/params?filename=a.pdf&type=application%2Fpdf'; }
sp() { $C "$1" GET "/s3/multipart/$UPPY_ID/3?key=$UPPY_KEY"; }
CBOFF=0
cb() { local file=$1 n=$2; sed -n "$((CBOFF+1)),$((CBOFF+n))p" "$file" > "$WORK/cbslice"; CBOFF=$((CBOFF+n)); python3 scripts/load/callback_client.py 127.0.0.1 "$GPORT" "$WORK/cbslice" "$n"; }
cb1() { cb "$WORK/cb1024.txt" "$1"; }
cb5() { cb "$WORK/cb512.txt" "$1"; }
scen healthz h
scen presign p
scen form f
scen uppy-params up
scen uppy-sign-part sp
CBOFF=0; scen callbacks-1024 cb1
CBOFF=0; scen callbacks-512 cb5
hz=""
for n in "${NAMES[@]}"; do
  f=$(grep -l "^desc: Trigger: dump $n\$" "$OUT"/cg.*.* | head -1)
  ir=$(awk '/^summary:|^totals:/ {print $2; exit}' "$f")
  per=$((ir / N))
  [ -z "$hz" ] && hz=$per
  printf "%-16s %9d instructions/request  healthz share %.3f  (%s)\n" "$n" "$per" "$(echo "$hz/$per" | bc -l)" "$(basename "$f")"
done | tee "$OUT/summary.txt"
