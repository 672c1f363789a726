"""Changing a respondent's address after dispatch: direct corrections only where the invitation never arrived;
otherwise a request with a reason that the ministry approves (the links re-issued, no draft carried) or refuses
(nothing changes); audit, notifications both ways, the ministry's lists, the integrity rule."""
import json
from datetime import timedelta

import pytest
from builders import person
from outbox import mail_roster, run_all, sent_mails, ses_backend, token_of

from chalicelib.store.models import AuditModel, DraftModel, LinkModel, MailModel

CLERK = "10.30.0.3"  # the province's office
HOME = "10.30.0.4"  # the respondent's


@pytest.fixture
def mailed(api, tokens, clock, built):
    """Demo campaign, unit 01: three respondents of group 1 dispatched; {email: token} from the mails."""
    def build():
        ses_backend().max_send_rate = 1000
        rows = [person(i, group="1", agency="HĐND tỉnh") for i in (1, 2, 3)]
        return {str(m["To"]): token_of(m) for m in mail_roster(api, tokens, rows)}

    return built("mailed", build)


def link_of(email: str):
    return next(link for link in LinkModel.query("demo#01") if link.email == email)


def survey(api, token, ip=HOME):
    return api.call("GET", "/survey", headers={"x-survey-token": token}, ip=ip)


def save_draft(api, token, answers, ip=HOME):
    r = api.call("PUT", "/survey/draft", {"answers": answers}, headers={"x-survey-token": token}, ip=ip)
    assert r.status_code == 200, r.data


def first_answer(api, token) -> dict:
    q = survey(api, token).data["questionnaire"]["sections"][0]["questions"][0]
    return {q["id"]: q["options"][1]["value"]}


def full_answers(data: dict) -> dict:
    out = {}
    for section in data["questionnaire"]["sections"]:
        for q in section["questions"]:
            if q["type"] == "single":
                out[q["id"]] = q["options"][0]["value"]
            elif q["type"] == "multi":
                out[q["id"]] = [q["options"][0]["value"]]
            elif q["required"]:
                out[q["id"]] = "Ý kiến"
    return out


def request(api, tokens, rid, email, reason="Người này đã chuyển công tác, dùng hộp thư mới của cơ quan."):
    return api.call("POST", f"/campaigns/demo/units/01/roster/{rid}/email-requests",
                    {"email": email, "reason": reason}, token=tokens["01"], ip=CLERK)


def actions() -> list[str]:
    return [e.action for e in AuditModel.scan()]


def test_a_province_cannot_readdress_a_delivered_or_opened_link_by_itself(api, tokens, mailed):
    sent_email, opened_email = "nguoi1@hagiang.gov.vn", "nguoi2@hagiang.gov.vn"
    save_draft(api, mailed[opened_email], first_answer(api, mailed[opened_email]))  # opened, with a draft
    for email, state in ((sent_email, "sent"), (opened_email, "opened")):
        link = link_of(email)
        assert link.state == state
        r = api.call("POST", f"/campaigns/demo/units/01/roster/{link.rid}/email",
                     {"email": "hop.thu.so@hanoi.gov.vn"}, token=tokens["01"], ip=CLERK)
        assert r.status_code == 409, r.data
        assert r.data["code"] == "email_change_needs_approval"
        assert "Chỉ được sửa trực tiếp email" in r.data["message"] and "đề nghị" in r.data["message"]
        after = link_of(email)  # nothing moved: same address, same token, the respondent's link still opens
        assert after.state == state and after.token_hashes == link.token_hashes
        assert survey(api, mailed[email]).status_code == 200
    assert survey(api, mailed[opened_email]).data["draft"]["answers"] == first_answer(api, mailed[opened_email])
    assert len(sent_mails()) == 3
    roster = api.call("GET", "/campaigns/demo/units/01/roster", token=tokens["01"]).data["items"]
    assert {row["email"] for row in roster} == set(mailed)
    assert "respondent_email_corrected" not in actions()


