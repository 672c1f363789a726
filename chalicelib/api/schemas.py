"""JSON Schemas of request and response bodies, published in the OpenAPI document."""
from __future__ import annotations

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}


def obj(required: list[str] | None = None, /, **props: dict) -> dict:
    """An object schema. `required` is positional-only, so a property that happens to be named "required" (a
    question's flag, for one) stays a property instead of being taken for the list of required names."""
    names = list(props) if required is None else list(required)
    unknown = [n for n in names if n not in props]
    if unknown:
        raise ValueError(f"required names without a property: {unknown}")
    schema: dict = {"type": "object", "properties": props, "additionalProperties": True}
    if names:
        schema["required"] = names
    return schema


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


ERROR = obj(code=STR, message=STR, details=arr({}))

LOGIN_REQ = {"type": "object", "required": ["username", "password"], "additionalProperties": False,
             "properties": {"username": {"type": "string", "maxLength": 64},
                            "password": {"type": "string", "maxLength": 256}}}
LOGIN_RES = obj(token=STR, role={"type": "string", "enum": ["moha", "province", "ministry"]}, unit=NSTR, username=STR,
                display_name=STR, expires_at={"type": "string", "format": "date-time"},
                must_change_password=BOOL, idle_minutes=INT)
PASSWORD_REQ = {"type": "object", "required": ["current_password", "new_password"], "additionalProperties": False,
                "properties": {"current_password": STR, "new_password": {"type": "string", "maxLength": 128}}}
OK = obj(ok=BOOL)
ME = obj(username=STR, role=STR, unit=NSTR, display_name=STR, source_ip=STR, must_change_password=BOOL)

PHASE = obj(code=STR, name=STR, opens_at=STR, closes_at=STR, opens_label=STR, deadline_label=STR,
            state={"type": "string", "enum": ["upcoming", "open", "closed"]}, seconds_left=INT, extended=BOOL)
CAMPAIGN_SUMMARY = obj(id=STR, name=STR, year=INT, timezone=STR, phases=arr(PHASE))
CAMPAIGN_LIST = obj(items=arr(CAMPAIGN_SUMMARY))
GROUP = obj(["code", "name"], code=STR, name=STR, questionnaires=arr(STR), priority=INT)
UNIT_KIND = {"type": "string", "enum": ["province", "ministry"]}
UNIT = obj(code=STR, name=STR, full_name=STR, kind=UNIT_KIND, ranked=BOOL, focal_person_set=BOOL, extensions=arr(PHASE),
           roster_status={"type": "string", "enum": ["draft", "submitted"]}, roster_total=INT,
           roster_submitted_at=NSTR)
CAMPAIGN_DETAIL = obj(id=STR, name=STR, year=INT, timezone=STR, phases=arr(PHASE), groups=arr(GROUP),
                      questionnaires={"type": "object"}, units=arr(UNIT), ministries=arr(STR))
CAMPAIGN_CREATE = {
    "type": "object", "required": ["id", "name", "groups", "phases", "units"],
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,31}$"}, "name": STR, "year": INT,
        "timezone": STR, "groups": arr(obj(["code", "name"], code=STR, name=STR, questionnaires=arr(STR))),
        "questionnaires": {"type": "object"},
        "phases": arr(obj(["code", "opens", "closes"], code=STR, opens=STR, closes=STR)),
        "units": arr(obj(["code", "name"], code=STR, name=STR, full_name=STR, kind=UNIT_KIND, ranked=BOOL))}}
PHASE_PATCH = {"type": "object", "required": ["closes", "reason"], "additionalProperties": False,
               "properties": {"closes": {"type": "string", "description": "YYYY-MM-DD (hết ngày, giờ địa phương) "
                                                                          "hoặc thời điểm ISO 8601"},
                              "opens": STR, "unit": {"type": "string", "description": "chỉ gia hạn cho đơn vị này"},
                              "reason": {"type": "string", "maxLength": 500}}}
PHASE_CHANGED = obj(campaign=STR, unit=NSTR, phase=PHASE)
FOCAL_REQ = {"type": "object", "required": ["full_name", "position", "mobile"],
             "properties": {"full_name": {"type": "string", "maxLength": 120},
                            "position": {"type": "string", "maxLength": 120},
                            "mobile": {"type": "string", "maxLength": 20},
                            "email": {"type": "string", "maxLength": 254}}}
FOCAL = obj(full_name=NSTR, position=NSTR, mobile=NSTR, email=NSTR, updated_at=NSTR, updated_at_label=NSTR,
            updated_by=NSTR)
