import json

import pytest
from openpyxl import load_workbook

from chalicelib import cli
from chalicelib.domain.credentials import verify_password
from chalicelib.store.models import AccountModel


def test_the_accounts_command_creates_every_account_and_a_credentials_workbook(aws, tmp_path):
    workbook, creds = tmp_path / "tai-khoan.xlsx", tmp_path / "credentials.json"
    cli.main(["accounts", "--campaign", "2021", "--workbook", str(workbook), "--credentials", str(creds)])
    data = json.loads(creds.read_text(encoding="utf-8"))
    # the admin, 63 provinces and 19 assessed ministries, each unit's account under its code
    assert data["admin"]["username"] == "admin" and len(data["units"]) == 63 + 19
    assert data["units"]["BTP"]["username"] == "bobtp" and data["units"]["01"]["username"] == "tinh01"
    sheet = load_workbook(workbook).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("STT", "Mã đơn vị", "Đơn vị", "Vai trò", "Tên đăng nhập", "Mật khẩu")
    assert len(rows) == 1 + 1 + 63 + 19 and rows[2][1:4] == ("01", "Hà Nội", "Tỉnh, thành phố")
    assert rows[1][3] == "Bộ Nội vụ"
    justice = next(r for r in rows if r[1] == "BTP")
    assert justice[2:5] == ("Bộ Tư pháp", "Bộ, cơ quan ngang bộ", "bobtp")
    assert AccountModel.get("bobtp").role == "ministry" and AccountModel.get("bobtp").unit == "BTP"
    account = AccountModel.get(rows[2][4])
    assert verify_password(rows[2][5], account.password_hash) and account.must_change_password
    assert rows[2][5] not in account.password_hash


@pytest.mark.slow
def test_running_it_again_keeps_existing_accounts_unless_reset(aws, tmp_path):
    cli.main(["accounts", "--workbook", str(tmp_path / "a.xlsx")])
    before = AccountModel.get("tinh01").password_hash
    cli.main(["accounts", "--workbook", str(tmp_path / "b.xlsx")])
    assert not (tmp_path / "b.xlsx").exists() and AccountModel.get("tinh01").password_hash == before
    cli.main(["accounts", "--reset", "--workbook", str(tmp_path / "c.xlsx")])
    assert AccountModel.get("tinh01").password_hash != before


@pytest.mark.slow
def test_seed_creates_both_campaigns_once_and_a_complete_credentials_file(aws, tmp_path, capsys):
    creds = tmp_path / "credentials.json"
    cli.main(["seed", "--credentials", str(creds), "--workbook", str(tmp_path / "c.xlsx")])
    cli.main(["seed", "--credentials", str(creds), "--workbook", str(tmp_path / "c.xlsx")])
    out = capsys.readouterr().out
    assert "Đợt đánh giá 2021: đã tạo" in out and "Đợt đánh giá demo: đã có" in out
    data = json.loads(creds.read_text(encoding="utf-8"))
    assert len(data["units"]) == 63 + 19
    assert verify_password(data["units"]["01"]["password"], AccountModel.get("tinh01").password_hash)


def test_the_cli_imports_a_questionnaire_starts_dispatch_and_exports_progress(aws, tmp_path, capsys):
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns
    from chalicelib.services.questionnaires import content

    campaigns.create_from_files("demo", runtime.now(), runtime.random_bytes)
    version, definition = content("demo", "locality-1")
    definition["title"] = "Phiếu đánh giá địa phương (bản chính thức)"
    source = tmp_path / "phieu.json"
    source.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    cli.main(["import-questionnaire", "demo", "locality-1", str(source)])
    assert content("demo", "locality-1")[0] == version + 1
    import pytest
    with pytest.raises(SystemExit):
        cli.main(["dispatch", "demo"])  # no roster sent yet: a clear refusal
    assert "Chưa có đơn vị nào gửi danh sách" in capsys.readouterr().err
    out = tmp_path / "tien-do.xlsx"
    cli.main(["export-progress", "demo", "--out", str(out)])
    assert load_workbook(out)["Toàn quốc"]["A4"].value == "Mã"


def test_the_cli_imports_a_framework_and_exports_the_results(aws, tmp_path, capsys):
    import pytest

    from chalicelib.formats.datafiles import load_json
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns

    campaigns.create_from_files("demo", runtime.now(), runtime.random_bytes)
    framework = load_json("frameworks/sample-2021-province.json")
    framework["title"] = "Bộ tiêu chí chính thức (thử)"
    source = tmp_path / "bo-tieu-chi.json"
    source.write_text(json.dumps(framework, ensure_ascii=False), encoding="utf-8")
    cli.main(["import-framework", "demo", str(source)])
    assert "phiên bản 2, 8 lĩnh vực, tổng 100 điểm" in capsys.readouterr().out
    framework["fields"][0]["max"] = 99
    source.write_text(json.dumps(framework, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit):
        cli.main(["import-framework", "demo", str(source)])
    assert "khác tổng điểm các mục con" in capsys.readouterr().err
    out = tmp_path / "ket-qua.xlsx"
    cli.main(["export-results", "demo", "--out", str(out)])
    book = load_workbook(out)
    assert book.sheetnames[0] == "Tổng hợp" and len(book.sheetnames) == 9
    assert book["Tổng hợp"].max_row == 4 + 63


def test_the_credentials_workbook_and_file_are_readable_by_their_owner_only(aws, tmp_path):
    """Written 0600 even under a permissive umask, and an existing world-readable file is replaced, not reused."""
    import os
    import stat

    workbook, creds = tmp_path / "tai-khoan.xlsx", tmp_path / "credentials.json"
    workbook.write_bytes(b"old")
    os.chmod(workbook, 0o644)
    old_umask = os.umask(0)
    try:
        cli.main(["accounts", "--campaign", "2021", "--workbook", str(workbook), "--credentials", str(creds)])
        cli.main(["seed", "--credentials", str(tmp_path / "seed.json"), "--workbook", str(tmp_path / "seed.xlsx")])
    finally:
        os.umask(old_umask)
    for path in (workbook, creds, tmp_path / "seed.json", tmp_path / "seed.xlsx"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert load_workbook(workbook).active.max_row == 1 + 1 + 63 + 19
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json", "seed.json", "seed.xlsx",
                                                         "tai-khoan.xlsx"], "no temporary file left behind"