def test_request_then_approval_reissues_to_the_new_address_without_the_old_draft(api, tokens, mailed):
    email = "nguoi2@hagiang.gov.vn"
    token = mailed[email]
    save_draft(api, token, first_answer(api, token))
    link = link_of(email)
    r = request(api, tokens, link.rid, "Nguoi2.Moi@hanoi.gov.vn")
    assert r.status_code == 201, r.data
    change = r.data
    assert change["state"] == "pending" and change["kind"] == "request"
    assert change["old"]["masked"] == "n•••@hagiang.gov.vn" and change["new"]["domain"] == "hanoi.gov.vn"
    assert [(x["slot"], x["state"]) for x in change["links"]] == [(link.slot, "opened")]
    # nothing has changed yet: the respondent's link and draft are theirs until the ministry decides
    assert survey(api, token).data["draft"] is not None and len(sent_mails()) == 3
    # one pending request per person
    again = request(api, tokens, link.rid, "khac@hanoi.gov.vn")
    assert again.status_code == 409 and again.data["code"] == "email_change_pending"

    # the ministry is told and sees it pending, with the addresses masked
    notes = api.call("GET", "/campaigns/demo/notifications", token=tokens["admin"]).data["items"]
    assert any(n["title"] == "Đề nghị đổi email người trả lời phiếu" and "Lý do: Người này đã chuyển công tác"
               in n["message"] for n in notes)
    pending = api.call("GET", "/campaigns/demo/address-changes?state=pending", token=tokens["admin"])
    assert pending.status_code == 200 and pending.data["pending"] == 1
    [listed] = pending.data["items"]
    assert listed["id"] == change["id"] and listed["unit"] == "01" and listed["unit_name"]
    assert "nguoi2.moi@hanoi.gov.vn" not in json.dumps(pending.data) and email not in json.dumps(pending.data)

    r = api.call("POST", f"/campaigns/demo/units/01/address-changes/{change['id']}/approve",
                 {"note": "Đã xác minh với cơ quan."}, token=tokens["admin"])
    assert r.status_code == 200, r.data
    assert r.data["state"] == "approved" and r.data["reissued"] == 1 and r.data["decided_by"]
    run_all(api)
    # the new link is mailed to the new address; the old link is dead; no draft is carried to the new holder
    new_mail = sent_mails()[-1]
    assert str(new_mail["To"]) == "nguoi2.moi@hanoi.gov.vn"
    new_token = token_of(new_mail)
    assert survey(api, token).status_code == 404
    opened = survey(api, new_token, ip=CLERK)
    assert opened.status_code == 200 and opened.data["draft"] is None
    assert DraftModel.count() == 0
    relinked = link_of("nguoi2.moi@hanoi.gov.vn")
    assert relinked.state == "sent" and relinked.opened_at is None and relinked.open_ip is None
    # deciding twice is refused
    twice = api.call("POST", f"/campaigns/demo/units/01/address-changes/{change['id']}/refuse",
                     {"reason": "Nhầm."}, token=tokens["admin"])
    assert twice.status_code == 409 and twice.data["code"] == "email_change_decided"
    # the province is told; the audit log has both steps, without the addresses
    notes = api.call("GET", "/campaigns/demo/units/01/notifications", token=tokens["01"]).data["items"]
    assert any(n["title"] == "Bộ Nội vụ đồng ý đổi email" for n in notes)
    entries = {e.action: e for e in AuditModel.scan()}
    assert {"email_change_requested", "email_change_approved"} <= set(entries)
    assert entries["email_change_requested"].source_ip == CLERK
    logged = json.dumps([e.details for e in AuditModel.scan()])
    assert "nguoi2.moi@hanoi.gov.vn" not in logged and entries["email_change_approved"].details["slots"] == [link.slot]
    # the unit's list (ministry and province) shows the re-issue with its times
    listing = api.call("GET", "/campaigns/demo/units/01/address-changes", token=tokens["admin"]).data
    [row] = listing["items"]
    assert row["state"] == "approved" and row["reissued_at_label"] and row["requested_at_label"]
    assert api.call("GET", "/campaigns/demo/units/01/address-changes", token=tokens["01"]).status_code == 200


