"""The PynamoDB connection transactions run on, made once per process.

A new Connection builds a botocore session and client, reading the service's JSON models from disk: that cost
(~100 ms of CPU) is more than the transaction itself, on every survey submit, every mail sent and every roster
row changed. Clients are thread-safe; the session is per thread inside the Connection."""
from __future__ import annotations

import functools

from pynamodb.connection import Connection

from chalicelib.config import settings


@functools.lru_cache(maxsize=1)
def transactions() -> Connection:
    return Connection(region=settings().region)
