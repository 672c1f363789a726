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


def get_export(key: str) -> bytes:
    return _s3().get_object(Bucket=settings().exports_bucket, Key=key)["Body"].read()
