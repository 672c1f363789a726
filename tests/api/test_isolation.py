"""Every route of the app, enumerated from the app itself, refuses callers who don't belong.

A new route is covered automatically: it must be described in the OpenAPI registry, refuse anonymous
callers unless public, refuse a foreign province on unit-scoped paths, and refuse provinces unless it is
listed below as a province's route; likewise an assessed ministry's account, refused on provinces, on other
ministries and on every route not listed as a ministry's."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app import app
from chalicelib.api.routing import SPECS

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PUBLIC = {("GET", "/health"), ("GET", "/openapi.json"), ("POST", "/auth/login"),
          # the respondent's routes: no account, the link's token is the credential
          ("GET", "/survey"), ("PUT", "/survey/draft"), ("POST", "/survey/submit")}
# Routes a province may call (on its own unit where the path has one). Anything else is ministry-only.
PROVINCE_MAY = {
    ("POST", "/auth/logout"), ("POST", "/auth/password"), ("GET", "/me"), ("GET", "/campaigns"),
    ("GET", "/campaigns/{cid}"),
    ("GET", "/campaigns/{cid}/units/{unit}/focal-person"), ("PUT", "/campaigns/{cid}/units/{unit}/focal-person"),
    ("GET", "/campaigns/{cid}/units/{unit}/notifications"), ("GET", "/campaigns/{cid}/roster-template.xlsx"),
    ("POST", "/campaigns/{cid}/units/{unit}/roster/imports"), ("GET", "/campaigns/{cid}/units/{unit}/roster"),
    ("POST", "/campaigns/{cid}/units/{unit}/roster"), ("PATCH", "/campaigns/{cid}/units/{unit}/roster/{rid}"),
    ("DELETE", "/campaigns/{cid}/units/{unit}/roster/{rid}"), ("POST", "/campaigns/{cid}/units/{unit}/roster/submit"),
    ("GET", "/campaigns/{cid}/units/{unit}/progress"), ("GET", "/campaigns/{cid}/units/{unit}/progress.xlsx"),
    ("POST", "/campaigns/{cid}/units/{unit}/reminders"), ("POST", "/campaigns/{cid}/units/{unit}/reminders/preview"),
    ("POST", "/campaigns/{cid}/units/{unit}/roster/{rid}/email"),
    ("POST", "/campaigns/{cid}/units/{unit}/roster/{rid}/email-requests"),
    ("GET", "/campaigns/{cid}/units/{unit}/address-changes"),
    ("GET", "/campaigns/{cid}/questionnaires"), ("GET", "/campaigns/{cid}/questionnaires/{qid}"),
    ("GET", "/campaigns/{cid}/questionnaires/{qid}/workbook"),
    ("GET", "/campaigns/{cid}/framework"), ("GET", "/campaigns/{cid}/units/{unit}/assessment"),
    ("PUT", "/campaigns/{cid}/units/{unit}/assessment/items/{code}"),
    ("POST", "/campaigns/{cid}/units/{unit}/assessment/evidence"),
    ("POST", "/campaigns/{cid}/units/{unit}/assessment/approve"),
    ("GET", "/campaigns/{cid}/units/{unit}/mail"), ("POST", "/campaigns/{cid}/units/{unit}/mail/preflight"),
}
# Routes an assessed ministry's account may call (on its own unit where the path has one): its campaigns and phases,
# its notifications, the questionnaires and framework, its self-assessment and its survey counts. Nothing of the
# survey's province side (roster, focal person, progress, reminders, mail, address changes) and nothing of the
# organiser's.
MINISTRY_MAY = {
    ("POST", "/auth/logout"), ("POST", "/auth/password"), ("GET", "/me"), ("GET", "/campaigns"),
    ("GET", "/campaigns/{cid}"), ("GET", "/campaigns/{cid}/units/{unit}/notifications"),
    ("GET", "/campaigns/{cid}/questionnaires"), ("GET", "/campaigns/{cid}/questionnaires/{qid}"),
    ("GET", "/campaigns/{cid}/questionnaires/{qid}/workbook"),
    ("GET", "/campaigns/{cid}/framework"), ("GET", "/campaigns/{cid}/units/{unit}/assessment"),
    ("PUT", "/campaigns/{cid}/units/{unit}/assessment/items/{code}"),
    ("POST", "/campaigns/{cid}/units/{unit}/assessment/evidence"),
    ("POST", "/campaigns/{cid}/units/{unit}/assessment/approve"),
    ("GET", "/campaigns/{cid}/units/{unit}/ministry-survey"),
}
SAMPLE = {"cid": "demo", "unit": "01", "phase": "roster"}

ROUTES = sorted((method, path) for path, methods in app.routes.items() for method in methods)


def concrete(path: str, **override: str) -> str:
    values = {**SAMPLE, **override}
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path.replace("{", "").replace("}", "")


def body_for(method: str, path: str):
    spec = next(s for s in SPECS if s.path == path and s.method == method)
    if spec.content_types and "application/json" not in spec.content_types:
        return {"content-type": spec.content_types[0]}, b"PK\x03\x04"
    return {"content-type": "application/json"}, b"{}"


def test_every_route_is_described_in_the_registry():
    described = {(s.method, s.path) for s in SPECS}
    assert set(ROUTES) == described


@pytest.mark.parametrize("method, path", ROUTES)
def test_no_session_gets_401_except_on_public_routes(api, seeded, method, path):
    headers, raw = body_for(method, path)
    r = api.call(method, concrete(path), headers=headers, raw=raw)
    if (method, path) in PUBLIC:
        assert r.status_code != 401
    else:
        assert r.status_code == 401, (method, path, r.body)
        assert r.data["code"] == "unauthenticated"


@pytest.mark.parametrize("method, path", [r for r in ROUTES if "{unit}" in r[1]])
def test_a_foreign_province_is_refused_on_every_unit_scoped_route(api, tokens, clock, method, path):
    clock.at(datetime.now(VN))
    headers, raw = body_for(method, path)
    r = api.call(method, concrete(path, unit="01"), token=tokens["02"], headers=headers, raw=raw)
    assert r.status_code in (403, 404), (method, path, r.status_code)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if r not in PROVINCE_MAY | PUBLIC])
def test_a_province_is_refused_on_every_ministry_route(api, tokens, clock, method, path):
    clock.at(datetime.now(VN))
    headers, raw = body_for(method, path)
    r = api.call(method, concrete(path, unit="02"), token=tokens["02"], headers=headers, raw=raw)
    assert r.status_code == 403, (method, path, r.status_code, r.body)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if "{unit}" in r[1] and r in PROVINCE_MAY])
def test_a_province_reaches_its_own_units_routes(api, tokens, clock, method, path):
    clock.at(datetime.now(VN))
    headers, raw = body_for(method, path)
    r = api.call(method, concrete(path, unit="02"), token=tokens["02"], headers=headers, raw=raw)
    assert r.status_code not in (401, 403), (method, path, r.status_code, r.body)


# ---- an assessed ministry's account ----------------------------------------------------------------------------

def kind_of(method: str, path: str) -> str | None:
    return next(s.unit_kind for s in SPECS if s.path == path and s.method == method)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if r not in MINISTRY_MAY | PUBLIC])
def test_a_ministry_is_refused_on_every_route_not_its_own(api, tokens, clock, method, path):
    clock.at(datetime.now(VN))
    headers, raw = body_for(method, path)
    r = api.call(method, concrete(path, unit="BTP"), token=tokens["BTP"], headers=headers, raw=raw)
    assert r.status_code == 403, (method, path, r.status_code, r.body)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if "{unit}" in r[1]])
def test_a_ministry_is_refused_on_every_province_and_every_other_ministry(api, tokens, clock, method, path):
    clock.at(datetime.now(VN))
    headers, raw = body_for(method, path)
    for unit in ("01", "BYT"):
        r = api.call(method, concrete(path, unit=unit), token=tokens["BTP"], headers=headers, raw=raw)
        assert r.status_code == 403, (method, path, unit, r.status_code)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if "{unit}" in r[1] and r in MINISTRY_MAY])
def test_a_ministry_reaches_its_own_units_routes(api, tokens, clock, method, path):
    clock.at(datetime.now(VN))
    headers, raw = body_for(method, path)
    r = api.call(method, concrete(path, unit="BTP"), token=tokens["BTP"], headers=headers, raw=raw)
    assert r.status_code not in (401, 403), (method, path, r.status_code, r.body)


@pytest.mark.parametrize("method, path", [r for r in ROUTES if "{unit}" in r[1] and kind_of(*r)])
def test_a_route_for_one_kind_of_unit_does_not_exist_for_the_other(api, tokens, clock, method, path):
    """Even the organiser finds no roster, progress or mail desk of a ministry, nor a province's ministry survey."""
    clock.at(datetime.now(VN))
    headers, raw = body_for(method, path)
    other = "BTP" if kind_of(method, path) == "province" else "01"
    r = api.call(method, concrete(path, unit=other), token=tokens["admin"], headers=headers, raw=raw)
    assert r.status_code == 404 and r.data["code"] == "wrong_unit_kind", (method, path, r.status_code, r.body)


