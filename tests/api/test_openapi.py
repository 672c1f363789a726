from app import app


def test_the_openapi_document_lists_exactly_the_routes_the_app_has(api):
    r = api.call("GET", "/openapi.json")
    assert r.status_code == 200
    doc = r.data
    assert doc["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    actual = {(m, p) for p, methods in app.routes.items() for m in methods}
    assert documented == actual
    # the organiser's routes say so by the organiser's role, which no assessed ministry can be confused with
    login = doc["paths"]["/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert login["properties"]["role"]["enum"] == ["moha", "province", "ministry"]
    assert doc["paths"]["/campaigns/{cid}/results"]["get"]["x-roles"] == ["moha"]
    assert doc["paths"]["/campaigns/{cid}/units/{unit}/ministry-survey"]["get"]["x-unit-kind"] == "ministry"


def test_every_operation_has_a_response_schema_and_error_shapes(api):
    doc = api.call("GET", "/openapi.json").data
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok, (method, path)
            [content] = op["responses"][ok[0]]["content"].values()
            assert "schema" in content
            if op["security"]:
                assert "401" in op["responses"], (method, path)
            if method in ("post", "put", "patch") and "requestBody" in op:
                assert "application/json" in op["requestBody"]["content"] or op["requestBody"]["content"]
    assert doc["components"]["schemas"]["Error"]["required"] == ["code", "message", "details"]


def test_cors_lets_the_static_site_send_bearer_tokens(api):
    # chalice.test's client cannot read a preflight's empty body, so ask its gateway directly
    r = api.client.http._local_gateway.handle_request(
        method="OPTIONS", path="/campaigns", body=None,
        headers={"origin": "http://127.0.0.1:8080", "access-control-request-method": "GET"})
    assert r["statusCode"] == 200
    assert "Authorization" in r["headers"]["Access-Control-Allow-Headers"]


def test_the_openapi_document_is_valid_for_a_standard_validator(api):
    # client generators reject documents a standard validator rejects
    from openapi_spec_validator import validate

    doc = api.call("GET", "/openapi.json").data
    validate(doc)
    question = doc["components"]["schemas"].get("Question") or _find_question(doc)
    assert question["properties"]["required"] == {"type": "boolean"}


def _find_question(doc: dict) -> dict:
    """The question schema wherever the document inlines it (an object with text, type and required)."""
    found: list[dict] = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict) and {"text", "type", "required"} <= set(props):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert found, "no question schema in the document"
    return found[0]


def test_a_schema_helper_cannot_swallow_a_property_named_required():
    from chalicelib.api.schemas import BOOL, STR, obj

    schema = obj(text=STR, required=BOOL)
    assert schema["properties"]["required"] == BOOL
    assert schema["required"] == ["text", "required"]
    assert obj(["text"], text=STR, required=BOOL)["required"] == ["text"]


def test_every_answer_of_the_api_is_uncacheable_and_typed_errors_included(api, tokens):
    """Success, domain errors, chalice's own refusals (415, 405) and binary downloads all carry Cache-Control: no-store
    and X-Content-Type-Options: nosniff. (An unknown path is answered by API Gateway itself, not by the function:
    its gateway responses get the same headers from the template, see tests/test_infra.py.)"""
    answers = {
        "ok": api.call("GET", "/health"),
        "unauthenticated": api.call("GET", "/campaigns"),
        "forbidden": api.call("GET", "/audit", token=tokens["01"]),
        "wrong content type": api.call("POST", "/auth/login", raw=b"x", headers={"content-type": "text/plain"}),
        "method": api.call("DELETE", "/health"),
        "binary": api.call("GET", "/campaigns/2021/roster-template.xlsx", token=tokens["01"],
                           headers={"accept": "*/*"}),
        "login refused": api.call("POST", "/auth/login", {"username": "tinh01", "password": "sai-mat-khau-1"}),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"ok": 200, "unauthenticated": 401, "forbidden": 403, "wrong content type": 415,
                        "method": 405, "binary": 200, "login refused": 401}, statuses
    for name, r in answers.items():
        assert r.headers.get("cache-control") == "no-store", name
        assert r.headers.get("x-content-type-options") == "nosniff", name
