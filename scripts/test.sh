#!/usr/bin/env bash
# The whole test suite (what CI runs). Installs what it needs, then runs every test against
# real local servers, then checks that no secret reached any log line of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_redis

# The API tests write their logs under target/tmp; start from a clean slate so the scan
# below sees only this run.
mkdir -p target/tmp
rm -f target/tmp/*.log

cargo test --workspace --locked "$@"

logs=(target/tmp/*.log)
if [ ! -e "${logs[0]}" ]; then
  echo "log scan: no test logs were captured" >&2
  exit 1
fi
patterns=$(mktemp)
trap 'rm -f "$patterns"' EXIT
grep -v -e '^#' -e '^$' tests/fixtures/log-forbidden.txt >"$patterns"
if grep -n -F -f "$patterns" "${logs[@]}" | head -20 | grep .; then
  echo "log scan: secrets or signed material found in the logs above" >&2
  exit 1
fi
echo "log scan: $(cat "${logs[@]}" | wc -l) log lines, $(wc -l <"$patterns") forbidden strings, none found"
