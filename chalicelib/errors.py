"""Domain errors and the one place that maps them to HTTP (docs/ARCHITECTURE.md, section 1).

Every error carries a stable machine code and a Vietnamese message for people;
`details` names the fields, rows or cells concerned.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

from chalicelib import observability as obs


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[Any] | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.extra = extra or {}
        if code:
            self.code = code
        self.headers = headers or {}


class BadRequestError(DomainError):
    status, code = 400, "bad_request"


class ValidationError(DomainError):
    status, code = 422, "validation_failed"


class AuthenticationError(DomainError):
    status, code = 401, "unauthenticated"


class ForbiddenError(DomainError):
    status, code = 403, "forbidden"


class NotFoundError(DomainError):
    status, code = 404, "not_found"


class ConflictError(DomainError):
    status, code = 409, "conflict"


class PayloadTooLargeError(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaTypeError(DomainError):
    status, code = 415, "unsupported_media_type"


class PhaseClosedError(DomainError):
    status, code = 423, "phase_closed"


class RateLimitedError(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, **kw: Any):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))}, **kw)
        self.retry_after = retry_after


def error_body(code: str, message: str, details: list[Any] | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON error shape; `extra` carries what a failed action still reports (e.g. an import's counts)."""
    return {**(extra or {}), "code": code, "message": message, "details": details or []}


def maps_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into the JSON error shape; hide anything unexpected behind a 500."""
    from chalice import Response  # chalice is already loaded wherever routes run

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            return Response(
                body=json.dumps(error_body(exc.code, exc.message, exc.details, exc.extra), ensure_ascii=False),
                status_code=exc.status,
                headers={"Content-Type": "application/json; charset=utf-8", **exc.headers},
            )
        except Exception:  # noqa: BLE001 - last line of defence, logged with its traceback
            obs.exception("unhandled error", view=func.__name__)
            return Response(
                body=json.dumps(error_body("internal_error", "Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau."),
                                ensure_ascii=False),
                status_code=500,
                headers={"Content-Type": "application/json; charset=utf-8"},
            )

    return wrapper
