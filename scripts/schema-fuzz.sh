#!/usr/bin/env bash
# Schema fuzzing: schemathesis (pinned in tests/schema/requirements.txt, installed once into
# a venv in the cache) against the gateway binary on loopback, with redis-server and
# oss-local behind it (config/local.toml with the ports swapped, rate limiting off so the
# fuzzer reaches the handlers), driven by the OpenAPI document the gateway itself serves at
# /openapi.yaml. Every operation is called with the API key, so authenticated routes are
# exercised. Fails on any 5xx, or a status, content type or body the spec does not allow.
# Bounded: a fixed number of examples per operation and a time budget.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_redis
have python3 || apt_install python3 python3-venv python3-pip
venv="${UPLOAD_GATEWAY_CACHE:-$HOME/.cache/upload-gateway}/schemathesis-venv"
req=tests/schema/requirements.txt
if ! cmp -s "$req" "$venv/requirements.txt" 2>/dev/null; then
  echo "installing $(cat "$req") into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || { apt_install python3-venv && python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.txt"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "timed out waiting for $1" >&2; return 1; }

cargo build --locked -p upload-gateway -p oss-local --bins
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p target/tmp
redis_port=$(free_port); store_port=$(free_port); gw_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work" >/dev/null &
pids+=($!)
target/debug/oss-local --listen "127.0.0.1:$store_port" --data-dir "$work/store" --region local \
  --bucket local-bucket --access-key LocalOssAccessKeyId:LocalOssAccessKeySecret0000000000 \
  >target/tmp/schema-oss-local.log 2>&1 &
pids+=($!)
sed -e "s/127.0.0.1:8080/127.0.0.1:$gw_port/g" -e "s/127.0.0.1:9000/127.0.0.1:$store_port/g" \
  -e "s/127.0.0.1:6390/127.0.0.1:$redis_port/g" -e "s#data/journal#$work/journal#" \
  -e 's/^format = "pretty"/format = "json"/' \
  -e '/^\[rate_limit\]/,/^\[/ s/^enabled = true/enabled = false/' \
  config/local.toml >"$work/gateway.toml"
grep -A1 '^\[rate_limit\]' "$work/gateway.toml" | grep -q 'enabled = false'
target/debug/upload-gateway serve --config "$work/gateway.toml" >target/tmp/schema-gateway.log 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$gw_port/readyz"

# A real upload id for the `{id}` routes, so they are reached past the 404.
id=$(curl -fsS -H 'X-Api-Key: local-dev-key' -H 'content-type: application/json' \
  -d '{"profile":"documents","filename":"fuzz.txt","content_type":"text/plain","size":5}' \
  "http://127.0.0.1:$gw_port/v1/uploads/presign" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["upload_id"])')
printf '[parameters]\n"path.id" = "%s"\n' "$id" >"$work/schemathesis.toml"

report=$PWD/target/tmp/schemathesis
rm -rf "$report"
# From the scratch directory: schemathesis keeps its cache (.schemathesis/) in the cwd.
# One worker: CPython 3.11's ast module keeps one recursion counter for all threads (CPython
# issue 106905, as we read it), and
# Hypothesis parses lambdas with ast while drawing, so two workers crash it now and then
# ("AST constructor recursion depth mismatch"), which reads as a flaky failure of a route.
cd "$work"
"$venv/bin/st" --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$gw_port/openapi.yaml" \
  --url "http://127.0.0.1:$gw_port" \
  -H "X-Api-Key: local-dev-key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${SCHEMA_FUZZ_EXAMPLES:-25}" \
  --max-time "${SCHEMA_FUZZ_SECONDS:-120}" \
  --seed 13 --workers 1 --request-timeout 10 \
  --report junit --report-dir "$report" \
  --no-color --output-truncate true
