"""The proof that oss-local checks signatures as OSS does: Alibaba's own Python SDK (oss2)
works against it with the right key, in every signature form the product uses, and is refused
with a wrong one. Run by scripts/test.sh against a freshly started oss-local."""
import os
import sys

import oss2
from oss2.models import PartInfo

EP = os.environ["OSS_ENDPOINT"]
AK, SK = os.environ["OSS_AK"], os.environ["OSS_SK"]
BUCKET, REGION = os.environ["OSS_BUCKET"], os.environ["OSS_REGION"]

checks = 0


def check(name, ok):
    global checks
    checks += 1
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        sys.exit(1)


def refused(name, fn, code):
    try:
        fn()
    except oss2.exceptions.OssError as e:
        check(f"{name} -> {e.status} {e.code}", e.code == code)
        return
    check(f"{name} was accepted", False)


v1 = oss2.Bucket(oss2.Auth(AK, SK), EP, BUCKET)
v4 = oss2.Bucket(
    oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(AK, SK)), EP, BUCKET, region=REGION
)
data = os.urandom(350 * 1024)

for label, b in (("v1", v1), ("v4", v4)):
    key = f"sdk/{label}/hello.txt"
    r = b.put_object(key, b"hello", headers={"Content-Type": "text/plain"})
    check(f"{label} header-signed put_object", r.status == 200)
    got = b.get_object(key)
    check(f"{label} get_object bytes and type", got.read() == b"hello" and got.content_type == "text/plain")
    check(f"{label} head_object size", b.head_object(key).content_length == 5)

    key = f"sdk/{label}/big.bin"
    up = b.init_multipart_upload(key).upload_id
    p1 = b.upload_part(key, up, 1, data[: 200 * 1024])
    p2 = b.upload_part(key, up, 2, data[200 * 1024 :])
    parts = b.list_parts(key, up).parts
    check(f"{label} list_parts", [(p.part_number, p.size) for p in parts] == [(1, 204800), (2, 153600)])
    check(f"{label} list_multipart_uploads", key in [u.key for u in b.list_multipart_uploads(prefix=f"sdk/{label}/").upload_list])
    # (oss2 sorts the part list itself, so InvalidPartOrder is proven by the gateway tests.)
    refused(f"{label} complete with a wrong ETag", lambda: b.complete_multipart_upload(key, up, [PartInfo(1, p1.etag), PartInfo(2, '"' + "0" * 32 + '"')]), "InvalidPart")
    r = b.complete_multipart_upload(key, up, [PartInfo(1, p1.etag), PartInfo(2, p2.etag)])
    check(f"{label} complete_multipart_upload, bytes identical", r.status == 200 and b.get_object(key).read() == data)
    refused(f"{label} upload_part after completion", lambda: b.upload_part(key, up, 3, b"x"), "NoSuchUpload")

    small = b.init_multipart_upload(f"sdk/{label}/small.bin").upload_id
    s1 = b.upload_part(f"sdk/{label}/small.bin", small, 1, b"a" * 1000)
    s2 = b.upload_part(f"sdk/{label}/small.bin", small, 2, b"b")
    refused(f"{label} complete with a part under 100 KB", lambda: b.complete_multipart_upload(f"sdk/{label}/small.bin", small, [PartInfo(1, s1.etag), PartInfo(2, s2.etag)]), "EntityTooSmall")
    b.abort_multipart_upload(f"sdk/{label}/small.bin", small)
    refused(f"{label} list_parts after abort", lambda: b.list_parts(f"sdk/{label}/small.bin", small), "NoSuchUpload")

    url = b.sign_url("PUT", f"sdk/{label}/signed.txt", 60)
    check(f"{label} presigned PUT (sign_url)", b.put_object_with_url(url, b"presigned").status == 200)
    url = b.sign_url("PUT", f"sdk/{label}/typed.txt", 60, headers={"Content-Type": "text/plain"})
    refused(f"{label} presigned PUT with another Content-Type", lambda: b.put_object_with_url(url, b"x", headers={"Content-Type": "image/png"}), "SignatureDoesNotMatch")
    check(f"{label} presigned GET", b.get_object_with_url(b.sign_url("GET", f"sdk/{label}/signed.txt", 60)).read() == b"presigned")

    r = b.append_object(f"sdk/{label}/log.txt", 0, b"one,")
    r = b.append_object(f"sdk/{label}/log.txt", r.next_position, b"two")
    check(f"{label} append_object twice", b.get_object(f"sdk/{label}/log.txt").read() == b"one,two")
    refused(f"{label} append at a wrong position", lambda: b.append_object(f"sdk/{label}/log.txt", 1, b"x"), "PositionNotEqualToLength")

wrong_v1 = oss2.Bucket(oss2.Auth(AK, "wrong-secret"), EP, BUCKET)
refused("v1 wrong secret", lambda: wrong_v1.put_object("sdk/x", b"x"), "SignatureDoesNotMatch")
wrong_v4 = oss2.Bucket(oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(AK, "wrong")), EP, BUCKET, region=REGION)
refused("v4 wrong secret", lambda: wrong_v4.put_object("sdk/x", b"x"), "SignatureDoesNotMatch")
unknown = oss2.Bucket(oss2.Auth("NoSuchKeyId", SK), EP, BUCKET)
refused("unknown AccessKeyId", lambda: unknown.put_object("sdk/x", b"x"), "InvalidAccessKeyId")
expired = v1.sign_url("PUT", "sdk/expired.txt", -10)
refused("expired presigned URL", lambda: v1.put_object_with_url(expired, b"x"), "AccessDenied")

print(f"oss2 {oss2.__version__}: {checks} checks passed against {EP}")
