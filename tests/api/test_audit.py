from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_ministry_reads_the_audit_log_newest_first_and_filtered(api, tokens, clock):
    clock.at(datetime(2022, 1, 6, 9, 0, tzinfo=VN))
    body = {"full_name": "Lê Văn Cường", "position": "Trưởng phòng", "mobile": "0977000111"}
    api.call("PUT", "/campaigns/2021/units/01/focal-person", body, token=tokens["01"], ip="10.0.0.1")
    clock.at(clock() + timedelta(minutes=1))
    api.call("PUT", "/campaigns/2021/units/02/focal-person", body, token=tokens["02"], ip="10.0.0.2")

    r = api.call("GET", "/audit?action=focal_person_saved", token=tokens["admin"])
    assert r.status_code == 200
    assert [(e["unit"], e["actor"], e["source_ip"]) for e in r.data["items"]] == [
        ("02", "tinh02", "10.0.0.2"), ("01", "tinh01", "10.0.0.1")]
    assert r.data["items"][0]["at_label"] == "09:01 06/01/2022"

    by_unit = api.call("GET", "/audit?unit=01", token=tokens["admin"]).data["items"]
    assert {e["unit"] for e in by_unit} == {"01"} and {"login", "focal_person_saved"} <= {e["action"] for e in by_unit}
    by_actor = api.call("GET", "/audit?actor=tinh02&action=login", token=tokens["admin"]).data["items"]
    assert [e["action"] for e in by_actor] == ["login"]


def test_the_audit_log_pages_with_a_cursor_without_repeating_entries(api, tokens, seeded, clock):
    for i in range(5):
        clock.at(clock() + timedelta(minutes=1))
        api.login(*seeded["01"])
    seen, cursor = [], None
    while True:
        url = "/audit?action=login&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", url, token=tokens["admin"]).data
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 6 and seen == sorted(seen, reverse=True)


def test_bad_audit_filters_are_explained(api, tokens):
    r = api.call("GET", "/audit?from=hôm-qua", token=tokens["admin"])
    assert r.status_code == 422 and "ISO 8601" in r.data["message"]
    assert api.call("GET", "/audit?cursor=%%%", token=tokens["admin"]).status_code == 422
