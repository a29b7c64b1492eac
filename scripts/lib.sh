# Shared by the scripts in this folder: install Debian packages only when a command is missing.
have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  if ! have apt-get; then
    echo "error: $* missing and apt-get is not available; install them by hand" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing $* with apt-get" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_redis() {
  have redis-server && have redis-cli || apt_install redis-server redis-tools
}

# Alibaba's Python OSS SDK, for the end-to-end checks of the local store.
ensure_python_oss2() {
  have python3 || apt_install python3 python3-pip
  python3 -c 'import oss2' 2>/dev/null && return
  echo "installing oss2 with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check oss2 ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages oss2
}

# Tencent's Python COS SDK, the oracle for `sign cos`.
ensure_python_cos() {
  have python3 || apt_install python3 python3-pip
  python3 -c 'import qcloud_cos' 2>/dev/null && return
  echo "installing cos-python-sdk-v5 with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check cos-python-sdk-v5 ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages cos-python-sdk-v5
}

# Tencent's STS SDK (TC3 signing), which tests/e2e/cos_store.py points at oss-local's stand-in.
ensure_python_tencent_sts() {
  python3 -c 'import tencentcloud.sts' 2>/dev/null && return
  echo "installing tencentcloud-sdk-python-sts with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check tencentcloud-sdk-python-sts ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages tencentcloud-sdk-python-sts
}

# COS's Node SDKs from tests/e2e/cos-node/package-lock.json.
ensure_node_cos() {
  have node && have npm || apt_install nodejs npm
  if [ ! -d tests/e2e/cos-node/node_modules/cos-nodejs-sdk-v5 ]; then
    (cd tests/e2e/cos-node && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The Standard Webhooks reference library: the tests' webhook receiver verifies with it.
ensure_python_webhooks() {
  have python3 || apt_install python3 python3-pip
  python3 -c 'import standardwebhooks' 2>/dev/null && return
  echo "installing standardwebhooks with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check standardwebhooks ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages standardwebhooks
}

# Debian's Chromium (headless browser tests) and the e2e Node packages (Playwright core,
# Uppy, esbuild, ali-oss) from tests/e2e/browser/package-lock.json.
ensure_browser_tools() {
  have chromium || apt_install chromium
  have node && have npm || apt_install nodejs npm
  if [ ! -d tests/e2e/browser/node_modules/playwright-core ]; then
    (cd tests/e2e/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Exits with one line naming the port when something already listens on 127.0.0.1:PORT.
require_free_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "error: port $1 ($2) is already in use on 127.0.0.1; stop what holds it (ss -ltnp 'sport = :$1')" >&2
    exit 1
  fi
}

# Garage 2.5.0, a real S3 server (SigV4 on presigned URLs, POST policies, multipart), for the
# S3 signer tests. Built from crates.io once (about 10 minutes on 2 cores) into a cache
# outside the repository, so later runs and CI reuse the binary. Exports GARAGE_BIN.
ensure_garage() {
  local cache="${UPLOAD_GATEWAY_CACHE:-$HOME/.cache/upload-gateway}/garage-2.5.0"
  GARAGE_BIN="$cache/bin/garage"
  if [ ! -x "$GARAGE_BIN" ]; then
    echo "building garage 2.5.0 into $cache (once; about 10 minutes)" >&2
    local started=$SECONDS
    cargo install --locked --quiet garage --version 2.5.0 --root "$cache"
    echo "garage built in $((SECONDS - started)) s" >&2
  fi
  export GARAGE_BIN
}

# A single-node Garage in the background for the load scripts, with one key and its default
# bucket, data under DIR/garage (run ensure_garage first). Writes DIR/garage.pid and
# DIR/garage.log. Usage: start_garage DIR S3_PORT RPC_PORT KEY_ID SECRET BUCKET
start_garage() {
  local dir=$1 s3port=$2 rpcport=$3 key=$4 secret=$5 bucket=$6
  printf '%s' "$(printf '4b%.0s' $(seq 32))" > "$dir/rpc_secret"; chmod 600 "$dir/rpc_secret"
  cat > "$dir/garage.toml" <<TOML
metadata_dir = "$dir/garage/meta"
data_dir = "$dir/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpcport"
rpc_public_addr = "127.0.0.1:$rpcport"
rpc_secret_file = "$dir/rpc_secret"
[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:$s3port"
TOML
  GARAGE_DEFAULT_ACCESS_KEY=$key GARAGE_DEFAULT_SECRET_KEY=$secret GARAGE_DEFAULT_BUCKET=$bucket \
    RUST_LOG=garage=warn "$GARAGE_BIN" -c "$dir/garage.toml" server --single-node --default-bucket \
    > "$dir/garage.log" 2>&1 &
  echo $! > "$dir/garage.pid"
}

# AWS's Python SDK, the oracle for the S3 signer (tests/e2e/s3_boto3.py).
ensure_python_boto3() {
  have python3 || apt_install python3 python3-pip
  python3 -c 'import boto3' 2>/dev/null && return
  echo "installing boto3 with pip" >&2
  python3 -m pip install --quiet --disable-pip-version-check boto3 ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages boto3
}

# COS's mini-program SDK from tests/e2e/cos-wx/package-lock.json (run under Node with a wx shim).
ensure_node_cos_wx() {
  have node && have npm || apt_install nodejs npm
  if [ ! -d tests/e2e/cos-wx/node_modules/cos-wx-sdk-v5 ]; then
    (cd tests/e2e/cos-wx && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
