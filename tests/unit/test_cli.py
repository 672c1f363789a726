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
    ministries = tmp_path / "bo-tieu-chi-cac-bo.json"
    ministries.write_text(json.dumps(load_json("frameworks/sample-2021-ministry.json"), ensure_ascii=False),
                          encoding="utf-8")
    cli.main(["import-framework", "demo", str(ministries), "--kind", "ministry"])
    assert "phiên bản 2, 7 lĩnh vực, tổng 100 điểm" in capsys.readouterr().out
    out = tmp_path / "ket-qua.xlsx"
    cli.main(["export-results", "demo", "--out", str(out)])
    book = load_workbook(out)
    assert book.sheetnames[0] == "Tổng hợp" and len(book.sheetnames) == 9 + 8  # the ministries' sheets too
    assert book["Tổng hợp"].max_row == 4 + 63 and book["Tổng hợp các bộ"].max_row == 4 + 19


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


# --- operations (docs/RUNBOOK.md) ----------------------------------------------------------------------------------

def audited(action: str) -> list:
    from datetime import datetime, timedelta, timezone

    from chalicelib.store import audit as audit_store

    now = datetime.now(timezone.utc)
    items, _ = audit_store.query(start=now - timedelta(days=3650), end=now + timedelta(days=3650), unit=None,
                                 actor=None, action=action, cid=None, limit=50, cursor=None)
    return items


def test_resume_mail_and_reset_breaker_go_through_the_ministrys_service_and_are_audited(aws, capsys):
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns
    from chalicelib.store import delivery as delivery_store

    campaigns.create_from_files("demo", runtime.now(), runtime.random_bytes)
    with pytest.raises(SystemExit):
        cli.main(["resume-mail", "demo", "01", "--reason", "Đã sửa danh sách"])
    assert "không bị tạm dừng" in capsys.readouterr().err  # the service's own refusal
    delivery_store.pause_unit("demo#01", "Tỷ lệ thư bị trả lại 12%", {"bounce_rate": 0.12}, runtime.now())
    cli.main(["resume-mail", "demo", "01", "--reason", "Tỉnh đã sửa 30 địa chỉ sai"])
    assert "Đơn vị 01 của đợt demo được gửi thư tiếp" in capsys.readouterr().out
    assert not delivery_store.unit_stop("demo#01").active
    [entry] = audited("mail_unit_resumed")
    assert entry.details["reason"] == "Tỉnh đã sửa 30 địa chỉ sai" and entry.actor == "admin-cli"

    with pytest.raises(SystemExit):
        cli.main(["reset-breaker", "--reason", "   "])  # a reason is required
    assert "cần nêu lý do" in capsys.readouterr().err
    delivery_store.trip_breaker("Tỷ lệ trả lại toàn quốc 4%", {"bounce_rate": 0.04}, runtime.now())
    assert delivery_store.breaker().active
    cli.main(["reset-breaker", "--reason", "Đã loại các danh sách lỗi"])
    assert "Đã cho gửi thư tiếp trên toàn quốc" in capsys.readouterr().out
    assert not delivery_store.breaker().active
    assert [e.details["reason"] for e in audited("mail_breaker_reset")] == ["Đã loại các danh sách lỗi"]


def test_extend_phase_takes_a_vietnamese_local_time_for_everyone_or_one_unit(aws, capsys):
    from datetime import datetime, timedelta, timezone

    from chalicelib.domain.phases import windows
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns
    from chalicelib.store import campaigns as campaign_store

    campaigns.create_from_files("demo", runtime.now(), runtime.random_bytes)
    common = windows(campaign_store.get_campaign("demo").phases)["survey"].closes_at
    later = (common + timedelta(days=10)).astimezone(timezone(timedelta(hours=7)))
    cli.main(["extend-phase", "demo", "survey", "--until", f"{later:%d/%m/%Y} 17:30", "--reason", "Nhiều tỉnh đề nghị"])
    closes = windows(campaign_store.get_campaign("demo").phases)["survey"].closes_at
    assert closes == datetime(later.year, later.month, later.day, 10, 30, tzinfo=timezone.utc)  # 17:30 in Hà Nội
    assert f"mọi đơn vị: thời hạn mới 17:30 {later:%d/%m/%Y}" in capsys.readouterr().out
    assert audited("phase_changed")[0].details["reason"] == "Nhiều tỉnh đề nghị"

    unit_day = later + timedelta(days=3)
    cli.main(["extend-phase", "demo", "survey", "--until", f"{unit_day:%d/%m/%Y}", "--unit", "01",
              "--reason", "Bão lũ"])
    assert f"đơn vị 01: thời hạn mới hết ngày {unit_day:%d/%m/%Y}" in capsys.readouterr().out
    assert campaign_store.get_unit("demo", "01").extensions["survey"] == (
        datetime(unit_day.year, unit_day.month, unit_day.day, tzinfo=timezone(timedelta(hours=7)))
        + timedelta(days=1)).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")  # end of that day
    for bad in ("2022-01-15", "31/02/2022 10:00", "15/01/2022 25:00"):
        with pytest.raises(SystemExit):
            cli.main(["extend-phase", "demo", "survey", "--until", bad, "--reason", "x"])
        assert "dd/mm/yyyy HH:MM" in capsys.readouterr().err