def test_a_refused_request_changes_nothing(api, tokens, mailed):
    email = "nguoi1@hagiang.gov.vn"
    token = mailed[email]
    save_draft(api, token, first_answer(api, token))
    before = link_of(email)
    change = request(api, tokens, before.rid, "hop.thu.so@hanoi.gov.vn").data
    path = f"/campaigns/demo/units/01/address-changes/{change['id']}/refuse"
    assert api.call("POST", path, {"reason": "  "}, token=tokens["admin"]).status_code == 422
    assert api.call("POST", path, {"reason": "Không"}, token=tokens["01"]).status_code == 403
    r = api.call("POST", path, {"reason": "Thư mời đã đến đúng người; không có căn cứ đổi."}, token=tokens["admin"])
    assert r.status_code == 200 and r.data["state"] == "refused" and r.data["reissued"] == 0
    run_all(api)
    after = link_of(email)
    assert after.token_hashes == before.token_hashes and after.state == before.state == "opened"
    assert survey(api, token).data["draft"]["answers"] == first_answer(api, token)
    assert len(sent_mails()) == 3
    roster = api.call("GET", "/campaigns/demo/units/01/roster", token=tokens["01"]).data["items"]
    assert email in {row["email"] for row in roster}
    notes = api.call("GET", "/campaigns/demo/units/01/notifications", token=tokens["01"]).data["items"]
    assert any(n["title"] == "Bộ Nội vụ không đồng ý đổi email" and "không có căn cứ" in n["message"] for n in notes)
    assert "email_change_refused" in actions()
    # refused, the person may be asked about again
    assert request(api, tokens, before.rid, "hop.thu.khac@hanoi.gov.vn").status_code == 201


def test_requests_are_checked(api, tokens, mailed):
    link = link_of("nguoi1@hagiang.gov.vn")
    path = f"/campaigns/demo/units/01/roster/{link.rid}/email-requests"
    cases = [({"email": "moi@hanoi.gov.vn"}, "reason"), ({"email": "moi@hanoi.gov.vn", "reason": "x" * 501}, "reason"),
             ({"email": "sai@", "reason": "Lý do"}, "email"),
             ({"email": "nguoi1@hagiang.gov.vn", "reason": "Lý do"}, "email"),
             ({"email": "nguoi2@hagiang.gov.vn", "reason": "Lý do"}, "email")]
    for body, field in cases:
        r = api.call("POST", path, body, token=tokens["01"])
        assert r.status_code == 422, (body, r.data)
        assert r.data["details"][0]["field"] == field
    missing = api.call("POST", "/campaigns/demo/units/01/roster/000099-abcdef/email-requests",
                       {"email": "moi@hanoi.gov.vn", "reason": "Lý do"}, token=tokens["01"])
    assert missing.status_code == 404
    unknown = api.call("POST", "/campaigns/demo/units/01/address-changes/20220105T030000Z-00000000/approve", {},
                       token=tokens["admin"])
    assert unknown.status_code == 404
    bad_state = api.call("GET", "/campaigns/demo/address-changes?state=x", token=tokens["admin"])
    assert bad_state.status_code == 422
    # someone who answered has nothing to re-address
    token = mailed["nguoi3@hagiang.gov.vn"]
    data = survey(api, token).data
    assert api.call("POST", "/survey/submit", {"answers": full_answers(data)},
                    headers={"x-survey-token": token}).status_code == 201
    answered = link_of("nguoi3@hagiang.gov.vn")
    r = api.call("POST", f"/campaigns/demo/units/01/roster/{answered.rid}/email-requests",
                 {"email": "moi@hanoi.gov.vn", "reason": "Lý do"}, token=tokens["01"])
    assert r.status_code == 409 and "không còn phiếu nào" in r.data["message"]


