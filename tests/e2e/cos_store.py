"""oss-local's COS listener against Tencent's own Python SDKs (cos-python-sdk-v5 for COS,
tencentcloud-sdk-python-sts for STS): what succeeds with the right key and what COS refuses.

Env: COS_ENDPOINT (host:port), COS_SECRET_ID, COS_SECRET_KEY, COS_BUCKET, COS_REGION.
"""

import hashlib
import json
import os
import sys
import urllib.parse
import urllib.request

from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

ENDPOINT = os.environ["COS_ENDPOINT"]
SID, SKEY = os.environ["COS_SECRET_ID"], os.environ["COS_SECRET_KEY"]
BUCKET, REGION = os.environ["COS_BUCKET"], os.environ["COS_REGION"]
HOST, PORT = ENDPOINT.split(":")

passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok   {what}")


def client(secret_id=SID, secret_key=SKEY, token=None):
    # IP/Port connect to loopback but keep the real Host, so host signing is exercised.
    return CosS3Client(CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key,
                                 Token=token, Scheme="http", IP=HOST, Port=int(PORT)),
                       retry=0)


def refused(fn, code, status, what):
    try:
        fn()
    except CosServiceError as e:
        assert e.get_error_code() == code, (what, e.get_error_code(), e.get_error_msg())
        assert e.get_status_code() == status, (what, e.get_status_code())
        ok(f"{what} -> {status} {code}")
        return e
    raise AssertionError(f"{what}: accepted")


c = client()
body = b"hello from cos-python-sdk-v5\n"
r = c.put_object(Bucket=BUCKET, Key="py/hello.txt", Body=body, ContentType="text/plain",
                 Metadata={"x-cos-meta-upload-id": "u-1"})
assert r["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), r
ok("put_object: ETag is the quoted lower-case MD5")
h = c.head_object(Bucket=BUCKET, Key="py/hello.txt")
assert int(h["Content-Length"]) == len(body) and h["x-cos-meta-upload-id"] == "u-1", h
assert h["Content-Type"] == "text/plain" and h["x-cos-object-type"] == "normal", h
assert h["x-cos-hash-crc64ecma"].isdigit(), h
ok("head_object: size, type, x-cos-meta-*, x-cos-hash-crc64ecma")
g = c.get_object(Bucket=BUCKET, Key="py/hello.txt")
assert g["Body"].get_raw_stream().read() == body
ok("get_object: same bytes")

# Presigned PUT (token-less, host signed) with urllib: the SDK makes the URL, plain HTTP uses it.
# The presigner signs the URL's hostname without its port (right for COS on 443), so the
# request sends exactly that Host.
url = c.get_presigned_url(Method="PUT", Bucket=BUCKET, Key="py/presigned.bin", Expired=300)
split = urllib.parse.urlsplit(url)
local = f"http://{ENDPOINT}{split.path}?{split.query}"
req = urllib.request.Request(local, data=b"presigned", method="PUT",
                             headers={"Host": split.hostname})
assert urllib.request.urlopen(req).status == 200
assert c.get_object(Bucket=BUCKET, Key="py/presigned.bin")["Body"].get_raw_stream().read() == b"presigned"
ok("presigned PUT URL from get_presigned_url")
req = urllib.request.Request(local, data=b"presigned", method="PUT",
                             headers={"Host": "other-1250000000.cos.%s.myqcloud.com" % REGION})
try:
    urllib.request.urlopen(req)
    raise AssertionError("presigned URL accepted for another Host")
except urllib.error.HTTPError as e:
    text = e.read().decode()
    assert e.code in (403, 404), e.code
    ok(f"presigned URL on another Host -> {e.code}")

# Multipart: 2 parts of 1 MiB and a short last one; the SDK's own upload_file as well.
key = "py/multi.bin"
data = os.urandom(2 * 1024 * 1024 + 1000)
up = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
parts = []
for i, off in enumerate(range(0, len(data), 1024 * 1024), start=1):
    chunk = data[off:off + 1024 * 1024]
    e = c.upload_part(Bucket=BUCKET, Key=key, Body=chunk, PartNumber=i, UploadId=up)["ETag"]
    assert e == '"%s"' % hashlib.md5(chunk).hexdigest(), e
    parts.append({"PartNumber": i, "ETag": e})
listed = c.list_parts(Bucket=BUCKET, Key=key, UploadId=up)
assert [p["ETag"] for p in listed["Part"]] == [p["ETag"] for p in parts], listed
ok("upload_part / list_parts: quoted lower-case MD5 ETags")
uploads = c.list_multipart_uploads(Bucket=BUCKET, Prefix=key)
assert any(u["UploadId"] == up for u in uploads["Upload"]), uploads
ok("list_multipart_uploads finds the upload")
done = c.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up,
                                   MultipartUpload={"Part": parts})
