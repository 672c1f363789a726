"""Files in S3: exports and generated workbooks handed out through short-lived presigned links."""
from __future__ import annotations

import functools
from urllib.parse import quote

from chalicelib.config import settings


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
