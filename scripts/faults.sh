#!/usr/bin/env bash
# Fault injection under load (tests/api/faults): genuine signed callbacks sent continuously
# while Redis is frozen and killed, the gateway is killed with -9 while journaling and
# restarted over a torn journal tail, the journal disk fills up (a 16 KiB tmpfs; where
# `mount` is refused, a file-size limit on the gateway process, and the run says so), and
# Redis Cluster masters fail over to their replicas. Fails when an acknowledged callback is
# not recorded; prints tried / acknowledged / recorded / lost / doubled per run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_redis
mkdir -p target/tmp
out=target/tmp/faults-figures.txt
# One at a time: each test owns its Redis (or cluster) and paces its own load.
cargo test --locked --test api faults:: -- --ignored --nocapture --test-threads=1 2>&1 \
  | tee "$out.full" | grep -E '^faults|^test |test result' | tee "$out"
# The pipe hides cargo's status; the summary line is the proof.
grep -q 'test result: ok. 2 passed' "$out" || { echo "faults: suite failed (see $out.full)" >&2; exit 1; }
grep -q 'full journal disk on a' "$out"