assert done["ETag"].endswith('-3"'), done
assert c.get_object(Bucket=BUCKET, Key=key)["Body"].get_raw_stream().read() == data
ok("complete_multipart_upload (chunked answer read to the end): same bytes")
small = c.create_multipart_upload(Bucket=BUCKET, Key="py/small.bin")["UploadId"]
e1 = c.upload_part(Bucket=BUCKET, Key="py/small.bin", Body=b"a" * 1000, PartNumber=1, UploadId=small)["ETag"]
e2 = c.upload_part(Bucket=BUCKET, Key="py/small.bin", Body=b"b", PartNumber=2, UploadId=small)["ETag"]
refused(lambda: c.complete_multipart_upload(
    Bucket=BUCKET, Key="py/small.bin", UploadId=small,
    MultipartUpload={"Part": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}),
    "EntityTooSmall", 400, "a part below 1 MB that is not the last")
c.abort_multipart_upload(Bucket=BUCKET, Key="py/small.bin", UploadId=small)
refused(lambda: c.list_parts(Bucket=BUCKET, Key="py/small.bin", UploadId=small),
        "NoSuchUpload", 404, "list_parts after abort")
with open("/tmp/cos-py-upload.bin", "wb") as f:
    f.write(data)
c.upload_file(Bucket=BUCKET, Key="py/upload_file.bin", LocalFilePath="/tmp/cos-py-upload.bin",
              PartSize=1, MAXThread=3)
assert c.get_object(Bucket=BUCKET, Key="py/upload_file.bin")["Body"].get_raw_stream().read() == data
ok("upload_file (multipart, 3 threads): same bytes")

# Append.
akey = "py/append.log"
c.delete_object(Bucket=BUCKET, Key=akey)
r = c.append_object(Bucket=BUCKET, Key=akey, Position=0, Data=b"first;")
assert r["x-cos-next-append-position"] == "6", r
r = c.append_object(Bucket=BUCKET, Key=akey, Position=6, Data=b"second")
assert r["x-cos-next-append-position"] == "12", r
assert c.get_object(Bucket=BUCKET, Key=akey)["Body"].get_raw_stream().read() == b"first;second"
assert c.head_object(Bucket=BUCKET, Key=akey)["x-cos-object-type"] == "appendable"
ok("append_object twice: next position, appendable object")
refused(lambda: c.append_object(Bucket=BUCKET, Key=akey, Position=3, Data=b"x"),
        "AppendPositionErr", 409, "append at a wrong position")
refused(lambda: c.append_object(Bucket=BUCKET, Key="py/hello.txt", Position=len(body), Data=b"x"),
        "ObjectNotAppendable", 409, "append to a normal object")

# Wrong secret: refused with COS's debugging elements.
bad = client(secret_key="WrongSecretKey00000000000000000")
e = refused(lambda: bad.put_object(Bucket=BUCKET, Key="py/bad.txt", Body=b"x"),
            "SignatureDoesNotMatch", 403, "wrong secret")
