"""The gateway's S3 signer against AWS's own SDK (boto3), on a real Garage.

1. A URL from `upload-gateway sign s3` PUTs bytes into Garage; boto3 reads them back, and
   the same URL refuses another Content-Type or size.
2. boto3's presigner and `upload-gateway sign s3` produce the same URL, byte for byte, for
   the same inputs (virtual-host and path style, Content-Type, session token, UploadPart,
   unicode keys). Runs offline: presigning needs no server.

Needs GARAGE_BIN (scripts/lib.sh ensure_garage) and UPLOAD_GATEWAY_BIN.
"""

import datetime
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config

AK = "GKboto3garage0000000000a"
SK = "TestGarageSecretKey0000000000000000000000000000000000000000boto3"
BUCKET = "boto3-checks"
REGION = "us-east-1"
GATEWAY = os.environ["UPLOAD_GATEWAY_BIN"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_garage(workdir):
    s3_port, rpc_port = free_port(), free_port()
    secret = os.path.join(workdir, "rpc_secret")
    with open(secret, "w") as f:
        f.write("5c" * 32)
    os.chmod(secret, 0o600)
    config = os.path.join(workdir, "garage.toml")
    with open(config, "w") as f:
        f.write(f"""metadata_dir = "{workdir}/meta"
data_dir = "{workdir}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret_file = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
""")
    env = dict(os.environ, GARAGE_DEFAULT_ACCESS_KEY=AK, GARAGE_DEFAULT_SECRET_KEY=SK,
               GARAGE_DEFAULT_BUCKET=BUCKET, RUST_LOG="garage=warn")
    log = open(os.path.join(workdir, "garage.log"), "w")
    proc = subprocess.Popen([os.environ["GARAGE_BIN"], "-c", config, "server", "--single-node",
                             "--default-bucket"], env=env, stdout=log, stderr=log)
    return proc, f"http://127.0.0.1:{s3_port}"


def client(endpoint, style="path", token=None):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION if "127.0.0.1" in endpoint else "eu-central-1",
        aws_access_key_id=AK, aws_secret_access_key=SK, aws_session_token=token,
        config=Config(signature_version="s3v4", s3={"addressing_style": style},
                      # Presigned URLs must not carry checksums the uploader cannot know.
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


def sign(endpoint, key, region, style, now, method="PUT", extra=()):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
    out = subprocess.run([GATEWAY, "sign", "s3", "--method", method, "--endpoint", endpoint,
                          "--bucket", BUCKET, "--key", key, "--region", region, "--url-style",
                          style, "--now", str(now), "--expires-in", "900", *extra],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def put(url, body, headers):
    req = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_ready(s3):
    deadline = time.time() + 30
    while True:
        try:
            s3.head_bucket(Bucket=BUCKET)
            return
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def check_round_trip(endpoint, failures):
    s3 = client(endpoint)
    wait_ready(s3)
    key = "uploads/user-1/ünï cödé+目录/note.txt"
    body = b"written through a gateway-signed URL\n"
    headers = {"Content-Type": "text/plain", "Content-Length": str(len(body))}
    url = sign(endpoint, key, REGION, "path", int(time.time()),
               extra=["--content-type", "text/plain", "--header", f"Content-Length: {len(body)}"])
    status = put(url, body, headers)
    if status != 200:
        failures.append(f"gateway-signed PUT: {status}")
        return
    got = s3.get_object(Bucket=BUCKET, Key=key)
    if got["Body"].read() != body or got["ContentType"] != "text/plain":
        failures.append("boto3 read back other bytes or type")
    for what, h, b in [("another type", dict(headers, **{"Content-Type": "text/html"}), body),
                       ("another size", {"Content-Type": "text/plain"}, body + b"x")]:
        status = put(url, b, h)
        if status != 403:
            failures.append(f"gateway-signed PUT with {what}: {status}, want 403")
    # And the reverse: a URL boto3 presigned, used the same way, lands where ours did.
    theirs = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key + ".2",
                                       "ContentType": "text/plain"}, ExpiresIn=900)
    if put(theirs, body, {"Content-Type": "text/plain"}) != 200:
        failures.append("boto3-presigned PUT refused")
    print(f"round trip: {len(body)} bytes via our URL, read back by boto3; refusals checked")


def amz_date_unix(url):
    stamp = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Date"][0]
    t = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp())


def same_url_up_to_parameter_order(a, b):
    ua, ub = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    qa = sorted(urllib.parse.parse_qsl(ua.query, keep_blank_values=True))
    qb = sorted(urllib.parse.parse_qsl(ub.query, keep_blank_values=True))
    return ua._replace(query="") == ub._replace(query="") and qa == qb


def check_presigners_agree(garage_endpoint, failures):
    aws = "https://s3.eu-central-1.amazonaws.com"
    cases = [
        ("path style, plain", garage_endpoint, "path", None, "put_object", {}),
        ("path style, unicode key + type", garage_endpoint, "path", None, "put_object",
         {"Key": "uploads/ü/目录/a b+c~d!$&'()*,;=@.txt", "ContentType": "image/jpeg"}),
        ("virtual host", aws, "virtual", None, "put_object", {"ContentType": "text/plain"}),
        ("virtual host, session token", aws, "virtual", "FwoGZXIvYXdzE//+token==", "put_object", {}),
        ("upload part", aws, "virtual", None, "upload_part", {"UploadId": "VXBsb2FkIElE+/=", "PartNumber": 3}),
        ("get", garage_endpoint, "path", None, "get_object", {"Key": "uploads/x y/z.bin"}),
    ]
    for name, endpoint, style, token, op, params in cases:
        s3 = client(endpoint, style, token)
        p = {"Bucket": BUCKET, "Key": "uploads/user-1/photo.jpg", **params}
        theirs = s3.generate_presigned_url(op, Params=p, ExpiresIn=900)
        extra = []
        if "ContentType" in p:
            extra += ["--content-type", p["ContentType"]]
        if token:
            extra += ["--session-token", token]
        if op == "upload_part":
            extra += ["--param", f"partNumber={p['PartNumber']}", "--param", f"uploadId={p['UploadId']}"]
        region = REGION if endpoint == garage_endpoint else "eu-central-1"
        method = "GET" if op == "get_object" else "PUT"
        ours = sign(endpoint, p["Key"], region, style, amz_date_unix(theirs), method, extra)
        if ours == theirs:
            print(f"presigners agree byte for byte: {name}")
        elif same_url_up_to_parameter_order(ours, theirs):
            # botocore versions order sub-resources differently (the signature does not care).
            print(f"presigners agree up to sub-resource order: {name}")
        else:
            # Names only: the URLs carry signatures.
            failures.append(f"presigners differ: {name}")


def main():
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        proc, endpoint = start_garage(workdir)
        try:
            check_round_trip(endpoint, failures)
            check_presigners_agree(endpoint, failures)
        finally:
            proc.kill()
            proc.wait()
            if failures:
                sys.stderr.write(open(os.path.join(workdir, "garage.log")).read()[-4000:])
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print("s3_boto3: all checks passed")


if __name__ == "__main__":
    main()
