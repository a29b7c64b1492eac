"""The proof that `upload-gateway sign cos` signs as COS's own Python SDK does: for the same
inputs at the same clock, cos-python-sdk-v5's get_presigned_url and get_auth give the same
q-signature, the same path bytes and the same query. Run by scripts/test.sh with GATEWAY_BIN
pointing at the built binary; no network."""
import os
import subprocess
import sys
import types
from urllib.parse import parse_qsl, urlsplit

import qcloud_cos.cos_auth
from qcloud_cos import CosConfig, CosS3Client

GATEWAY = os.environ["GATEWAY_BIN"]
NOW = 1700000000
SID, SKEY = "AKIDFakeSecretId000000000000000000000", "FakeSecretKey0000000000000000000"
BUCKET, REGION = "examplebucket-1250000000", "ap-guangzhou"

# The SDK reads the clock inside the signer; pin it, as the vectors were computed.
qcloud_cos.cos_auth.time = types.SimpleNamespace(time=lambda: NOW)

checks = 0


def check(name, ok, detail=""):
    global checks
    checks += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n     " + detail))
    if not ok:
        sys.exit(1)


def ours(method, key, expired, headers, params, sign_host=True, endpoint=None, token=None,
         secret=SKEY):
    args = [GATEWAY, "sign", "cos", "--method", method, "--bucket", BUCKET, "--region", REGION,
            "--key", key, "--now", str(NOW), "--expires-in", str(expired)]
    for k, v in headers.items():
        args += ["--header", f"{k}: {v}"]
    for k, v in params.items():
        args += ["--param", f"{k}={v}" if v != "" else k]
    if not sign_host:
        args.append("--no-sign-host")
    if endpoint:
        args += ["--endpoint", endpoint]
    if token:
        args += ["--security-token", token]
    env = dict(os.environ, COS_SECRET_ID=SID, COS_SECRET_KEY=secret)
    out = subprocess.run(args, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        check(f"sign cos {key!r} ran", False, out.stderr)
    return out.stdout.strip()


def split(url):
    u = urlsplit(url)
    return u.netloc, u.path, sorted(parse_qsl(u.query, keep_blank_values=True))


def signature(url):
    return dict(parse_qsl(urlsplit(url).query))["q-signature"]


def compare(name, method, key, expired=3600, headers=None, params=None, sign_host=True,
            sdk_endpoint=None, our_endpoint=None, token=None):
    headers, params = headers or {}, params or {}
    conf = CosConfig(Region=REGION, SecretId=SID, SecretKey=SKEY, Scheme="https",
                     Endpoint=sdk_endpoint)
    client = CosS3Client(conf)
    sdk_params = dict(params)
    if token:
        # The Python SDK signs a token only as an explicit param (vector put_sts_token).
        sdk_params["x-cos-security-token"] = token
    # Copies: the SDK writes Authorization into the headers dict it is given.
    sdk_url = client.get_presigned_url(Bucket=BUCKET, Key=key, Method=method, Expired=expired,
                                       Headers=dict(headers), Params=dict(sdk_params),
                                       SignHost=sign_host)
    sdk_auth = client.get_auth(Method=method, Bucket=BUCKET, Key=key, Expired=expired,
                               Headers=dict(headers), Params=dict(sdk_params), SignHost=sign_host)
    url = ours(method, key, expired, headers, params, sign_host, our_endpoint, token)
    want = signature(sdk_url)
    check(f"{name}: q-signature", signature(url) == want, f"ours {url}\n     sdk  {sdk_url}")
    check(f"{name}: get_auth agrees", sdk_auth.endswith("&q-signature=" + want), sdk_auth)
    check(f"{name}: host, path bytes and query", split(url) == split(sdk_url),
          f"ours {split(url)}\n     sdk  {split(sdk_url)}")
    wrong = ours(method, key, expired, headers, params, sign_host, our_endpoint, token,
                 secret=SKEY[:-1] + "1")
    check(f"{name}: another secret disagrees", signature(wrong) != want)


compare("put plain", "PUT", "uploads/2023/photo.jpg")
compare("put, host unsigned", "PUT", "uploads/2023/photo.jpg", sign_host=False)
compare("put, type and length pinned", "PUT", "avatars/user-42/a.jpg", 900,
        headers={"Content-Type": "image/jpeg", "Content-Length": "48213"})
compare("put, md5 and x-cos headers in mixed case", "PUT", "docs/u/1/r.pdf", 600,
        headers={"Content-MD5": "mQ/fVh815F3k6TAUm8m0eg==", "X-Cos-Meta-Ticket": "t=1/2 3",
                 "x-cos-forbid-overwrite": "true"})
compare("put, unicode key", "PUT", "exampleobject(腾讯云)/照片 1.jpg",
        headers={"Content-Type": "text/plain"})
compare("put, reserved characters in the key", "PUT", "dir/a b+c&d=e~!'()*;,$@.txt")
compare("put, dot segments kept", "PUT", "dots/./x/../y.txt")
compare("put, temporary credentials", "PUT", "uploads/2023/photo.jpg",
        token="CAIS+test/security+token==/with+slash/and=plus")
compare("upload part", "PUT", "uploads/2023/big.bin",
        headers={"Content-Length": "1048576"},
        params={"partNumber": "3", "uploadId": "1700000000a1b2c3d4e5f60718293a4b5c6d7e8f"})
compare("append", "POST", "logs/u/7/app.log", 300,
        headers={"Content-Length": "4096"}, params={"append": "", "position": "8192"})
compare("head", "HEAD", "uploads/2023/photo.jpg", 60)
compare("accelerate endpoint", "PUT", "uploads/2023/photo.jpg",
        sdk_endpoint="cos.accelerate.myqcloud.com",
        our_endpoint="https://{bucket}.cos.accelerate.myqcloud.com")
print(f"cos-python-sdk-v5: {checks} checks passed")
