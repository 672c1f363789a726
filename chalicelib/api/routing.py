"""The one decorator every route goes through.

It registers the route with its OpenAPI description (so the published spec cannot drift from the app),
authenticates the caller, enforces the role and, for unit-scoped paths, the unit, maps domain errors to
the JSON error shape, and serialises the result."""
from __future__ import annotations

import functools
import json
import re
import time
from msgspec import Struct, field
from datetime import datetime
from collections.abc import Mapping
from typing import Any, Callable, overload

from chalice import Blueprint, CORSConfig, Response
from chalice.app import Request

from chalicelib import observability as obs
from chalicelib.config import settings
from chalicelib.domain.access import Actor, require_moha, require_unit
from chalicelib.errors import BadRequestError, ForbiddenError, PayloadTooLargeError, error_body, maps_errors
from chalicelib.runtime import runtime

JSON_TYPE = "application/json; charset=utf-8"
# Generous enough that an over-long field is refused by its own rule, naming the field, rather than by this limit.
MAX_JSON_BODY = 256 * 1024
CORS = CORSConfig(allow_origin=settings().cors_origin, max_age=600,
                  allow_headers=["Authorization", "X-Survey-Token", "Content-Type"],
                  expose_headers=["Retry-After", "Content-Disposition"])


class RouteSpec(Struct):
    path: str
    method: str
    summary: str
    auth: bool
    roles: tuple[str, ...]
    request: dict | None
    response: dict | None
    status: int
    content_types: list[str] | None
    query: dict[str, dict] = field(default_factory=dict)
    produces: str = "application/json"
    errors: tuple[int, ...] = ()
    headers: dict[str, dict] = field(default_factory=dict)
    unit_kind: str | None = None  # "province" | "ministry": the only kind of unit (and unit account) it serves


SPECS: list[RouteSpec] = []


class Ctx(Struct):
    """What a view needs from the request, already checked."""
    request: Request
    signed_in: Actor | None  # None only on routes declared with auth=False
    session_hash: str | None  # the hash of the session's token; None as `signed_in`
    source_ip: str
    now: datetime

    @property
    def actor(self) -> Actor:
        """The signed-in account; a route declared with auth=False has none to read."""
        if self.signed_in is None:
            raise RuntimeError("this route is declared without authentication and has no actor")
        return self.signed_in

    @property
    def token_hash(self) -> str:
        """The hash of the signed-in session's token; a route declared with auth=False has none."""
        if self.session_hash is None:
            raise RuntimeError("this route is declared without authentication and has no session")
        return self.session_hash

    def body(self) -> bytes:
        """The raw request body as bytes (chalice types it `str | bytes`; it is bytes for every content type the
        routes accept, and an empty body is b"")."""
        raw = self.request.raw_body or b""
        return raw.encode("utf-8") if isinstance(raw, str) else raw

    def json(self, limit: int = MAX_JSON_BODY, too_large: str | None = None) -> dict:
        """The body as a JSON object ({} when empty); `too_large` is the message for a body over `limit` bytes."""
        raw = self.body()
        if len(raw) > limit:
            raise PayloadTooLargeError(too_large or f"Nội dung yêu cầu quá lớn (tối đa {limit // 1024} KB).")
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, integers over 4,300 digits, nesting too deep
            raise BadRequestError("Nội dung yêu cầu phải là JSON hợp lệ (UTF-8).") from None
        if not isinstance(body, dict):
            raise BadRequestError("Nội dung yêu cầu phải là một đối tượng JSON.")
        return body

    @overload
    def query(self, name: str) -> str | None: ...

    @overload
    def query(self, name: str, default: str) -> str: ...

    def query(self, name: str, default: str | None = None) -> str | None:
        params: Mapping[str, str] = self.request.query_params or {}
        return params.get(name, default)

    def suffix(self) -> str:
        return runtime.random_bytes(4).hex()


def source_ip(request: Request) -> str:
    """API Gateway's view of the peer; never a client-sent X-Forwarded-For."""
    return ((request.context or {}).get("identity") or {}).get("sourceIp") or "0.0.0.0"


