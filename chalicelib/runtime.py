"""The clock and the source of randomness, passed to services by the API layer.

Kept in one object so tests (and the local simulator) can pin time without touching the code under test."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone


class Runtime:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def random_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


runtime = Runtime()
