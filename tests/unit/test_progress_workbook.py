import io
from datetime import datetime

from openpyxl import load_workbook

from chalicelib.formats import progress_xlsx

COUNTS = {"total": 2, "mailed": 2, "opened": 1, "submitted": 1, "bounced": 0, "issued": 0, "failed": 0,
          "rate": 50.0}


def link(state_name, sent=None, opened=None, submitted=None):
    return {"purpose_name": "Phiếu khảo sát địa phương", "state_name": state_name, "sent_at": sent,
            "opened_at": opened, "submitted_at": submitted, "reminders": 0, "problem": None}


def test_the_detail_sheet_has_real_dates_in_vietnam_time_and_an_opened_at_column():
    person = {"order": 1, "full_name": "Nguyễn Văn An", "position": "Chuyên viên", "agency": "Sở Nội vụ",
              "group_name": "Công chức", "email": "an@hagiang.gov.vn"}
    data = {"unit": {"full_name": "Tỉnh Hà Giang"},
            "by_group": [{"group_name": "Công chức", "purpose_name": "Phiếu", **COUNTS}], "totals": COUNTS,
            "people": [{**person, "links": [
                link("Đã trả lời", "2026-11-30T17:30:00Z", "2026-12-01T01:05:00Z", "2026-12-01T01:20:00Z")]},
                {**person, "order": 2, "links": [link("Chưa gửi")]}]}
    book = load_workbook(io.BytesIO(progress_xlsx.unit_workbook(data, "08:00 02/12/2026")))
    sheet = book["Chi tiết"]
    head = [c.value for c in sheet[1]]
    sent, opened, answered = (head.index(name) for name in ("Gửi lúc", "Mở lúc", "Trả lời lúc"))
    assert (sent, opened, answered) == (8, 9, 10)
    row = sheet[2]
    # 17:30 UTC on 30/11 is 00:30 on 01/12 in Vietnam: the cell is that date, not a text label
    assert row[sent].value == datetime(2026, 12, 1, 0, 30)
    assert row[opened].value == datetime(2026, 12, 1, 8, 5)
    assert row[answered].value == datetime(2026, 12, 1, 8, 20)
    assert all(row[i].is_date and row[i].number_format == "dd/mm/yyyy hh:mm" for i in (sent, opened, answered))
    assert [sheet[3][i].value for i in (sent, opened, answered)] == [None, None, None]