NOTIFICATIONS = obj(items=arr(obj(id=STR, at=STR, at_label=STR, kind=STR, title=STR, message=STR)))
AUDIT = obj(items=arr(obj(id=STR, at=STR, at_label=STR, actor=STR, role=STR, unit=NSTR, action=STR, target=NSTR,
                          campaign=NSTR, source_ip=NSTR, details={"type": "object"})),
            next_cursor=NSTR)
HEALTH = obj(status=STR, stage=STR, time=STR, source_ip=STR)

ROW_ERROR = obj(["row", "column", "message"], row={"type": ["integer", "null"]}, column=NSTR, field=NSTR,
                message=STR)
GROUP_COUNT = obj(group=STR, name=STR, count=INT)
ROSTER_STATUS = obj(status={"type": "string", "enum": ["draft", "submitted"]}, total=INT, counts=arr(GROUP_COUNT),
                    submitted_at=NSTR, submitted_at_label=NSTR, submitted_by=NSTR, updated_at_label=NSTR,
                    version=INT)
ROSTER_IMPORT = obj(["accepted", "rejected", "errors"], accepted=INT, rejected=INT, errors=arr(ROW_ERROR),
                    warnings=arr(ROW_ERROR), encodings=arr(obj(encoding=STR, cells=INT, message=STR)),
                    mode=STR, rows=INT, header_row=INT, added=INT, updated=INT, unchanged=INT, removed=INT,
                    total=INT, counts={"type": "object"}, error_workbook_url=STR)
_RESPONDENT_FIELDS = {"full_name": {"type": "string", "maxLength": 100}, "position": {"type": "string",
                                                                                      "maxLength": 150},
                      "agency": {"type": "string", "maxLength": 200}, "group": STR,
                      "email": {"type": "string", "maxLength": 254}, "phone": NSTR, "note": NSTR, "ministry": NSTR}
RESPONDENT_REQ = {"type": "object", "required": ["full_name", "position", "agency", "group", "email"],
                  "properties": _RESPONDENT_FIELDS}
RESPONDENT_PATCH = {"type": "object", "properties": _RESPONDENT_FIELDS}
RESPONDENT = obj(rid=STR, order=INT, full_name=STR, position=STR, agency=STR, group=STR, group_name=STR, email=STR,
                 phone=NSTR, note=NSTR, ministry=NSTR, ministry_source=NSTR, ministry_unit=NSTR,
                 questionnaires=arr(STR), updated_at=STR)
ROSTER_PAGE = {**ROSTER_STATUS, "properties": {**ROSTER_STATUS["properties"], "items": arr(RESPONDENT),
                                               "next_cursor": NSTR},
               "required": ROSTER_STATUS["required"] + ["items", "next_cursor"]}
REASON = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "maxLength": 500}}}

DISPATCH_REQ = {"type": "object", "properties": {"units": {"type": "array", "items": STR}}}
DISPATCH_RUN = obj(run=STR, started_at=STR, started_at_label=STR, started_by=STR, units=arr(STR), units_total=INT,
                   units_done=INT, links_issued=INT, mails_queued=INT, mails_sent=INT, mails_failed=INT,
                   finished=BOOL)
DISPATCH_STARTED = {**DISPATCH_RUN, "properties": {**DISPATCH_RUN["properties"], "warnings": arr(obj(
    unit=STR, domain=STR, diagnostic=NSTR))}}
DISPATCH_RUNS = obj(runs=arr(DISPATCH_RUN))
REMINDERS_REQ = {"type": "object", "properties": {"rids": {"type": "array", "items": STR}}}
REMINDERS = obj(queued=INT, recent=INT, answered=INT, undeliverable=INT,
                people=obj(queued=INT, recent=INT, answered=INT, undeliverable=INT))
_REMIND_KINDS = obj(now=INT, recent=INT, answered=INT, undeliverable=INT)
REMINDER_PREVIEW = obj(people=_REMIND_KINDS, forms=_REMIND_KINDS, recent_from=NSTR, recent_from_label=NSTR,
                       recent_until_label=NSTR)
EMAIL_REQ = {"type": "object", "required": ["email"], "properties": {"email": {"type": "string", "maxLength": 254}}}
EMAIL_CORRECTED = obj(rid=STR, email=STR, reissued=INT)

