"""End to end with clients nobody on this team wrote: Alibaba's Python SDK (oss2) and curl,
against the real gateway binary, oss-local and redis-server (started by scripts/e2e.sh).
Every upload must end with the gateway's record `completed` and the stored bytes identical."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import oss2

GW = os.environ["GATEWAY_URL"]
API_KEY = os.environ["GATEWAY_API_KEY"]
STORE_DATA = os.environ["STORE_DATA_DIR"]
checks = 0


def check(name, ok, detail=""):
    global checks
    checks += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        sys.exit(1)


def gw(method, path, body=None, raw=False):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(GW + path, data=data, method=method)
    req.add_header("X-Api-Key", API_KEY)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def record(upload_id):
    return gw("GET", f"/v1/uploads/{upload_id}")[1]


def stored_bytes(key):
    """The object as oss-local keeps it on disk (named by the SHA-256 of the key)."""
    import hashlib

    h = hashlib.sha256(key.encode()).hexdigest()
    with open(os.path.join(STORE_DATA, BUCKET, "objects", h + ".bin"), "rb") as f:
        return f.read()


def curl(*args):
    out = subprocess.run(["curl", "-s", "-S", *args], capture_output=True, check=True)
    return out.stdout


# --- STS credentials, as a mobile app's SDK would get them ---------------------------------
status, creds = gw("POST", "/v1/credentials", {"profile": "documents"})
check("POST /v1/credentials", status == 200, creds)
BUCKET, PREFIX = creds["bucket"], creds["prefix"]
auth = oss2.StsAuth(creds["access_key_id"], creds["access_key_secret"], creds["security_token"])
bucket = oss2.Bucket(auth, creds["endpoint"], BUCKET)
cb_headers = {
    "x-oss-callback": creds["callback"]["callback"],
    "x-oss-callback-var": creds["callback"]["callback-var"],
}

# put_object with the callback the gateway returned: the callback's answer comes back.
data = os.urandom(200_000)
key = PREFIX + "photo.pdf"
r = bucket.put_object(key, data, headers={**cb_headers, "Content-Type": "application/pdf"})
answer = json.loads(r.resp.read())
check("oss2 put_object (STS) relays the gateway's callback answer", r.status == 200 and answer.get("status") == "completed", answer)
rec = record(answer["upload_id"])
check("  record completed, kind sts, size", rec["status"] == "completed" and rec["kind"] == "sts" and rec["size"] == len(data), rec)
check("  bytes identical (read back with oss2)", bucket.get_object(key).read() == data)

# Outside the prefix the temporary credentials are refused by storage.
try:
    bucket.put_object("docs/somebody-else/x.pdf", b"x")
    check("STS credentials outside the prefix", False, "accepted")
except oss2.exceptions.OssError as e:
    check(f"STS credentials outside the prefix -> {e.status} {e.code}", e.code == "AccessDenied")


# resumable_upload: multipart with several threads. oss2 passes no callback to its complete
# call, so the app adds it, as any oss2 user wanting a callback on multipart must.
class CallbackBucket(oss2.Bucket):
    def complete_multipart_upload(self, key, upload_id, parts, headers=None):
        return super().complete_multipart_upload(key, upload_id, parts, headers={**(headers or {}), **cb_headers})


big = os.urandom(3 * 1024 * 1024 + 4321)
with tempfile.NamedTemporaryFile() as f:
    f.write(big)
    f.flush()
    cbucket = CallbackBucket(auth, creds["endpoint"], BUCKET)
    key = PREFIX + "big.bin"
    r = oss2.resumable_upload(cbucket, key, f.name, multipart_threshold=1024 * 1024, part_size=512 * 1024,
                              num_threads=3, store=oss2.ResumableStore(root=tempfile.mkdtemp()))
answer = json.loads(r.resp.read())
rec = record(answer["upload_id"])
check("oss2 resumable_upload (7 parts, 3 threads) completes the record", rec["status"] == "completed" and rec["size"] == len(big), rec)
check("  bytes identical", stored_bytes(key) == big and rec["etag"].endswith("-7"), rec["etag"])

# --- presigned PUT, exactly as a mobile app would use it with curl ---------------------------
body = os.urandom(1234)
status, p = gw("POST", "/v1/uploads/presign", {"profile": "documents", "filename": "scan.pdf", "content_type": "application/pdf", "size": len(body)})
check("POST /v1/uploads/presign", status == 200, p)
with tempfile.NamedTemporaryFile() as f:
    f.write(body)
    f.flush()
    wrong = curl("-X", "PUT", "-H", "Content-Type: text/plain", "--data-binary", "@" + f.name, p["url"])
    check("curl PUT with another Content-Type -> SignatureDoesNotMatch", b"<Code>SignatureDoesNotMatch</Code>" in wrong, wrong[:200])
    hdrs = sum([["-H", f"{k}: {v}"] for k, v in p["headers"].items() if k.lower() != "content-length"], [])
    out = json.loads(curl("-X", "PUT", *hdrs, "--data-binary", "@" + f.name, p["url"]))
check("curl presigned PUT answers the callback JSON", out.get("upload_id") == p["upload_id"] and out.get("status") == "completed", out)
check("  record completed, bytes identical", record(p["upload_id"])["status"] == "completed" and stored_bytes(p["key"]) == body)

# --- PostObject form, posted with curl the way a web page posts it ---------------------------
status, form = gw("POST", "/v1/uploads/form", {"profile": "documents", "filename": "form.txt", "content_type": "text/plain", "size": 11})
check("POST /v1/uploads/form", status == 200, form)
with tempfile.NamedTemporaryFile() as f:
    f.write(b"form upload")
    f.flush()
    fields = sum([["--form-string", f"{x['name']}={x['value']}"] for x in form["fields"]], [])
    out = curl(*fields, "-F", f"file=@{f.name};type=text/plain", form["url"])
    ans = json.loads(out)
    check("curl PostObject answers the callback JSON", ans.get("upload_id") == form["upload_id"], out[:300])
    too_big = curl(*fields, "-F", "file=@/etc/os-release;type=text/plain", form["url"])
    check("curl PostObject of another size -> refused by the policy", b"AccessDenied" in too_big, too_big[:200])
check("  record completed", record(form["upload_id"])["status"] == "completed")

# --- AppendObject twice through the gateway's append URLs, then confirm ----------------------
status, a1 = gw("POST", "/v1/uploads/append", {"profile": "documents", "filename": "log.txt", "content_type": "text/plain", "size": 4})
req = urllib.request.Request(a1["url"], data=b"one,", method="POST", headers={k: v for k, v in a1["headers"].items() if k.lower() != "content-length"})
with urllib.request.urlopen(req) as r:
    nxt = int(r.headers["x-oss-next-append-position"])
status, a2 = gw("POST", "/v1/uploads/append", {"upload_id": a1["upload_id"], "position": nxt, "size": 3})
req = urllib.request.Request(a2["url"], data=b"two", method="POST", headers={k: v for k, v in a2["headers"].items() if k.lower() != "content-length"})
urllib.request.urlopen(req).close()
status, rec = gw("POST", f"/v1/uploads/{a1['upload_id']}/confirm")
check("append twice + confirm completes the record", status == 200 and rec["status"] == "completed" and rec["size"] == 7, rec)
check("  bytes identical", stored_bytes(a1["key"]) == b"one,two")

# --- POST /v1/uploads: the gateway picks one PUT or a multipart upload by size ---------------
def put_file(url, headers, data):
    """curl PUT with exactly the signed headers (and none of curl's own Content-Type)."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        hdrs = sum([["-H", f"{k}: {v}"] for k, v in headers.items() if k.lower() != "content-length"], [])
        if not any(k.lower() == "content-type" for k in headers):
            hdrs += ["-H", "Content-Type:"]
        return curl("-X", "PUT", "-w", "\n%{http_code}", *hdrs, "--data-binary", "@" + f.name, url)


small = os.urandom(4321)
status, c = gw("POST", "/v1/uploads", {"profile": "documents", "filename": "small.bin", "content_type": "application/octet-stream", "size": len(small)})
check("POST /v1/uploads below the threshold -> one presigned PUT", status == 201 and c["strategy"] == "single" and "put" in c, c)
out = put_file(c["put"]["url"], c["put"]["headers"], small)
check("  curl PUT answers 200", out.endswith(b"200"), out[-300:])
check("  record completed, bytes identical", record(c["upload_id"])["status"] == "completed" and stored_bytes(c["key"]) == small)

big = os.urandom(8 * 1024 * 1024 + 777)
status, c = gw("POST", "/v1/uploads", {"profile": "documents", "filename": "big.bin", "content_type": "application/octet-stream", "size": len(big)})
mp = c.get("multipart") or {}
check("POST /v1/uploads above the threshold -> multipart, 9 parts, all part URLs", status == 201 and c["strategy"] == "multipart" and mp.get("part_count") == 9 and len(mp.get("parts", [])) == 9, c)
for part in mp["parts"]:
    n, size = part["part_number"], mp["part_size"]
    out = put_file(part["url"], part["headers"], big[(n - 1) * size:n * size])
    if not out.endswith(b"200"):
        check(f"  part {n} PUT", False, out[-300:])
status, done = gw("POST", f"/v1/multipart/{c['upload_id']}/complete")
check("  complete (every listed part) -> record completed", status == 200 and done["status"] == "completed" and done["size"] == len(big), done)
check("  bytes identical, 9 parts", stored_bytes(c["key"]) == big and done["etag"].endswith("-9"), done.get("etag"))

# --- a PostObject form whose client names the object under its prefix ------------------------
note = b"named by the client"
status, form = gw("POST", "/v1/uploads/form", {"profile": "inbox", "filename": "note.txt", "content_type": "text/plain", "size": len(note)})
check("POST /v1/uploads/form with a client-chosen name -> a prefix", status == 200 and form["key_is_prefix"], form)
key = form["key"] + "my-note.txt"
with tempfile.NamedTemporaryFile() as f:
    f.write(note)
    f.flush()
    fields = sum([["--form-string", f"{x['name']}={x['value']}"] for x in form["fields"]], [])
    out = curl("--form-string", f"key={key}", *fields, "-F", f"file=@{f.name};type=text/plain", form["url"])
ans = json.loads(out)
check("  storage's callback is accepted", ans.get("upload_id") == form["upload_id"] and ans.get("status") == "completed", out[:300])
rec = record(form["upload_id"])
check("  record completed under the chosen key, bytes identical", rec["status"] == "completed" and rec["key"] == key and stored_bytes(key) == note, rec)

# --- Uppy's GET /s3/params with a profile whose keys are prefixes ----------------------------
status, params = gw("GET", f"/s3/params?filename=u.txt&type=text/plain&size={len(note)}&metadata%5Bprofile%5D=inbox")
check("GET /s3/params (prefix profile)", status == 200 and params["fields"]["key"].endswith(params["uploadId"]), params)
with tempfile.NamedTemporaryFile() as f:
    f.write(note)
    f.flush()
    fields = sum([["--form-string", f"{k}={v}"] for k, v in params["fields"].items()], [])
    out = curl(*fields, "-F", f"file=@{f.name};type=text/plain", params["url"])
rec = record(params["uploadId"])
check("  Uppy-style form post -> record completed, bytes identical", rec["status"] == "completed" and stored_bytes(rec["key"]) == note, [out[:200], rec])

print(f"clients e2e: {checks} checks passed (oss2 {oss2.__version__}, {curl('--version').split()[1].decode()} curl)")
