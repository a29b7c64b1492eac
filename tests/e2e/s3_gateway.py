"""The gateway binary with an S3 bucket on a real Garage, driven by plain HTTP clients and
read back with AWS's own SDK (boto3):

1. POST /v1/uploads (single): a urllib PUT with exactly the answered headers lands; the same
   URL with another Content-Type or size is refused by Garage; confirm completes the record
   with Garage's size and ETag; boto3 reads the bytes and sees the binding metadata.
2. POST /v1/uploads/form: a multipart/form-data POST lands; confirm completes; boto3 reads it.
3. POST /v1/uploads above the threshold: multipart, every part PUT by curl, completed through
   the gateway; boto3 reads back the same bytes.
4. An object written with the bucket's own key (boto3 put_object, no binding) at an upload's
   key: confirm answers 409 object-binding-mismatch.
5. With S3_BROWSER=1: @uppy/aws-s3 in headless Chromium through the gateway's /s3 routes
   (tests/e2e/browser/s3_uppy.mjs), after boto3 gives the bucket the CORS rules a browser
   needs (ETag exposed).

Needs GARAGE_BIN, UPLOAD_GATEWAY_BIN and redis-server on PATH.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_boto3 import AK, BUCKET, REGION, SK, client, free_port, start_garage, wait_ready  # noqa: E402

API_KEY = "s3-e2e-api-key"
GATEWAY = os.environ["UPLOAD_GATEWAY_BIN"]
MIB = 1024 * 1024


def config(workdir, gw_port, redis_port, garage, page_port):
    return f"""
