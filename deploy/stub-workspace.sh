#!/bin/sh
# Stub sources for every target the given Cargo.toml files declare, so that deploy/Dockerfile
# can build the dependencies from the manifests alone (cargo refuses a workspace whose
# declared targets are missing). scripts/check-deploy.sh runs it the same way.
set -eu
for manifest in "$@"; do
  dir=$(dirname "$manifest")
  targets=$(awk '
    /^\[\[bench\]\]/ { kind = "benches"; next }
    /^\[\[example\]\]/ { kind = "examples"; next }
    /^\[\[test\]\]/ { kind = "tests"; next }
    /^\[/ { kind = "" }
    kind != "" && /^name *=/ { split($0, q, "\""); print kind "/" q[2] ".rs" }
    /^path *= *".*\.rs"/ { split($0, q, "\""); print q[2] }
  ' "$manifest")
  for rel in src/main.rs src/lib.rs $targets; do
    mkdir -p "$dir/$(dirname "$rel")"
    [ -e "$dir/$rel" ] || echo 'fn main() {}' >"$dir/$rel"
  done
done