def test_what_a_ministry_reads_holds_no_province_data(api, tokens, survey_token):
    """With a province's roster sent and dispatched, nothing a ministry account may read names a respondent, a
    province or another ministry's unit."""
    from chalicelib.store.models import LinkModel

    [link] = list(LinkModel.query("demo#01"))
    read = [(m, p) for m, p in sorted(MINISTRY_MAY) if m == "GET" and not p.endswith("/workbook")]
    assert len(read) >= 7
    for method, path in read:
        r = api.call(method, concrete(path, unit="BTP", qid="ministry-2", code="1"), token=tokens["BTP"])
        assert r.status_code in (200, 404), (path, r.status_code, r.body)
        body = r.body.decode()
        assert link.email not in body and link.full_name not in body, path
        assert '"01"' not in body and '"BYT"' not in body, path


# ---- the respondent's link token is no session, and a session is no link --------------------------------------

SURVEY = {r for r in ROUTES if r[1].startswith("/survey")}


@pytest.fixture
def survey_token(api, tokens, clock, built):
    """A real link token, issued the way respondents get theirs: roster sent, dispatch, the mail read back."""
    def build():
        from builders import person, roster_workbook
        from outbox import run_all, sent_mails, ses_backend, token_of

        ses_backend().max_send_rate = 1000
        r = api.call("POST", "/campaigns/demo/units/01/roster/imports", token=tokens["01"], raw=roster_workbook(
            [person(1, group="1", agency="HĐND tỉnh")]), headers={"content-type": body_for(
                "POST", "/campaigns/{cid}/units/{unit}/roster/imports")[0]["content-type"]})
        assert r.status_code == 200, r.body
        assert api.call("POST", "/campaigns/demo/units/01/roster/submit", token=tokens["01"]).status_code == 200
        assert api.call("POST", "/campaigns/demo/dispatch", {}, token=tokens["admin"]).status_code == 202
        run_all(api)
        [mail] = sent_mails()
        token = token_of(mail)
        assert api.call("GET", "/survey", headers={"x-survey-token": token}).status_code == 200  # a working link
        return token

    return built("survey_token", build)


