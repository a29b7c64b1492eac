# keepalive_client.py HOST PORT N METHOD PATH [JSON_BODY]: N requests on one keep-alive connection
# (for scripts/load/instructions.sh: a fixed count, so instructions per request can be read off).
import http.client, sys, json
host, port, n, method, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
body = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
c = http.client.HTTPConnection(host, port)
h = {"X-Api-Key": "local-dev-key"}
if body: h["Content-Type"] = "application/json"
bad = 0
for i in range(n):
    c.request(method, path, body=body, headers=h)
    r = c.getresponse(); d = r.read()
    if r.status != 200:
        bad += 1
        if bad < 3: print(r.status, d[:300], file=sys.stderr)
print(f"{n} requests, non-200: {bad}", file=sys.stderr)