def test_redrive_moves_every_dead_letter_back_to_its_queue_once(aws, capsys):
    from chalicelib.config import settings
    from chalicelib.store import queues

    sqs = queues._sqs()
    mail = settings().mail_queue
    dlq = sqs.get_queue_url(QueueName=f"{mail}-dlq")["QueueUrl"]
    bodies = [json.dumps({"batch": i}) for i in range(23)]
    for body in bodies:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    cli.main(["redrive-dlq", "mail", "--max", "5"])
    assert "Đã chuyển 5 việc" in capsys.readouterr().out
    cli.main(["redrive-dlq", mail])
    assert "Đã chuyển 18 việc" in capsys.readouterr().out
    target = sqs.get_queue_url(QueueName=mail)["QueueUrl"]
    received = []
    while batch := sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10).get("Messages", []):
        received += [m["Body"] for m in batch]
    assert sorted(received) == sorted(bodies)
    assert not sqs.receive_message(QueueUrl=dlq).get("Messages")
    assert sorted(e.details["messages"] for e in audited("dlq_redriven")) == [5, 18]
    cli.main(["redrive-dlq", "jobs"])
    assert "không có việc nào" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["redrive-dlq", "nothing"])
    assert "chọn một trong: jobs, mail" in capsys.readouterr().err


def test_restore_table_refuses_without_pitr_restores_into_a_new_table_and_copies_back(aws, capsys):
    import boto3

    from chalicelib.config import settings
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns
    from chalicelib.store.models import CampaignModel

    campaigns.create_from_files("demo", runtime.now(), runtime.random_bytes)
    table = settings().table_prefix + "campaigns"
    client = boto3.client("dynamodb", region_name=settings().region)
    with pytest.raises(SystemExit):
        cli.main(["restore-table", "campaigns", "--to", "01/01/2022 08:00"])
    assert "chưa bật khôi phục theo thời điểm" in capsys.readouterr().err
    client.update_continuous_backups(TableName=table,
                                     PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    with pytest.raises(SystemExit):
        cli.main(["restore-table", "campaigns", "--to", "01/01/2022 08:00"])  # before recovery was enabled
    assert "Chỉ khôi phục được bảng" in capsys.readouterr().err
    latest = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]["LatestRestorableDateTime"]
    cli.main(["restore-table", "campaigns", "--to", latest.isoformat(), "--target", "restored-campaigns"])
    out = capsys.readouterr().out
    assert "restore-table campaigns --copy-from restored-campaigns" in out and "không đổi tên" in out
    restored = client.scan(TableName="restored-campaigns")["Items"]
    assert {i["cid"]["S"] for i in restored} == {"demo"}
    assert audited("table_restore_started")[0].details["restored_table"] == "restored-campaigns"

    # after the restore point: a campaign's name damaged, another campaign created; then the copy back
    demo = CampaignModel.get("CAMPAIGN", "demo")
    name = demo.name
    demo.update(actions=[CampaignModel.name.set("hỏng")])
    campaigns.create_from_files("2021", runtime.now(), runtime.random_bytes)
    cli.main(["restore-table", "campaigns", "--copy-from", "restored-campaigns"])
    out = capsys.readouterr().out
    assert CampaignModel.get("CAMPAIGN", "demo").name == name != "hỏng"
    assert CampaignModel.get("CAMPAIGN", "2021").year == 2021  # written after the restore point: kept
    assert "1 bản ghi của" in out and "được giữ nguyên" in out