def test_a_survey_link_token_opens_no_other_route_as_bearer_or_as_survey_header(api, survey_token):
    wrong = []
    for method, path in sorted(set(ROUTES) - PUBLIC):
        headers, raw = body_for(method, path)
        for sent in ({"authorization": f"Bearer {survey_token}"}, {"x-survey-token": survey_token}):
            r = api.call(method, concrete(path), headers={**headers, **sent}, raw=raw)
            if r.status_code != 401 or r.data.get("code") != "unauthenticated":
                wrong.append((method, path, list(sent), r.status_code, r.body[:200]))
    assert wrong == []


def test_a_session_token_sent_as_a_survey_link_gets_the_unknown_link_answer(api, tokens, survey_token):
    unknown = api.call("GET", "/survey", headers={"x-survey-token": "x" * 43}, ip="10.77.0.1")
    assert unknown.status_code == 404 and unknown.data["code"] == "link_unknown"
    wrong = []
    for n, (who, (method, path)) in enumerate((w, r) for w in ("01", "admin") for r in sorted(SURVEY)):
        headers, raw = body_for(method, path)
        for k, sent in enumerate(({"x-survey-token": tokens[who]},
                                  {"x-survey-token": tokens[who], "authorization": f"Bearer {tokens[who]}"},
                                  {"authorization": f"Bearer {tokens[who]}"})):
            r = api.call(method, path, headers={**headers, **sent}, raw=raw, ip=f"10.77.{n}.{k + 2}")
            if (r.status_code, r.data) != (404, unknown.data):
                wrong.append((who, method, path, list(sent), r.status_code, r.body[:200]))
    assert wrong == []