assert "<StringToSign>sha1\n" in e.get_origin_msg(), e.get_origin_msg()
ok("SignatureDoesNotMatch carries StringToSign")
refused(lambda: client(secret_id="AKIDUnknown").put_object(Bucket=BUCKET, Key="py/x", Body=b"x"),
        "InvalidAccessKeyId", 403, "unknown SecretId")
refused(lambda: c.get_object(Bucket=BUCKET, Key="py/missing"), "NoSuchKey", 404, "missing key")

# STS through Tencent's own STS SDK (TC3-HMAC-SHA256) against the stand-in.
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.sts.v20180813 import models, sts_client

appid = BUCKET.rsplit("-", 1)[1]
policy = {"version": "2.0", "statement": [{
    "effect": "allow",
    "action": ["name/cos:PutObject", "name/cos:InitiateMultipartUpload", "name/cos:UploadPart",
               "name/cos:CompleteMultipartUpload", "name/cos:ListParts"],
    "resource": [f"qcs::cos:{REGION}:uid/{appid}:{BUCKET}/py/user-42/*"]}]}


def federation_token(secret_key=SKEY):
    hp = HttpProfile(endpoint=ENDPOINT, protocol="http")
    sts = sts_client.StsClient(credential.Credential(SID, secret_key), REGION,
                               ClientProfile(httpProfile=hp))
    req = models.GetFederationTokenRequest()
    req.from_json_string(json.dumps({"Name": "user-42", "DurationSeconds": 900,
                                     "Policy": urllib.parse.quote(json.dumps(policy))}))
    return sts.GetFederationToken(req)


resp = federation_token()
cred = resp.Credentials
t = client(cred.TmpSecretId, cred.TmpSecretKey, cred.Token)
t.put_object(Bucket=BUCKET, Key="py/user-42/a.txt", Body=b"temp")
ok("GetFederationToken (TC3) -> credentials that put under the granted prefix")
try:
    federation_token("WrongSecretKey00000000000000000")
    raise AssertionError("STS accepted a wrong secret")
except TencentCloudSDKException as e:
    assert e.get_code() == "AuthFailure.SignatureFailure", e
    ok("STS with a wrong secret -> AuthFailure.SignatureFailure")
refused(lambda: t.put_object(Bucket=BUCKET, Key="py/user-43/a.txt", Body=b"temp"),
        "AccessDenied", 403, "temporary credentials outside the prefix")
refused(lambda: t.append_object(Bucket=BUCKET, Key="py/user-42/a.log", Position=0, Data=b"x"),
        "AccessDenied", 403, "temporary credentials, action not granted")
refused(lambda: client(cred.TmpSecretId, cred.TmpSecretKey, "forged-token").put_object(
    Bucket=BUCKET, Key="py/user-42/b.txt", Body=b"x"), "InvalidToken", 400, "a forged token")
url = t.get_presigned_url(Method="PUT", Bucket=BUCKET, Key="py/user-42/js-style.txt", Expired=300)
split = urllib.parse.urlsplit(url)
assert "x-cos-security-token" not in split.query
# As the JS and mini-program SDKs do: the token appended unsigned after signing.
query = split.query + "&x-cos-security-token=" + cred.Token
req = urllib.request.Request(f"http://{ENDPOINT}{split.path}?{query}", data=b"js",
                             method="PUT", headers={"Host": split.hostname})
assert urllib.request.urlopen(req).status == 200
ok("presigned PUT with temporary credentials, token appended unsigned")
req = urllib.request.Request(f"http://{ENDPOINT}{split.path}?{split.query}", data=b"js",
                             method="PUT", headers={"Host": split.hostname})
try:
    urllib.request.urlopen(req)
    raise AssertionError("temporary credentials accepted without their token")
except urllib.error.HTTPError as e:
    assert e.code == 400 and "<Code>InvalidToken</Code>" in e.read().decode(), e.code
    ok("the same URL without the token -> 400 InvalidToken")

print(f"cos-python-sdk-v5: {passed} checks passed against http://{ENDPOINT}")
