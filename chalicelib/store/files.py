"""Files in S3: exports and generated workbooks handed out through short-lived presigned links; evidence files,
uploaded by the browser under the upload prefix and pinned, when attached, under a prefix no upload grant can
write.

`FilesStore` is the contract services rely on; this module's functions are its S3 implementation (the module itself
is the object: `chalicelib/store/stores.py` wires it), `chalicelib/store/memory.py` its in-memory one, and
`tests/unit/test_store_contract.py` runs the same cases against both (moto for S3)."""
from __future__ import annotations

import functools
from typing import Protocol
from urllib.parse import quote

from chalicelib.config import settings


class FilesStore(Protocol):
    """Generated files and evidence files, with what every implementation keeps:
    - `put_export` keeps a generated file and answers a link that downloads exactly those bytes; `get_export` reads
      them back; `put_snapshot` keeps a roster's rows and `get_snapshot` answers them as they were;
    - `presign_upload` grants the browser one POST of a file to exactly `key`, with `content_type` and the file name
      (percent-encoded) in the object's metadata ("filename"); the answer is {"url", "fields"};
    - `pin_upload` copies what arrived at `upload_key` to `pinned_key` and describes the copy: {"size", "sha256",
      "metadata", "content_type", "head"} (its first `head_bytes` bytes); None when nothing arrived. Whatever is
      posted to the upload key afterwards, the copy stays as it was;
    - `delete_evidence` removes a file, and removing one that is not there is no error;
    - `evidence_link` answers a link that downloads the file's bytes."""

    def put_export(self, key: str, data: bytes, content_type: str, filename: str, expires: int = 3600) -> str: ...

    def put_snapshot(self, key: str, rows: list[dict]) -> None: ...

    def get_snapshot(self, key: str) -> list[dict]: ...

    def get_export(self, key: str) -> bytes: ...

    def presign_upload(self, key: str, content_type: str, filename: str, max_bytes: int,
                       expires: int = 900) -> dict: ...

    def pin_upload(self, upload_key: str, pinned_key: str, head_bytes: int = 16) -> dict | None: ...

    def delete_evidence(self, key: str) -> None: ...

    def evidence_link(self, key: str, filename: str, expires: int = 900) -> str: ...


@functools.lru_cache(maxsize=1)
def _s3():
    import boto3

    return boto3.client("s3", region_name=settings().region)


def put_export(key: str, data: bytes, content_type: str, filename: str, expires: int = 3600) -> str:
    """Store a generated file and return a link that downloads it under `filename` for `expires` seconds."""
    bucket = settings().exports_bucket
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    _s3().put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type, ContentDisposition=disposition)
    return _s3().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)


def put_snapshot(key: str, rows: list[dict]) -> None:
    """A frozen copy of a roster as sent (compressed JSON in the evidence bucket)."""
    import gzip
    import json

    _s3().put_object(Bucket=settings().evidence_bucket, Key=key, ContentType="application/json",
                     ContentEncoding="gzip", Body=gzip.compress(json.dumps(rows, ensure_ascii=False).encode(), 6))


def get_snapshot(key: str) -> list[dict]:
    import gzip
    import json

    body = _s3().get_object(Bucket=settings().evidence_bucket, Key=key)["Body"].read()
    return json.loads(gzip.decompress(body))


def get_export(key: str) -> bytes:
    return _s3().get_object(Bucket=settings().exports_bucket, Key=key)["Body"].read()


# ---------------------------------------------------------------------------------- evidence (self-assessment)

def presign_upload(key: str, content_type: str, filename: str, max_bytes: int, expires: int = 900) -> dict:
    """A presigned POST the browser uses to send one evidence file straight to S3 (size-limited, fixed key and
    type). The original file name travels percent-encoded in the object's metadata."""
    bucket = settings().evidence_bucket
    name = quote(filename, safe="")
    fields = {"Content-Type": content_type, "x-amz-meta-filename": name}
    conditions = [{"Content-Type": content_type}, {"x-amz-meta-filename": name},
                  ["content-length-range", 1, max_bytes]]
    return _s3().generate_presigned_post(bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires)


def pin_upload(upload_key: str, pinned_key: str, head_bytes: int = 16) -> dict | None:
    """Copy the upload at `upload_key`, server-side, to `pinned_key` (a prefix no upload grant can write) and describe
    the copy: size, SHA-256, metadata, content type and first bytes. None if nothing arrived. Whatever the grant
    posts afterwards, the copy does not change: what the caller checks is the copy, and it is what is kept."""
    import hashlib

    from botocore.exceptions import ClientError

    bucket = settings().evidence_bucket
    try:
        # a server-side copy under a prefix no upload grant can write: later posts to the upload key leave it alone
        _s3().copy_object(Bucket=bucket, Key=pinned_key, CopySource={"Bucket": bucket, "Key": upload_key},
                          MetadataDirective="COPY")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    got = _s3().get_object(Bucket=bucket, Key=pinned_key)
    digest, size, first = hashlib.sha256(), 0, b""
    for chunk in got["Body"].iter_chunks(1024 * 1024):
        if len(first) < head_bytes:
            first += chunk[:head_bytes - len(first)]
        digest.update(chunk)
        size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest(), "metadata": got.get("Metadata") or {},
            "content_type": got.get("ContentType"), "head": first}


def delete_evidence(key: str) -> None:
    _s3().delete_object(Bucket=settings().evidence_bucket, Key=key)


def evidence_link(key: str, filename: str, expires: int = 900) -> str:
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return _s3().generate_presigned_url("get_object", Params={
        "Bucket": settings().evidence_bucket, "Key": key, "ResponseContentDisposition": disposition},
        ExpiresIn=expires)
