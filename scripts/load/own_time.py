#!/usr/bin/env python3
"""The gateway's own time (upload_gateway_http_own_duration_seconds) over one scenario.

own_time.py BEFORE AFTER: two /metrics snapshots; prints, per route that gained samples, how
many, the share at or under 1 ms and the p99 (linear within its bucket).
"""
import re
import sys

LINE = re.compile(r'^upload_gateway_http_own_duration_seconds_bucket\{route="([^"]*)",le="([^"]*)"\} (\S+)$')


def buckets(path):
    out = {}
    for line in open(path):
        m = LINE.match(line.strip())
        if m:
            le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
            out.setdefault(m.group(1), {})[le] = float(m.group(3))
    return out


def main(before, after):
    b, a = buckets(before), buckets(after)
    for route, cum in sorted(a.items()):
        diff = sorted((le, n - b.get(route, {}).get(le, 0.0)) for le, n in cum.items())
        total = diff[-1][1]
        if total <= 0:
            continue
        within_1ms = max((n for le, n in diff if le <= 0.001), default=0.0)
        want, lo, prev = 0.99 * total, 0.0, 0.0
        p99 = float("inf")
        for le, n in diff:
            if n >= want:
                p99 = le if le == float("inf") else lo + (le - lo) * (want - prev) / max(n - prev, 1e-9)
                break
            lo, prev = le, n
        print(f"  own time {route}: {int(total)} requests, {100 * within_1ms / total:.1f}% within 1 ms, p99 {p99 * 1000:.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
