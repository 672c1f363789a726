"""Self-assessment, appraisal and the PAR Index pages in real Chromium against the real API (on moto), demo campaign.

A province opens "Tự đánh giá, chấm điểm" from its home, is told in Vietnamese when a score is above the line's
maximum or off its step, scores a few lines (the running totals follow the inputs), uploads a real PDF as evidence
through the page (a presigned POST with a progress bar), reloads and finds everything kept; its first approval is
refused with the list of the lines still missing; once the rest is scored it approves (leader, decision, date, the
signed report uploaded) and sees the form locked. The ministry picks the unit on the appraisal page, sees the
self-scores and the evidence beside its own inputs, appraises a line and enters SIPAS, publishes; the province then
sees the appraised score beside its own. The results page ranks the unit, sorts, and hands out the workbook. The
ministry's reopening dialog insists on a reason. axe-core finds no serious or critical violation on the three pages.

The stack is shared by every browser test of the session: unit 33 is used by no other browser test."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from playwright.sync_api import expect

from test_site import log_in
from test_survey_form import assert_accessible, call, login

UNIT = "33"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
SAVED = re.compile(r"^Đã lưu lúc \d\d:\d\d \d\d/\d\d/\d{4}\.$")


def real_pdf(path: Path, text: str) -> Path:
    """A small, well-formed one-page PDF (header, objects, cross-reference table, trailer)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def self_leaves(nodes: list[dict]) -> list[dict]:
    found = []
    for node in nodes:
        if node["children"]:
            found += self_leaves(node["children"])
        elif node["method"] == "self":
            found.append(node)
    return found


def leaf(page, code: str):
    return page.locator(f'article.assess-leaf[data-code="{code}"]')


def slug(code: str) -> str:
    return code.replace(".", "-")


def fill_approval(page, report: Path, today: str) -> None:
    form = page.locator("#approve-form")
    form.get_by_label("Họ và tên lãnh đạo phê duyệt").fill("Nguyễn Văn Hùng")
    form.get_by_label("Chức vụ").fill("Phó Chủ tịch UBND tỉnh")
    form.get_by_label("Số quyết định, văn bản phê duyệt").fill("125/QĐ-UBND")
    form.get_by_label("Ngày ký").fill(today)
    form.get_by_label("Báo cáo tự đánh giá đã ký").set_input_files(str(report))
    form.get_by_role("button", name="Phê duyệt và gửi Bộ Nội vụ").click()
    dialog = page.get_by_role("dialog", name="Phê duyệt báo cáo tự đánh giá?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Phê duyệt theo 125/QĐ-UBND ngày " + today)
    dialog.get_by_role("button", name="Phê duyệt và gửi").click()
    expect(dialog).to_be_hidden()