def test_after_the_survey_deadline_no_request_or_decision_is_taken(api, tokens, mailed, clock):
    link = link_of("nguoi1@hagiang.gov.vn")
    change = request(api, tokens, link.rid, "moi@hanoi.gov.vn").data
    clock.at(clock() + timedelta(days=70))
    late = request(api, tokens, link_of("nguoi2@hagiang.gov.vn").rid, "moi2@hanoi.gov.vn")
    assert late.status_code == 423
    for verb, body in (("approve", {}), ("refuse", {"reason": "Hết hạn"})):
        r = api.call("POST", f"/campaigns/demo/units/01/address-changes/{change['id']}/{verb}", body,
                     token=tokens["admin"])
        assert r.status_code == 423, r.data
    direct = api.call("POST", f"/campaigns/demo/units/01/roster/{link.rid}/email", {"email": "moi@hanoi.gov.vn"},
                      token=tokens["01"])
    assert direct.status_code == 423


def test_a_bounced_address_is_corrected_directly_its_draft_dropped_and_the_ministry_sees_it(api, tokens, mailed):
    email = "nguoi1@hagiang.gov.vn"
    token = mailed[email]
    save_draft(api, token, first_answer(api, token))  # opened, then the mailbox bounces a later message
    target = link_of(email)
    [mail] = [m for m in MailModel.scan() if m.slot == target.slot]
    event = {"notificationType": "Bounce", "mail": {"messageId": mail.message_id},
             "bounce": {"bounceType": "Permanent", "bouncedRecipients": [
                 {"emailAddress": email, "diagnosticCode": "550 5.1.1 user unknown"}]}}
    api.client.lambda_.invoke("mail-events", api.client.events.generate_sns_event(message=json.dumps(event)))
    assert link_of(email).state == "bounced"
    r = api.call("POST", f"/campaigns/demo/units/01/roster/{target.rid}/email", {"email": "dung.dia.chi@hanoi.gov.vn"},
                 token=tokens["01"])
    assert r.status_code == 200 and r.data["reissued"] == 1
    run_all(api)
    assert survey(api, token).status_code == 404
    new_token = token_of(sent_mails()[-1])
    assert survey(api, new_token).data["draft"] is None and DraftModel.count() == 0
    listing = api.call("GET", "/campaigns/demo/address-changes", token=tokens["admin"]).data
    [row] = listing["items"]
    assert (row["kind"], row["state"], row["reissued"]) == ("correction", "done", 1)
    assert row["old"]["masked"] == "n•••@hagiang.gov.vn" and row["new"]["masked"] == "d•••@hanoi.gov.vn"
    assert row["links"][0]["state"] == "bounced"
    entry = next(e for e in AuditModel.scan() if e.action == "respondent_email_corrected")
    assert entry.details["new_domain"] == "hanoi.gov.vn" and entry.details["slots"] == [target.slot]


def test_address_change_requests_are_evidence_for_the_integrity_rule(api, tokens, mailed):
    scan = api.call("POST", "/campaigns/demo/integrity/scan", token=tokens["admin"]).data
    unit = next(u for u in scan["units"] if u["unit"] == "01")
    assert "address_changes" not in {f["rule"] for f in unit["flags"]}
    ids = []
    for n, email in enumerate(sorted(mailed)):
        ids.append(request(api, tokens, link_of(email).rid, f"hop.thu.so.{n}@hanoi.gov.vn").data["id"])
    api.call("POST", f"/campaigns/demo/units/01/address-changes/{ids[0]}/approve", {}, token=tokens["admin"])
    scan = api.call("POST", "/campaigns/demo/integrity/scan", token=tokens["admin"]).data
    assert scan["scanned"] >= 1  # the requests count as activity: the unit is scanned again
    unit = next(u for u in scan["units"] if u["unit"] == "01")
    flag = next(f for f in unit["flags"] if f["rule"] == "address_changes")
    assert flag["requests"] == 3 and flag["reissued"] == 1 and unit["score"] >= 25
    assert sorted(e["change"] for e in flag["evidence"]) == sorted(ids)
    assert {e["state"] for e in flag["evidence"]} == {"approved", "pending"}
    assert all(e["links"] and e["requested_at"] for e in flag["evidence"])
