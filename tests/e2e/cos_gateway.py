"""Tencent's Python COS SDK (cos-python-sdk-v5) through the gateway: temporary keys from
/v1/credentials/cos-sdk (issued by oss-local's TC3 STS stand-in), a simple and a multipart
upload straight to oss-local's COS listener, each confirmed to `completed` with the bytes
compared; outside the granted prefix storage refuses the keys (AccessDenied).

Env: GATEWAY_URL, GATEWAY_API_KEY, COS_ENDPOINT (host:port), COS_BUCKET, COS_REGION,
COS_PROFILE, COS_PREFIX, STORE_DATA_DIR; COS_TYPED_PROFILE / COS_TYPED_PREFIX: a profile
allowing image/* up to 8 MiB, whose limits the STS policy carries and the store enforces.
"""

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request

from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

GW, API_KEY = os.environ["GATEWAY_URL"], os.environ["GATEWAY_API_KEY"]
HOST, PORT = os.environ["COS_ENDPOINT"].split(":")
BUCKET, REGION = os.environ["COS_BUCKET"], os.environ["COS_REGION"]
PROFILE, PREFIX = os.environ["COS_PROFILE"], os.environ["COS_PREFIX"]
STORE = os.environ["STORE_DATA_DIR"]
passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok   {what}")


def gw(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(GW + path, data=data, method=method)
    req.add_header("X-Api-Key", API_KEY)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def stored(key):
    h = hashlib.sha256(key.encode()).hexdigest()
    with open(os.path.join(STORE, BUCKET, "objects", h + ".bin"), "rb") as f:
        return f.read()


status, sts = gw("GET", f"/v1/credentials/cos-sdk?profile={PROFILE}")
assert status == 200, sts
creds = sts["credentials"]
grant = sts["requestId"]
ok("GET /v1/credentials/cos-sdk: qcloud-cos-sts JSON")
# IP/Port connect to loopback but keep the bucket's real Host, so host signing is exercised.
c = CosS3Client(CosConfig(Region=REGION, SecretId=creds["tmpSecretId"], SecretKey=creds["tmpSecretKey"],
                          Token=creds["sessionToken"], Scheme="http", IP=HOST, Port=int(PORT)), retry=0)


def completes(key, data, what):
    status, rec = gw("POST", f"/v1/uploads/{grant}/confirm", {"key": key})
    assert status == 200, (what, rec)
    assert rec["status"] == "completed" and rec["kind"] == "sts" and rec["grant_id"] == grant, rec
    assert rec["size"] == len(data) and rec["key"] == key, rec
    assert stored(key) == data, f"{what}: stored bytes differ"
    ok(f"{what}: confirm -> record {rec['id']} completed ({rec['size']} bytes, etag {rec['etag']}), bytes identical")
    return rec


small = os.urandom(4321)
r = c.put_object(Bucket=BUCKET, Key=PREFIX + "py-simple.bin", Body=small)
assert r["ETag"] == '"%s"' % hashlib.md5(small).hexdigest(), r
ok("put_object with the temporary keys (x-cos-security-token)")
completes(PREFIX + "py-simple.bin", small, "put_object")

big = os.urandom(3 * 1024 * 1024 + 99)
with tempfile.NamedTemporaryFile() as f:
    f.write(big)
    f.flush()
    r = c.upload_file(Bucket=BUCKET, Key=PREFIX + "py-multi.bin", LocalFilePath=f.name, PartSize=1, MAXThread=2)
assert r["ETag"].strip('"').endswith("-4"), r
ok("upload_file: multipart, 4 parts of 1 MiB on 2 threads")
rec = completes(PREFIX + "py-multi.bin", big, "upload_file")
assert rec["etag"].endswith("-4"), rec

try:
    c.put_object(Bucket=BUCKET, Key="elsewhere/py.bin", Body=b"x")
    raise AssertionError("a put outside the prefix was accepted")
except CosServiceError as e:
    assert (e.get_status_code(), e.get_error_code()) == (403, "AccessDenied"), (e.get_status_code(), e.get_error_code())
ok("put_object outside the granted prefix -> 403 AccessDenied")
status, err = gw("POST", f"/v1/uploads/{grant}/confirm", {"key": "elsewhere/py.bin"})
assert (status, err["code"]) == (400, "invalid-object-key"), err
ok("confirm outside the prefix -> 400 invalid-object-key")

# The typed profile: its Content-Types and size are conditions of the STS policy.
status, sts = gw("GET", f"/v1/credentials/cos-sdk?profile={os.environ['COS_TYPED_PROFILE']}")
assert status == 200, sts
creds, grant, tp = sts["credentials"], sts["requestId"], os.environ["COS_TYPED_PREFIX"]
c = CosS3Client(CosConfig(Region=REGION, SecretId=creds["tmpSecretId"], SecretKey=creds["tmpSecretKey"],
                          Token=creds["sessionToken"], Scheme="http", IP=HOST, Port=int(PORT)), retry=0)
png = b"\x89PNG\r\n\x1a\n" + os.urandom(1000)
c.put_object(Bucket=BUCKET, Key=tp + "a.png", Body=png, ContentType="image/png")
completes(tp + "a.png", png, "typed profile: put_object image/png")
for what, kwargs in [("text/html", {"Body": b"<p>", "ContentType": "text/html"}),
                     ("9 MiB", {"Body": os.urandom(9 * 1024 * 1024), "ContentType": "image/png"})]:
    try:
        c.put_object(Bucket=BUCKET, Key=tp + "b.png", **kwargs)
        raise AssertionError(f"typed profile accepted {what}")
    except CosServiceError as e:
        assert (e.get_status_code(), e.get_error_code()) == (403, "AccessDenied"), (what, e.get_error_code())
ok("typed profile: put_object text/html and 9 MiB -> 403 AccessDenied (the policy's conditions)")
big = os.urandom(3 * 1024 * 1024 + 5)
with tempfile.NamedTemporaryFile() as f:
    f.write(big)
    f.flush()
    c.upload_file(Bucket=BUCKET, Key=tp + "big.png", LocalFilePath=f.name, PartSize=1, MAXThread=2,
                  ContentType="image/png")
ok("typed profile: upload_file multipart (the type condition is _if_exist, so UploadPart passes)")
completes(tp + "big.png", big, "typed profile: upload_file")
print(f"cos-python-sdk-v5 through the gateway: {passed} checks passed")