_OPTION = obj(value=STR, label=STR)
_QUESTION = obj(id=STR, text=STR, type={"type": "string", "enum": ["single", "multi", "text"]}, required=BOOL,
                max_length={"type": ["integer", "null"]}, options=arr(_OPTION))
SURVEY = obj(state={"type": "string", "enum": ["open", "submitted"]},
             campaign=obj(id=STR, name=STR, year=INT), unit=obj(code=STR, name=STR, full_name=STR),
             contact=obj(name=STR, phone=STR, email=STR, address=STR),
             group=obj(code=STR, name=STR), purpose=STR, purpose_name=STR, qid=STR, version=INT,
             questionnaire=obj(title=STR, description=STR, sample=BOOL,
                               sections=arr(obj(title=STR, questions=arr(_QUESTION)))),
             deadline_label=STR, closes_at=STR, seconds_left=INT,
             draft={"type": ["object", "null"]}, submitted_at=NSTR, submitted_at_label=NSTR, receipt=NSTR,
             confidentiality=STR)
ANSWERS_REQ = {"type": "object", "required": ["answers"], "properties": {"answers": {"type": "object"}}}
DRAFT_SAVED = obj(saved_at=STR, saved_at_label=STR)
RECEIPT = obj(receipt=STR, submitted_at=STR, submitted_at_label=STR)

_COUNTS = {s: INT for s in ("issued", "sent", "opened", "submitted", "bounced", "failed", "total", "reminders",
                            "mailed")}
COUNTS = obj(**_COUNTS, rate={"type": "number"})
_LINK_STATUS = obj(purpose=STR, purpose_name=STR, state=STR, state_name=STR, sent_at=NSTR, sent_at_label=NSTR,
                   opened_at=NSTR,
                   submitted_at=NSTR, submitted_at_label=NSTR, reminders=INT, problem=NSTR, delivery=NSTR,
                   delivery_name=NSTR)
_PERSON = obj(rid=STR, order=INT, full_name=STR, position=NSTR, agency=NSTR, group=STR, group_name=STR, email=STR,
              links=arr(_LINK_STATUS))
UNIT_PROGRESS = obj(["campaign", "unit", "totals", "by_group"], campaign=STR,
                    unit=obj(code=STR, name=STR, full_name=STR), roster_status=STR, annulled=BOOL, totals=COUNTS,
                    by_group=arr(obj(group=STR, group_name=STR, purpose=STR, purpose_name=STR, **_COUNTS,
                                     rate={"type": "number"})),
                    people_total=INT, matched=INT, offset=INT, limit=INT, people=arr(_PERSON),
                    by_day=arr(obj(date=STR, label=STR, submitted=INT)))
NATIONAL_PROGRESS = obj(campaign=STR, name=STR, rosters_submitted=INT, totals=COUNTS,
                        average=obj(rate={"type": ["number", "null"]}, units=INT),
                        units=arr(obj(code=STR, name=STR, roster_status=STR, roster_total=INT, annulled=BOOL,
                                      **_COUNTS, rate={"type": "number"})),
                        ministries=arr(obj(["code", "name", "ranked", "asked", "answered", "rate"], code=STR,
                                           name=STR, ranked=BOOL, asked=INT, answered=INT,
                                           rate={"type": "number"})))
MINISTRY_SURVEY = obj(["unit", "name", "asked", "answered", "rate", "provinces"], campaign=STR, unit=STR, name=STR,
                      full_name=STR, asked=INT, answered=INT, rate={"type": "number"},
                      provinces=arr(obj(["unit", "name", "annulled", "asked", "answered", "groups"], unit=STR,
                                        name=STR, annulled=BOOL, asked=INT, answered=INT,
                                        groups=arr(obj(["group", "name", "asked", "answered"], group=STR, name=STR,
                                                       asked=INT, answered=INT)))))
EXPORT_LINK = obj(url=STR, filename=STR, size=INT, expires_in=INT)

INTEGRITY = obj(["campaign", "units"], campaign=STR, scanned=INT, thresholds={"type": "object"},
                units=arr(obj(unit=STR, name=STR, score=INT, flagged=BOOL, flags=arr({"type": "object"}),
                              submitted=INT, responses=INT, scanned_at=STR, scanned_at_label=STR, annulled=BOOL,
                              annul_reason=NSTR)))
ANNULMENT = obj(unit=STR, annulled=BOOL, annulled_at=NSTR, annulled_by=NSTR, reason=NSTR)

