#!/usr/bin/env python3
"""The gateway's own time (upload_gateway_http_own_duration_seconds) over one scenario.

own_time.py BEFORE AFTER [ROUTE]: two /metrics snapshots; prints, for ROUTE (default: the
routes on which the load makes storage calls, /v1/multipart and /v1/uploads), how many
requests, the share within 1 ms and the p99 (linear within its bucket, as Prometheus's
histogram_quantile does).
"""
import re
import sys

LINE = re.compile(r'^upload_gateway_http_own_duration_seconds_bucket\{route="([^"]*)",le="([^"]*)"\} (\S+)$')
INF = float("inf")
STORAGE_ROUTES = ("/v1/multipart", "/v1/uploads")


def buckets(path):
    out = {}
    for line in open(path):
        m = LINE.match(line.strip())
        if m:
            le = INF if m.group(2) == "+Inf" else float(m.group(2))
            out.setdefault(m.group(1), {})[le] = float(m.group(3))
    return out


def main(before, after, only=None):
    b, a = buckets(before), buckets(after)
    for route, cum in sorted(a.items()):
        if route != only and (only or route not in STORAGE_ROUTES):
            continue
        diff = sorted((le, n - b.get(route, {}).get(le, 0.0)) for le, n in cum.items())
        if any(n < 0 for _, n in diff):
            print(f"  own time {route}: counts went down between the snapshots (a restart?)")
            continue
        total = diff[-1][1]
        if total <= 0:
            continue
        counts = dict(diff)
        assert 0.001 in counts, "no 1 ms bucket in upload_gateway_http_own_duration_seconds"
        want, lo, prev = 0.99 * total, 0.0, 0.0
        for le, n in diff:
            if n >= want:
                if le == INF:  # past the last bound: say so rather than make a figure up
                    p99 = f"over {lo * 1000:.0f} ms"
                else:
                    p99 = f"{(lo + (le - lo) * (want - prev) / max(n - prev, 1e-9)) * 1000:.2f} ms"
                break
            lo, prev = le, n
        print(f"  own time {route}: {int(total)} requests, "
              f"{100 * counts[0.001] / total:.1f}% within 1 ms, p99 {p99}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
