"""The OpenAPI 3 document, built from the routes as registered (see routing.route)."""
from __future__ import annotations

import functools

from chalicelib.api import schemas as s
from chalicelib.api.routing import SPECS, path_params

STATUS_TEXT = {400: "Yêu cầu không hợp lệ", 401: "Chưa đăng nhập", 403: "Không có quyền", 404: "Không tìm thấy",
               409: "Xung đột", 413: "Quá lớn", 415: "Sai kiểu nội dung", 422: "Dữ liệu không hợp lệ",
               423: "Đã hết thời hạn", 429: "Quá nhiều yêu cầu"}


@functools.lru_cache(maxsize=1)
def document() -> dict:
    paths: dict = {}
    for spec in SPECS:
        op: dict = {"summary": spec.summary, "operationId": f"{spec.method.lower()}_{spec.path}",
                    "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                   for p in path_params(spec.path)]
                    + [{"name": name, "in": "query", "required": False, "schema": schema}
                       for name, schema in spec.query.items()]
                    + [{"name": name, "in": "header", "required": True, "schema": schema}
                       for name, schema in spec.headers.items()]}
        content = {spec.produces: {"schema": spec.response or {}}}
        op["responses"] = {str(spec.status): {"description": "Thành công", "content": content}}
        errors = set(spec.errors)
        if spec.auth:
            op["security"] = [{"bearer": []}]
            errors |= {401}
            if spec.roles or "{unit}" in spec.path or spec.unit_kind:
                errors |= {403}
            if spec.unit_kind and "{unit}" in spec.path:
                errors |= {404}  # a unit of another kind
        else:
            op["security"] = []
        if spec.request is not None:
            types = spec.content_types or ["application/json"]
            op["requestBody"] = {"required": True, "content": {t: {"schema": spec.request} for t in types}}
            errors |= {400, 413, 415}  # 415: a Content-Type not listed in the request body's content
        if spec.produces != "application/json":
            errors |= {400}  # a file is sent only to a client whose Accept header takes it (API Gateway's rule)
        for code in sorted(errors):
            op["responses"][str(code)] = {"description": STATUS_TEXT.get(code, "Lỗi"),
                                          "content": {"application/json": {"schema": {"$ref":
                                                                                      "#/components/schemas/Error"}}}}
        if spec.roles:
            op["x-roles"] = list(spec.roles)  # "moha": the organiser only
        if spec.unit_kind:
            op["x-unit-kind"] = spec.unit_kind
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Chỉ số CCHC — API", "version": "1.0.0",
                 "description": "API của phần mềm xác định Chỉ số cải cách hành chính (Bộ Nội vụ)."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": s.ERROR}},
    }