def route(bp: Blueprint, path: str, method: str = "GET", *, summary: str, auth: bool = True,
          roles: tuple[str, ...] = (), request: dict | None = None, response: dict | None = None,
          status: int = 200, content_types: list[str] | None = None, query: dict[str, dict] | None = None,
          produces: str = "application/json", errors: tuple[int, ...] = (),
          before_password_change: bool = False, headers: dict[str, dict] | None = None,
          unit_kind: str | None = None) -> Callable:
    """`unit_kind`: the route serves only units of that kind ("province": the survey's steps) and their accounts;
    another kind's account gets 403, another kind's unit 404."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        SPECS.append(RouteSpec(path, method, summary, auth, roles, request, response, status, content_types,
                               query or {}, produces, errors, headers or {}, unit_kind))
        unit_scoped = "{unit}" in path

        @maps_errors
        @functools.wraps(view)
        def handler(**params: str) -> Any:
            from chalicelib.services import auth as auth_service

            req = bp.current_request
            obs.bind(campaign=params.get("cid"), unit=params.get("unit"), action=view.__name__)
            ip = source_ip(req)
            now = runtime.now()
            actor, token_hash = None, None
            if auth:
                actor, token_hash = auth_service.authenticate(req.headers.get("authorization"), ip, now)
                if actor.must_change_password and not before_password_change:
                    raise ForbiddenError("Bạn cần đổi mật khẩu được cấp trước khi sử dụng phần mềm.",
                                         code="password_change_required")
                if "moha" in roles:
                    require_moha(actor)
                if unit_scoped:
                    require_unit(actor, params["unit"])
                if unit_kind:
                    from chalicelib.services import unit_kinds

                    unit_kinds.require_kind(actor, unit_kind, params.get("cid"), params.get("unit"))
            result = view(Ctx(req, actor, token_hash, ip, now), **params)
            if isinstance(result, Response):
                return result
            return Response(body=json.dumps(result, ensure_ascii=False), status_code=status,
                            headers={"Content-Type": JSON_TYPE, "Cache-Control": "no-store"})

        # chalice refuses a request whose Content-Type is not listed (415, answered by chalice_errors_in_our_shape);
        # a route that takes no body has nothing to refuse.
        kwargs: dict[str, Any] = {"methods": [method], "cors": CORS,
                                  "content_types": content_types or (["application/json"] if request else ["*/*"])}
        bp.route(path, **kwargs)(handler)
        return handler

    return decorate


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


_CHALICE_MESSAGES = {
    405: "Đường dẫn này không hỗ trợ phương thức {method}.",
    500: "Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau.",
}


# On every answer of the API, errors included: nothing it says is for a shared cache (sessions, answers, personal
# data), and no browser guesses a type other than the one declared.
API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def chalice_errors_in_our_shape(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: the answers chalice gives by itself, before or after a view (a Content-Type the route does not
    take, a binary file asked for without a matching Accept header, an unknown method, a crash outside a view), get
    the API's JSON error shape and a Vietnamese message like every other error; every answer gets API_HEADERS.
    It is also the request's log scope: a correlation id (API Gateway's request id), one line per request with its
    status and duration, and the Api4xx / Api5xx metrics."""
    context = (event.context or {}) if event is not None else {}
    with obs.scope(context.get("requestId")):
        started = time.monotonic()
        response = _in_our_shape(event, get_response(event))
        response.headers = {**(response.headers or {}), **API_HEADERS}
        _log_request(event, context, response.status_code, started)
    return response


def _log_request(event: Request, context: dict, status: int, started: float) -> None:
    """One line per request: the route's template, never the path itself (it may hold a search or a name)."""
    fields = {"method": (event.method or "").upper() if event is not None else "",
              "route": context.get("resourcePath") or "", "status": status,
              "duration_ms": round((time.monotonic() - started) * 1000, 1)}
    if status >= 500:
        obs.error("request failed", **fields)
        obs.metric(obs.API_5XX, route=fields["route"], status=status)
    elif status >= 400:
        obs.info("request refused", **fields)
        obs.metric(obs.API_4XX, route=fields["route"], status=status)
    else:
        obs.info("request", **fields)


def _in_our_shape(event: Request, response: Response) -> Response:
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    status = response.status_code
    method = (event.method or "").upper() if event is not None else ""
    resource = ((event.context or {}).get("resourcePath") if event is not None else None) or ""
    spec = next((s for s in SPECS if s.path == resource and s.method == method), None)
    headers = {k: v for k, v in (response.headers or {}).items() if k.lower() != "content-type"}
    if status == 415:
        sent = str(event.headers.get("content-type") or "") if event is not None and event.headers else ""
        accepted = ", ".join((spec.content_types if spec and spec.content_types else None) or ["application/json"])
        code, message = "unsupported_media_type", (f"Kiểu nội dung “{sent[:100]}” không được chấp nhận; hãy gửi "
                                                  f"nội dung kiểu {accepted} (tiêu đề Content-Type).")
    elif status == 400 and spec is not None and spec.produces != "application/json":
        code, message = "bad_request", f"Yêu cầu tải tệp cần tiêu đề Accept: {spec.produces} (hoặc */*)."
    elif status >= 500:
        code, message = "internal_error", _CHALICE_MESSAGES[500]
    else:
        code = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            status, "bad_request")
        message = _CHALICE_MESSAGES.get(status, "Yêu cầu không hợp lệ.").format(method=method)
    return Response(body=json.dumps(error_body(code, message), ensure_ascii=False), status_code=status,
                    headers={**headers, "Content-Type": JSON_TYPE})
