# callback_client.py HOST PORT FILE N: POSTs the first N signed callbacks of FILE (written by
# examples/callback_load_fixture.rs) on one keep-alive connection.
import http.client, sys
host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection(host, port); bad = 0
lines = open(path).read().splitlines()[:n]
for line in lines:
    target, auth, keyurl, body = line.split("\t", 3)
    c.request("POST", target, body=body, headers={"Content-Type": "application/json", "Authorization": auth, "x-oss-pub-key-url": keyurl})
    r = c.getresponse(); d = r.read()
    if r.status != 200:
        bad += 1
        if bad < 3: print(r.status, d[:300], file=sys.stderr)
print(f"{len(lines)} callbacks, non-200: {bad}", file=sys.stderr)