SURVEY_RESPONSES = obj(["campaign", "unit", "annulled", "count", "items", "next_cursor"], campaign=STR,
                       unit=obj(code=STR, name=STR, full_name=STR), annulled=BOOL, count=INT,
                       items=arr(obj(id=STR, qid=STR, version=INT, title=NSTR, purpose=STR, purpose_name=STR,
                                     group=obj(code=STR, name=STR), ministry=NSTR, answers={"type": "object"},
                                     scores={"type": "object"})),
                       next_cursor=NSTR)

_ADDRESS = obj(masked=STR, domain=STR, fingerprint=STR)
_CHANGE_LINK = obj(slot=STR, purpose=STR, purpose_name=NSTR, state=STR, state_name=NSTR, sent_at=NSTR, opened_at=NSTR)
ADDRESS_CHANGE = obj(id=STR, unit=STR, unit_name=NSTR, kind={"type": "string", "enum": ["correction", "request"]},
                     kind_name=STR, state={"type": "string", "enum": ["done", "pending", "approved", "refused"]},
                     state_name=STR, rid=STR, full_name=STR, old=_ADDRESS, new=_ADDRESS, reason=NSTR,
                     requested_by=STR, requested_at=STR, requested_at_label=STR, decided_by=NSTR, decided_at=NSTR,
                     decided_at_label=NSTR, decision_note=NSTR, links=arr(_CHANGE_LINK), reissued=INT,
                     reissued_at=NSTR, reissued_at_label=NSTR)
UNIT_ADDRESS_CHANGES = obj(["campaign", "unit", "pending", "items"], campaign=STR,
                           unit=obj(code=STR, name=STR, full_name=STR), pending=INT, items=arr(ADDRESS_CHANGE))
ADDRESS_CHANGES = obj(["campaign", "pending", "items"], campaign=STR, pending=INT, items=arr(ADDRESS_CHANGE))
EMAIL_CHANGE_REQ = {"type": "object", "required": ["email", "reason"],
                    "properties": {"email": {"type": "string", "maxLength": 254},
                                   "reason": {"type": "string", "maxLength": 500}}}
APPROVE_REQ = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 500}}}
_MAIL_STOP = obj(active=BOOL, reason=NSTR, figures={"type": "object"}, stopped_at=NSTR, stopped_at_label=NSTR,
                 resumed_at=NSTR, resumed_at_label=NSTR, resumed_by=NSTR)
MAIL_STOP = _MAIL_STOP
_MAIL_COUNTS = {k: INT for k in ("accepted", "delivered", "bounced", "bounced_transient", "complaints", "rejected",
                                 "delayed", "policy_rejections")}
_PREFLIGHT_RESULT = obj(address=STR, domain=STR, outcome=STR, outcome_name=STR, failed=BOOL, diagnostic=NSTR,
                        at_label=NSTR)
MAIL_DESK = obj(["campaign", "unit", "domains", "allowlist"], campaign=STR, unit=STR, focal_email=NSTR,
                domains=arr(obj(domain=STR, respondents=INT, **_MAIL_COUNTS, bounce_rate={"type": "number"},
                                bouncing=BOOL, last_outcome=NSTR, last_outcome_name=NSTR, last_diagnostic=NSTR,
                                last_reason=NSTR, last_at_label=NSTR,
                                preflight={"type": ["object", "null"], "properties": {
                                    "status": STR, "status_name": STR, "diagnostic": NSTR,
                                    "results": arr(_PREFLIGHT_RESULT)}})),
                allowlist=arr(obj(label=STR, value=STR)),
                preflight={"type": ["object", "null"], "properties": {
                    "id": STR, "at": STR, "at_label": STR, "by": STR, "domains": arr(STR),
                    "results": arr(_PREFLIGHT_RESULT)}},
                pause=_MAIL_STOP, breaker=obj(active=BOOL))
PREFLIGHT_REQ = {"type": "object", "properties": {"domains": {"type": "array", "items": {"type": "string",
                                                                                           "maxLength": 253},
                                                              "maxItems": 20}}}
REASON_OPTIONAL = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 500}}}
MAIL_GUARD = obj(breaker=_MAIL_STOP, paused=arr({**_MAIL_STOP, "properties": {**_MAIL_STOP["properties"],
                                                                                "unit": STR, "name": STR}}),
                 preflight_failures=arr(obj(unit=STR, domain=STR, diagnostic=NSTR)),
                 account={"type": "object", "properties": {**_MAIL_COUNTS, "bounce_rate": {"type": "number"},
                                                            "complaint_rate": {"type": "number"}}})