def test_a_province_scores_with_evidence_approves_and_is_locked_then_the_ministry_appraises_and_publishes(
        stack, new_page, artifacts, tmp_path):
    evidence = real_pdf(tmp_path / "ke-hoach-cchc-2021.pdf", "Ke hoach CCHC nam 2021")
    report = real_pdf(tmp_path / "bao-cao-tu-danh-gia-da-ky.pdf", "Bao cao tu danh gia")
    today = datetime.now(VN).strftime("%d/%m/%Y")
    province = login(stack, UNIT)
    status, framework = call(stack, "GET", "/campaigns/demo/framework", bearer=province)
    assert status == 200, framework
    leaves = self_leaves(framework["fields"])
    field1_max = sum(x["max"] for x in self_leaves(framework["fields"][:1]))

    # 1. From the province home to the form: state, deadline, the tree with every line's maximum.
    page = new_page()
    log_in(page, stack, UNIT)
    page.get_by_role("link", name="Tự đánh giá, chấm điểm").click()
    expect(page).to_have_url(re.compile(r"/tinh/tu-danh-gia\.html\?dot=demo$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tự đánh giá, chấm điểm Chỉ số CCHC")
    expect(page.locator("#assess-state")).to_contain_text("Đang nhập")
    expect(page.locator("#assess-deadline")).to_contain_text(re.compile(r"hết ngày \d\d/\d\d/\d{4}"))
    expect(page.locator("#assess-deadline .countdown")).to_have_text(re.compile(r"^Còn "))
    expect(page.locator("#tree")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("article.assess-leaf[data-method='self']")).to_have_count(len(leaves))
    first = leaf(page, "1.1.1")
    expect(first.locator(".leaf-max")).to_have_text("Tối đa 0,75 điểm")
    expect(first.locator(".badge-method")).to_have_text("Tự chấm, thẩm định")
    survey = page.locator("article.assess-leaf[data-method='survey']").first
    expect(survey).to_contain_text("Điều tra xã hội học")
    expect(survey.locator("input")).to_have_count(0)
    expect(leaf(page, "8.2")).to_contain_text("SIPAS")
    expect(page.locator("#lock-notice")).to_be_hidden()

    # 2. Validation in Vietnamese, and the running totals following the inputs before anything is saved.
    score = first.get_by_label("Điểm tự chấm (mục 1.1.1)")
    score.fill("1")
    first.get_by_role("button", name="Lưu mục 1.1.1").click()
    expect(first.locator(".field-error")).to_have_text("Điểm không được lớn hơn điểm tối đa 0,75.")
    expect(score).to_have_attribute("aria-invalid", "true")
    expect(score).to_be_focused()
    score.fill("0.3")
    first.get_by_role("button", name="Lưu mục 1.1.1").click()
    expect(first.locator(".field-error")).to_have_text(re.compile(r"^Điểm phải là bội số của 0,25"))
    score.fill("0.5")
    expect(score).not_to_have_attribute("aria-invalid", "true")
    field1 = page.locator('section.assess-field[data-code="1"] > .node-totals .running-total')
    expect(field1).to_have_text(f"0,5/{field1_max:g}".replace(".", ","))
    expect(page.locator("#assess-total")).to_contain_text("0,5/")
    expect(page.locator("#assess-total")).to_contain_text("(đã lưu: 0)")
    expect(first.locator(".save-state")).to_have_text("Có thay đổi chưa lưu.")
    expect(page.locator("#bar-unsaved")).to_have_text("1 mục có thay đổi chưa lưu.")

    # 3. Evidence: a real PDF through the page, saved with the line (the server's totals confirm the running ones).
    first.get_by_label("Ghi chú (mục 1.1.1)").fill("Kế hoạch ban hành ngày 15/12/2020.")
    first.get_by_label("Thêm tài liệu kiểm chứng (mục 1.1.1)").set_input_files(str(evidence))
    expect(first.locator(".evidence-files li")).to_have_count(1)
    expect(first.locator(".evidence-files a")).to_have_text("ke-hoach-cchc-2021.pdf")
    expect(first.locator("#message-1-1-1")).to_contain_text("Đã thêm tài liệu “ke-hoach-cchc-2021.pdf” vào mục 1.1.1.")
    expect(first.locator(".save-state")).to_have_text(SAVED)
    expect(page.locator("#assess-total")).not_to_contain_text("đã lưu")
    expect(page.locator("#bar-unsaved")).to_have_text("Mọi thay đổi đã được lưu.")
    first.screenshot(path=str(artifacts / "assessment-province-leaf.png"))

    second = leaf(page, "1.1.2")
    second.get_by_label("Điểm tự chấm (mục 1.1.2)").fill("0.75")
    second.get_by_label("Giải trình (mục 1.1.2)").fill("Tài liệu lưu bản giấy tại Văn phòng UBND tỉnh.")
    second.get_by_role("button", name="Lưu mục 1.1.2").click()
    expect(second.locator(".save-state")).to_have_text(SAVED)
    third = leaf(page, "1.2")
    third.get_by_label("Điểm tự chấm (mục 1.2)").fill("1.25")
    third.get_by_label("Thêm tài liệu kiểm chứng (mục 1.2)").set_input_files(str(evidence))
    expect(third.locator(".evidence-files a")).to_have_text("ke-hoach-cchc-2021.pdf")
    expect(third.locator(".save-state")).to_have_text(SAVED)
    expect(field1).to_have_text(f"2,5/{field1_max:g}".replace(".", ","))

    # A file that is not an accepted kind is refused here, before any upload.
    (tmp_path / "ghi-chu.txt").write_text("không phải tài liệu", encoding="utf-8")
    third.get_by_label("Thêm tài liệu kiểm chứng (mục 1.2)").set_input_files(str(tmp_path / "ghi-chu.txt"))
    expect(third.locator(".upload-field .field-error")).to_contain_text("không đúng loại cho phép")
    expect(third.locator(".evidence-files li")).to_have_count(1)

    # 4. A reload finds everything kept.
    page.reload()
    first = leaf(page, "1.1.1")
    expect(first.get_by_label("Điểm tự chấm (mục 1.1.1)")).to_have_value("0.5")
    expect(first.get_by_label("Ghi chú (mục 1.1.1)")).to_have_value("Kế hoạch ban hành ngày 15/12/2020.")
    link = first.locator(".evidence-files a")
    expect(link).to_have_text("ke-hoach-cchc-2021.pdf")
    assert link.get_attribute("href").startswith("http")
    expect(page.locator("#assess-total")).to_contain_text("2,5/")
    expect(page.locator("#missing-box")).to_contain_text(f"Còn {len(leaves) - 3} mục chưa đủ điều kiện phê duyệt")
    page.screenshot(path=str(artifacts / "assessment-province-draft.png"), full_page=False)
    assert_accessible(page, "self-assessment form (draft)")

    # 5. Approving too early: the report goes up, the server refuses and lists what is missing, linked to the lines.
    fill_approval(page, report, today)
    box = page.locator("#approve-message")
    expect(box).to_contain_text(f"Còn {len(leaves) - 3} mục chưa hoàn thành; chưa thể phê duyệt.")
    missing = page.locator("#missing-box li")
    expect(missing).to_have_count(len(leaves) - 3)
    expect(page.locator('#missing-box li[data-code="1.1.3"]')).to_contain_text("1.1.3. ")
    expect(page.locator('#missing-box li[data-code="1.1.3"]')).to_contain_text("chưa chấm điểm.")
    page.locator('#missing-box li[data-code="1.1.3"] a').click()
    expect(leaf(page, "1.1.3").get_by_label("Điểm tự chấm (mục 1.1.3)")).to_be_focused()

    # The rest is scored (through the API: the page's way is covered above).
    for item in leaves:
        if item["code"] in ("1.1.1", "1.1.2", "1.2"):
            continue
        status, body = call(stack, "PUT", f"/campaigns/demo/units/{UNIT}/assessment/items/{item['code']}",
                            bearer=province, body={"score": item["max"], "note": "", "evidence": [],
                                                   "explanation": "Tài liệu lưu bản giấy tại Sở Nội vụ."})
        assert status == 200, body

    # 6. Approving: the form then turns read-only, with the notice and the approval on record.
    page.reload()
    expect(page.locator("#missing-box")).to_contain_text("Đơn vị có thể phê duyệt báo cáo")
    fill_approval(page, report, today)
    expect(page.locator("#approve-message")).to_contain_text("Đã phê duyệt báo cáo tự đánh giá và gửi Bộ Nội vụ lúc")
    expect(page.locator("#assess-state")).to_contain_text("Đã phê duyệt, gửi Bộ Nội vụ")
    notice = page.locator("#lock-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Bảng điểm chỉ để xem")
    expect(page.locator("#approve-form")).to_be_hidden()
    facts = page.locator("#approval-facts")
    expect(facts).to_contain_text("Nguyễn Văn Hùng")
    expect(facts).to_contain_text("125/QĐ-UBND")
    expect(facts).to_contain_text(today)
    expect(facts.locator("a")).to_have_text("bao-cao-tu-danh-gia-da-ky.pdf")
    first = leaf(page, "1.1.1")
    expect(first.get_by_label("Điểm tự chấm (mục 1.1.1)")).to_be_disabled()
    expect(first.get_by_label("Ghi chú (mục 1.1.1)")).to_be_disabled()
    expect(first.get_by_role("button", name="Lưu mục 1.1.1")).to_be_hidden()
    expect(first.get_by_label("Thêm tài liệu kiểm chứng (mục 1.1.1)")).to_be_hidden()
    expect(first.get_by_role("button", name=re.compile("^Gỡ tài liệu"))).to_have_count(0)
    page.reload()
    expect(page.locator("#lock-notice")).to_be_visible()
    expect(leaf(page, "1.1.2").get_by_label("Điểm tự chấm (mục 1.1.2)")).to_be_disabled()
    expect(page.locator("input:enabled.score-input")).to_have_count(0)
    page.screenshot(path=str(artifacts / "assessment-province-approved.png"), full_page=False)
    assert_accessible(page, "self-assessment form (approved, read-only)")

    # 7. The ministry: from its home to the appraisal page, the unit chosen in the list.
    admin = new_page()
    log_in(admin, stack, "admin")
    admin.get_by_role("link", name="Thẩm định kết quả tự đánh giá").click()
    expect(admin).to_have_url(re.compile(r"/bo/tham-dinh\.html\?dot=demo"))
    admin.get_by_label("Đơn vị", exact=True).select_option(UNIT)
    expect(admin).to_have_url(re.compile(rf"unit={UNIT}"))
    expect(admin.locator("#assess-state")).to_contain_text("Đã phê duyệt, gửi Bộ Nội vụ")
    expect(admin.locator("#approval-facts")).to_contain_text("125/QĐ-UBND")
    expect(admin.locator("#published")).to_have_text("Chưa công bố")
    row = admin.locator('tr.leaf-row[data-code="1.1.1"]')
    expect(row.locator(".self-cell")).to_contain_text("0,5/0,75")
    expect(row.locator(".self-cell")).to_contain_text("Kế hoạch ban hành ngày 15/12/2020.")
    expect(row.locator(".self-cell a")).to_have_text("ke-hoach-cchc-2021.pdf")
    expect(admin.locator('tr.leaf-row[data-code="1.1.2"] .self-cell')).to_contain_text(
        "Giải trình: Tài liệu lưu bản giấy tại Văn phòng UBND tỉnh.")
    appraised = row.get_by_label("Điểm thẩm định mục 1.1.1")
    expect(appraised).to_be_enabled()
    before = admin.locator("#appraised-total").inner_text()
    appraised.fill("0.25")
    row.get_by_label("Ý kiến thẩm định mục 1.1.1").fill("Kế hoạch ban hành chậm so với quy định.")
    expect(admin.locator("#appraised-total")).not_to_have_text(before)
    row.get_by_role("button", name="Lưu thẩm định mục 1.1.1").click()
    expect(row.locator(".save-state")).to_have_text(SAVED)
    expect(admin.locator("#appraised-total")).not_to_contain_text("đã lưu")
    row.screenshot(path=str(artifacts / "appraisal-ministry-row.png"))
    sipas = admin.locator('tr.leaf-row[data-code="8.2"]')
    sipas.get_by_label("Điểm thẩm định mục 8.2").fill("8.5")
    sipas.get_by_role("button", name="Lưu thẩm định mục 8.2").click()
    expect(sipas.locator(".save-state")).to_have_text(SAVED)
    survey_row = admin.locator('tr.leaf-row[data-method="survey"]').first
    expect(survey_row.locator("input")).to_have_count(0)
    admin.screenshot(path=str(artifacts / "appraisal-ministry.png"), full_page=False)
    assert_accessible(admin, "appraisal page")

    # The reopening dialog needs a reason (closed again without reopening).
    admin.get_by_role("button", name="Mở lại để đơn vị sửa").click()
    dialog = admin.get_by_role("dialog", name=re.compile(r"^Mở lại bản tự đánh giá của "))
    expect(dialog).to_be_visible()
    reason = dialog.get_by_label("Lý do mở lại (bắt buộc)")
    expect(reason).to_be_focused()
    dialog.get_by_role("button", name="Mở lại để đơn vị sửa").click()
    expect(dialog.locator(".field-error")).to_have_text("Vui lòng nêu lý do mở lại.")
    assert_accessible(admin, "reopening dialog")
    dialog.get_by_role("button", name="Đóng").click()
    expect(dialog).to_be_hidden()

    # 8. Publishing, confirmed in a dialog.
    admin.get_by_role("button", name="Công bố kết quả thẩm định").click()
    confirm = admin.get_by_role("dialog", name=re.compile(r"^Công bố kết quả thẩm định của "))
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Công bố").click()
    expect(admin.locator("#action-message")).to_contain_text("Đã công bố kết quả thẩm định")
    expect(admin.locator("#published")).to_contain_text("Đã công bố lúc")

    # 9. The province sees the appraised score beside its own.
    page.reload()
    first = leaf(page, "1.1.1")
    result = first.locator(".appraisal-result")
    expect(result).to_contain_text("Điểm thẩm định: 0,25/0,75")
    expect(result).to_contain_text("Ý kiến thẩm định: Kế hoạch ban hành chậm so với quy định.")
    expect(first.get_by_label("Điểm tự chấm (mục 1.1.1)")).to_have_value("0.5")
    expect(leaf(page, "8.2").locator(".appraisal-result")).to_contain_text("8,5/10")
    expect(page.locator("#assess-appraised-row")).to_be_visible()
    expect(page.locator("#assess-state")).to_contain_text("Bộ Nội vụ đã công bố kết quả thẩm định")
    first.screenshot(path=str(artifacts / "assessment-province-appraised.png"))
    assert_accessible(page, "self-assessment form with the published appraisal")

    # 10. The results: the unit ranked in the table and the chart, sorting, the workbook.
    results = new_page()
    log_in(results, stack, "admin")
    results.get_by_role("link", name="Kết quả Chỉ số CCHC").click()
    expect(results).to_have_url(re.compile(r"/bo/ket-qua\.html\?dot=demo$"))
    table = results.locator("#results-table")
    expect(table).not_to_have_attribute("aria-busy", "true")
    ours = table.locator(f'tbody tr[data-unit="{UNIT}"]')
    expect(ours).to_be_visible()
    status, data = call(stack, "GET", "/campaigns/demo/results", bearer=login(stack, "admin"))
    assert status == 200, data
    mine = next(u for u in data["units"] if u["unit"] == UNIT)
    expect(ours.locator("td.rank")).to_have_text(str(mine["rank"]))
    expect(ours.locator("td.index")).to_have_text(f"{mine['index']:.2f}".replace(".", ","))
    expect(ours.locator("td.grade")).to_have_text(mine["grade"])
    expect(ours.locator('td[data-part="imported"]')).to_contain_text("8,5/")
    expect(ours).to_contain_text("Đã công bố thẩm định")
    expect(ours).to_contain_text("Đã phê duyệt tự đánh giá")
    expect(results.locator('#summary [data-total="units"] dd')).to_have_text(str(len(data["units"])))
    expect(results.locator('#summary [data-total="grade-A"] dt')).to_contain_text("Nhóm A")
    expect(results.locator("#ranking svg[role='img']")).to_be_visible()
    expect(results.locator("#ranking table.chart-data")).to_contain_text(mine["name"])
    name_header = table.locator('th[data-sort="name"]')
    name_header.get_by_role("button").click()
    expect(name_header).to_have_attribute("aria-sort", "ascending")
    expect(results.locator("#unit-count")).to_contain_text("sắp xếp theo tên đơn vị")
    names = table.locator("tbody th a").all_inner_texts()
    assert results.evaluate("""(names) => {
        const fold = (t) => t.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase();
        return names.every((n, i) => i === 0 || fold(names[i - 1]).localeCompare(fold(n), 'vi') <= 0);
    }""", names), names
    index_header = table.locator('th[data-sort="index"]')
    index_header.get_by_role("button").click()
    expect(index_header).to_have_attribute("aria-sort", "descending")
    indexes = [float(t.replace(",", ".")) for t in table.locator("tbody td.index").all_inner_texts()]
    assert indexes == sorted(indexes, reverse=True), indexes
    results.screenshot(path=str(artifacts / "results-ministry.png"), full_page=False)
    assert_accessible(results, "results page")
    with results.expect_download() as info:
        results.get_by_role("button", name="Tải bảng kết quả (.xlsx)").click()
    download = info.value
    assert download.suggested_filename == "ket-qua-chi-so-cchc-demo.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    assert "Tổng hợp" in workbook.sheetnames
    expect(results.locator("#export-message")).to_contain_text("Đã tạo tệp ket-qua-chi-so-cchc-demo.xlsx")

    # 11. From the results to the unit's appraisal, where the ministry reopens the form with a reason.
    ours.get_by_role("link", name=mine["name"]).click()
    expect(results).to_have_url(re.compile(rf"/bo/tham-dinh\.html\?dot=demo&unit={UNIT}$"))
    expect(results.get_by_label("Đơn vị", exact=True)).to_have_value(UNIT)
    expect(results.locator("#assess-state")).to_contain_text("Đã phê duyệt, gửi Bộ Nội vụ")
    results.get_by_role("button", name="Mở lại để đơn vị sửa").click()
    dialog = results.get_by_role("dialog", name=re.compile(r"^Mở lại bản tự đánh giá của "))
    dialog.get_by_label("Lý do mở lại (bắt buộc)").fill("Bổ sung tài liệu kiểm chứng cho mục 1.1.2.")
    dialog.get_by_role("button", name="Mở lại để đơn vị sửa").click()
    expect(dialog).to_be_hidden()
    expect(results.locator("#action-message")).to_contain_text("Đã mở lại bản tự đánh giá của")
    expect(results.locator("#assess-state")).to_contain_text("Đang nhập")
    expect(results.locator("#reopened")).to_contain_text("Lý do: Bổ sung tài liệu kiểm chứng cho mục 1.1.2.")
    expect(results.locator("#publish-button")).to_be_disabled()
    expect(results.locator('tr.leaf-row[data-code="1.1.1"]').get_by_label("Điểm thẩm định mục 1.1.1")).to_be_disabled()

    # The province can score again: the notice is gone, the reason shown.
    page.reload()
    expect(page.locator("#assess-state")).to_contain_text("Đang nhập")
    expect(page.locator("#lock-notice")).to_be_hidden()
    expect(page.locator("#reopened")).to_contain_text("Lý do: Bổ sung tài liệu kiểm chứng cho mục 1.1.2.")
    expect(leaf(page, "1.1.2").get_by_label("Điểm tự chấm (mục 1.1.2)")).to_be_enabled()
    expect(page.locator("#approve-form")).to_be_visible()
    assert not new_page.errors, new_page.errors


def stubbed_results() -> dict:
    part = {"points": 0, "max": 0}
    return {
        "campaign": "demo", "name": "Đợt thử nghiệm", "framework": {"title": "Mẫu", "sample": True, "version": 1},
        "maximum": 100, "min_responses": 10, "average": 85.5, "average_units": 2, "grade_counts": {"A": 1, "B": 1, "C": 0},
        "grades": [{"code": "A", "name": "Nhóm A", "min": 90}, {"code": "B", "name": "Nhóm B", "min": 80},
                   {"code": "C", "name": "Nhóm C", "min": 0}],
        "fields": [{"code": "1", "name": "Lĩnh vực 1", "max": 100}],
        "units": [
            {"unit": "31", "name": "Hải Phòng", "rank": 1, "index": 91.8, "points": 91.8, "grade": "A",
             "annulled": False, "provisional": False, "responses": 120, "assessment_state": "approved",
             "appraisal_published": True,
             "survey": {"responses": 120, "forms": 150, "rate": 80.0, "small_sample": False},
             "integrity": {"score": 45, "level": "high", "level_name": "Cao", "flagged": True, "flags": 2,
                           "scanned_at_label": "10/03/2022 06:00"},
             "parts": {"self": {"points": 60.5, "max": 62}, "survey": {"points": 21.3, "max": 23},
                       "imported": {"points": 10, "max": 15}}, "fields": {"1": part}, "lines": {}},
            {"unit": "37", "name": "Ninh Bình", "rank": 2, "index": 79.2, "points": 79.2, "grade": "B",
             "annulled": True, "provisional": True, "responses": 0, "assessment_state": "locked",
             "appraisal_published": False,
             "survey": {"responses": 1, "forms": 12, "rate": 8.3, "small_sample": True},
             "integrity": {"score": 70, "level": "high", "level_name": "Cao", "flagged": True, "flags": 3,
                           "scanned_at_label": "10/03/2022 06:00"},
             "parts": {"self": {"points": 66.2, "max": 62}, "survey": {"points": 0, "max": 23},
                       "imported": {"points": 13, "max": 15}}, "fields": {"1": part}, "lines": {}},
        ],
    }


def test_the_results_page_marks_annulled_survey_results_and_provisional_figures(stack, new_page):
    """The flags and the grade summary, from a stubbed answer (annulling takes a whole survey to set up)."""
    page = new_page()
    log_in(page, stack, "admin")
    page.route(re.compile(r"/campaigns/demo/results$"), lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(stubbed_results())))
    page.goto("/bo/ket-qua.html?dot=demo")
    annulled = page.locator('#results-table tbody tr[data-unit="37"]')
    expect(annulled).to_have_attribute("data-annulled", "true")
    expect(annulled.locator(".badge-annulled")).to_have_text("Đã hủy kết quả điều tra")
    expect(annulled.locator(".badge-provisional")).to_have_text("Tạm tính")
    expect(annulled).to_contain_text("Đã khóa (hết hạn)")
    expect(annulled.locator("td.index")).to_have_text("79,20")
    clean = page.locator('#results-table tbody tr[data-unit="31"]')
    expect(clean.locator(".badge-annulled")).to_have_count(0)
    expect(clean.locator(".badge-provisional")).to_have_count(0)
    expect(clean.locator('td[data-part="survey"]')).to_have_text("21,3/23")
    expect(page.locator('#summary [data-total="average"] dd')).to_have_text("85,50")
    expect(page.locator('#summary [data-total="grade-A"]')).to_contain_text("Nhóm A (từ 90 điểm)")
    expect(page.locator('#summary [data-total="grade-B"]')).to_contain_text("Nhóm B (từ 80 đến dưới 90 điểm)")
    expect(page.locator('#summary [data-total="grade-C"]')).to_contain_text("Nhóm C (dưới 80 điểm)")
    expect(page.locator('#summary [data-total="grade-B"] dd')).to_have_text("1 đơn vị")
    expect(page.locator("#summary-note")).to_contain_text("1 đơn vị bị hủy kết quả điều tra xã hội học")
    expect(page.locator("#summary-note")).to_contain_text("1 đơn vị có kết quả tạm tính")
    expect(page.locator("#summary-note")).to_contain_text("Chỉ số trung bình là trung bình của 2 đơn vị có số liệu.")
    # What the ranking rests on: answers and rate, the interference risk and state, the small sample.
    expect(clean.locator("td.responses")).to_have_text("120/150 (80%)")
    expect(clean.locator("td.risk")).to_contain_text("45/100 · Cao")
    expect(clean.locator("td.risk .badge-flagged")).to_have_text("Có dấu hiệu can thiệp")
    expect(clean.locator(".badge-small-sample")).to_have_count(0)
    expect(annulled.locator("td.responses")).to_contain_text("1/12 (8,3%)")
    expect(annulled.locator("td.responses .badge-small-sample")).to_have_text("Mẫu quá nhỏ (dưới 10 phiếu)")
    expect(annulled.locator("td.risk")).to_contain_text("70/100 · Cao")
    expect(annulled.locator("td.risk .badge-risk-annulled")).to_have_text("Đã hủy kết quả")
    expect(page.locator("#summary-note")).to_contain_text("1 đơn vị có nguy cơ can thiệp cao")
    page.get_by_role("button", name=re.compile(r"^Nguy cơ can thiệp")).click()
    expect(page.locator("#results-table tbody tr").first).to_have_attribute("data-unit", "37")
    assert_accessible(page, "results with responses and risk")
    phone = new_page(375, 740)
    log_in(phone, stack, "admin")
    phone.route(re.compile(r"/campaigns/demo/results$"), lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(stubbed_results())))
    phone.goto("/bo/ket-qua.html?dot=demo")
    expect(phone.locator('#results-table tbody tr[data-unit="37"] td.responses')).to_contain_text("1/12")
    assert_accessible(phone, "results at phone width")
    assert not new_page.errors, new_page.errors


def test_the_scoring_form_fits_a_phone_screen(stack, new_page, artifacts):
    phone = new_page(375, 740)
    log_in(phone, stack, "35")
    phone.goto("/tinh/tu-danh-gia.html?dot=demo")
    expect(phone.locator("#tree")).not_to_have_attribute("aria-busy", "true")
    expect(phone.locator('article.assess-leaf[data-code="1.1.1"]')).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.locator('article.assess-leaf[data-code="1.1.1"]').screenshot(path=str(artifacts / "assessment-phone.png"))
    assert not new_page.errors, new_page.errors