[server]
listen = "127.0.0.1:{gw_port}"
public_url = "http://127.0.0.1:{gw_port}"
[log]
format = "json"
level = "info"
[redis]
url = "redis://127.0.0.1:{redis_port}"
key_prefix = "ugw-s3-e2e"
[[auth.api_keys]]
name = "e2e"
user = "s3-e2e-user"
sha256 = "{hashlib.sha256(API_KEY.encode()).hexdigest()}"
[security]
ticket_secret = "s3-e2e-ticket-secret-0123"
[cors]
allowed_origins = ["http://127.0.0.1:{page_port}"]
[uppy]
profile = "files"
[callbacks]
journal_dir = "{workdir}/journal"
[buckets.garage]
provider = "s3"
bucket = "{BUCKET}"
endpoint = "{garage}"
region = "{REGION}"
url_style = "path"
access_key_id = "{AK}"
access_key_secret = "{SK}"
[profiles.files]
bucket = "garage"
key_template = "files/{{user}}/{{upload_id}}-{{filename}}"
max_size_bytes = 104857600
content_types = ["text/*", "application/octet-stream"]
kinds = ["presign", "form", "multipart"]
multipart_threshold_bytes = 6291456
"""


def api(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"X-Api-Key": API_KEY, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def put(url, body, headers):
    req = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def form_post(url, fields, file_bytes, content_type):
    boundary = "ugwS3e2eBoundary"
    parts = []
    for name, value in fields:
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode())
    parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
                 f"Content-Type: {content_type}\r\n\r\n".encode() + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    req = urllib.request.Request(url, data=b"".join(parts), method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_http(url):
    for _ in range(300):
        try:
            with urllib.request.urlopen(url) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {url}")


def check(failures, ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(base, s3, failures):
    # 1. single PUT
    body = b"hello from boto3's side of the gateway\n"
    st, up = api(base, "POST", "/v1/uploads", {"profile": "files", "filename": "note.txt",
                                                "content_type": "text/plain", "size": len(body)})
    check(failures, st == 201 and up.get("strategy") == "single", f"POST /v1/uploads single: {st}")
    p = up["put"]
    headers = dict(p["headers"])
    check(failures, "x-amz-meta-ugw-binding" in headers, "the presigned PUT requires the binding header")
    check(failures, put(p["url"], body, dict(headers, **{"Content-Type": "text/html"})) == 403,
          "Garage refuses the URL with another Content-Type")
    check(failures, put(p["url"], body + b"x", dict(headers, **{"Content-Length": str(len(body) + 1)})) == 403,
          "Garage refuses the URL with another size")
    check(failures, put(p["url"], body, headers) == 200, "the PUT with exactly the answered headers lands")
    st, rec = api(base, "POST", f"/v1/uploads/{up['upload_id']}/confirm", {})
    head = s3.head_object(Bucket=BUCKET, Key=up["key"])
    check(failures, st == 200 and rec.get("status") == "completed" and rec.get("size") == len(body)
          and rec.get("etag") == head["ETag"].strip('"'), "confirm completes with Garage's size and ETag")
    got = s3.get_object(Bucket=BUCKET, Key=up["key"])
    check(failures, got["Body"].read() == body and got["ContentType"] == "text/plain"
          and "ugw-binding" in got["Metadata"], "boto3 reads back the bytes, type and binding")

    # 2. form
    st, f = api(base, "POST", "/v1/uploads/form", {"profile": "files", "filename": "form.txt",
                                                    "content_type": "text/plain", "size": 6})
    fields = [(x["name"], x["value"]) for x in f["fields"]]
    check(failures, form_post(f["url"], fields, b"form!!!", "text/plain") in (400, 403),
          "Garage refuses the form with another size")
    check(failures, form_post(f["url"], fields, b"form!!", "text/plain") == 200, "the form POST lands")
    st, rec = api(base, "POST", f"/v1/uploads/{f['upload_id']}/confirm", {})
    check(failures, st == 200 and rec.get("status") == "completed", f"confirm completes the form upload: {st}")
    check(failures, s3.get_object(Bucket=BUCKET, Key=f["key"])["Body"].read() == b"form!!",
          "boto3 reads back the form's bytes")

    # 3. multipart with curl
    data = os.urandom(11 * MIB + 123)
    st, m = api(base, "POST", "/v1/uploads", {"profile": "files", "filename": "big.bin",
                                               "content_type": "application/octet-stream", "size": len(data)})
    check(failures, st == 201 and m.get("strategy") == "multipart", f"POST /v1/uploads multipart: {st}")
    mp = m["multipart"]
    uid = m["upload_id"]
    size = mp["part_size"]
    n = mp["part_count"]
    st, signed = api(base, "POST", f"/v1/multipart/{uid}/parts", {"part_numbers": list(range(1, n + 1))})
    with tempfile.TemporaryDirectory() as d:
        for part in signed["parts"]:
            i = part["part_number"]
            path = os.path.join(d, f"p{i}")
            with open(path, "wb") as fh:
                fh.write(data[(i - 1) * size:i * size])
            cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--data-binary", f"@{path}"]
            for k, v in part["headers"].items():
                if k.lower() != "content-length":
                    cmd += ["-H", f"{k}: {v}"]
            code = subprocess.run(cmd + [part["url"]], capture_output=True, text=True).stdout
            check(failures, code == "200", f"curl PUT part {i}/{n}: {code}")
    st, done = api(base, "POST", f"/v1/multipart/{uid}/complete", {})
    check(failures, st == 200 and done.get("status") == "completed" and done.get("size") == len(data),
          f"multipart complete through the gateway: {st}")
    check(failures, s3.get_object(Bucket=BUCKET, Key=m["key"])["Body"].read() == data,
          "boto3 reads back the multipart object byte for byte")

    # 4. an object without the binding
    st, up = api(base, "POST", "/v1/uploads/presign", {"profile": "files", "filename": "x.txt",
                                                        "content_type": "text/plain", "size": 3})
    s3.put_object(Bucket=BUCKET, Key=up["key"], Body=b"abc", ContentType="text/plain")
    st, err = api(base, "POST", f"/v1/uploads/{up['upload_id']}/confirm", {})
    check(failures, st == 409 and err.get("code") == "object-binding-mismatch",
          f"confirm refuses an object written without the binding: {st} {err.get('code')}")


def browser(base, s3, page_port, failures):
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [f"http://127.0.0.1:{page_port}"],
        "AllowedMethods": ["GET", "PUT", "POST"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Location"],
    }]})
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, GATEWAY_URL=base, GATEWAY_API_KEY=API_KEY, PAGE_PORT=str(page_port))
    r = subprocess.run(["node", os.path.join(here, "browser", "s3_uppy.mjs")], env=env)
    check(failures, r.returncode == 0, "Uppy (@uppy/aws-s3) in Chromium against Garage")


def main():
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        garage, endpoint = start_garage(workdir)
        redis_port, gw_port, page_port = free_port(), free_port(), free_port()
        redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port),
                                  "--save", "", "--appendonly", "no", "--dir", workdir],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cfg = os.path.join(workdir, "gateway.toml")
        with open(cfg, "w") as fh:
            fh.write(config(workdir, gw_port, redis_port, endpoint, page_port))
        os.makedirs("target/tmp", exist_ok=True)
        log = open("target/tmp/e2e-s3-gateway.log", "a")
        gw = subprocess.Popen([GATEWAY, "serve", "--config", cfg], stdout=log, stderr=log)
        try:
            s3 = client(endpoint)
            wait_ready(s3)
            base = f"http://127.0.0.1:{gw_port}"
            wait_http(base + "/readyz")
            run(base, s3, failures)
            if os.environ.get("S3_BROWSER") == "1" and not failures:
                browser(base, s3, page_port, failures)
        finally:
            for p in (gw, redis, garage):
                p.kill()
                p.wait()
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print("s3_gateway: all checks passed")


if __name__ == "__main__":
    main()
