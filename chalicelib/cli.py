"""Admin command line: `python -m chalicelib.cli <command>` (see --help)."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path


def cmd_bootstrap(args: argparse.Namespace) -> None:
    from chalicelib.store.bootstrap import ensure_resources

    created = ensure_resources()
    print(f"Tài nguyên đã sẵn sàng ({len(created)} mới tạo): {', '.join(created) or 'không có'}")


def cmd_create_campaign(args: argparse.Namespace) -> None:
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns

    result = campaigns.create_from_files(args.source, runtime.now(), runtime.random_bytes)
    print(f"Đã tạo đợt đánh giá {result['id']}." if result else f"Đợt đánh giá {args.source} đã có, bỏ qua.")


def write_private(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` readable and writable by its owner only (0600), atomically: the bytes go to a fresh
    temporary file created with that mode (never a moment readable by others, whatever the umask), which then
    replaces the target (an existing file with wider permissions is replaced, not reused)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # O_CREAT's mode is already 0600 less the umask; make it exact
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_credentials(issued: list[dict], json_path: str | None, workbook_path: str | None) -> None:
    """The passwords just issued, in the local JSON file and the workbook handed out: both owner-only (0600)."""
    if json_path:
        path = Path(json_path)
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"admin": None, "units": {}}
        for item in issued:
            entry = {"username": item["username"], "password": item["password"]}
            if item["unit"]:
                data["units"][item["unit"]] = entry
            else:
                data["admin"] = entry
        write_private(path, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
    if workbook_path and issued:
        from chalicelib.formats.credentials_xlsx import credentials_workbook

        write_private(workbook_path, credentials_workbook(issued))


def cmd_accounts(args: argparse.Namespace) -> None:
    from chalicelib.formats import datafiles
    from chalicelib.runtime import runtime
    from chalicelib.services import accounts

    _, units = datafiles.load_campaign(args.campaign, datafiles.UNIT_KINDS)
    issued = accounts.provision(units, runtime.now(), runtime.random_bytes, reset=args.reset,
                                must_change=not args.no_force_change)
    _write_credentials(issued, args.credentials, args.workbook)
    print(f"Đã cấp {len(issued)} tài khoản" + (f"; sổ tài khoản: {args.workbook}" if args.workbook and issued else "."))


def cmd_seed(args: argparse.Namespace) -> None:
    """Local and demo stages: campaigns 2021 and demo, accounts, and a credentials file that is always complete."""
    from chalicelib.formats import datafiles
    from chalicelib.runtime import runtime
    from chalicelib.services import accounts, campaigns

    for name in ("2021", "demo"):
        result = campaigns.create_from_files(name, runtime.now(), runtime.random_bytes)
        print(f"Đợt đánh giá {name}: {'đã tạo' if result else 'đã có'}")
    _, units = datafiles.load_campaign("2021", datafiles.UNIT_KINDS)
    known = Path(args.credentials).exists() if args.credentials else True
    issued = accounts.provision(units, runtime.now(), runtime.random_bytes, reset=not known, must_change=False)
    _write_credentials(issued, args.credentials, args.workbook)
    print(f"Tài khoản: {len(issued)} được cấp mới" if issued else "Tài khoản: đã có")


def _admin():
    from chalicelib.domain.access import Actor

    return Actor("admin-cli", "moha", None, "Quản trị (dòng lệnh)")


def _report_error(exc) -> None:
    details = "".join(f"\n  - {d.get('row') or d.get('field') or ''} {d.get('message', '')}" for d in exc.details
                      if isinstance(d, dict))
    print(f"Lỗi: {exc.message}{details}", file=sys.stderr)
    raise SystemExit(1)


def cmd_import_questionnaire(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.runtime import runtime
    from chalicelib.services import questionnaires

    data = Path(args.file).read_bytes()
    try:
        if args.file.endswith(".xlsx"):
            result = questionnaires.import_workbook(_admin(), args.campaign, args.qid, data, runtime.now(),
                                                    runtime.random_bytes)
        else:
            result = questionnaires.replace(_admin(), args.campaign, args.qid, json.loads(data.decode("utf-8")),
                                            runtime.now(), runtime.random_bytes)
    except DomainError as exc:
        _report_error(exc)
    print(f"Phiếu {args.qid} của đợt {args.campaign}: phiên bản {result['version']}.")


def cmd_dispatch(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.runtime import runtime
    from chalicelib.services import dispatch

    try:
        run = dispatch.start(_admin(), args.campaign, args.units or None, runtime.now(), runtime.random_bytes)
    except DomainError as exc:
        _report_error(exc)
    print(f"Đã bắt đầu phát hành phiếu cho {run['units_total']} đơn vị (lượt {run['run']}); theo dõi tiến độ tại "
          "trang Bộ Nội vụ hoặc GET /campaigns/{cid}/dispatch.")


def cmd_export_progress(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.formats import progress_xlsx
    from chalicelib.domain.timefmt import local_datetime
    from chalicelib.runtime import runtime
    from chalicelib.services import progress

    try:
        data = progress.national(_admin(), args.campaign)
    except DomainError as exc:
        _report_error(exc)
    Path(args.out).write_bytes(progress_xlsx.national_workbook(data, local_datetime(runtime.now())))
    print(f"Đã xuất tiến độ khảo sát toàn quốc của đợt {args.campaign}: {args.out}")


def cmd_import_framework(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.runtime import runtime
    from chalicelib.services import assessment

    data = Path(args.file).read_bytes()
    suffix = runtime.random_bytes(4).hex()
    try:
        if args.file.endswith(".xlsx"):
            result = assessment.import_framework_workbook(_admin(), args.campaign, data, runtime.now(), suffix,
                                                          args.kind)
        else:
            result = assessment.replace_framework(_admin(), args.campaign, json.loads(data.decode("utf-8")),
                                                  runtime.now(), suffix, args.kind)
    except DomainError as exc:
        _report_error(exc)
    print(f"Bộ tiêu chí của đợt {args.campaign}: phiên bản {result['version']}, {len(result['fields'])} lĩnh vực, "
          f"tổng {result['maximum']} điểm.")


def cmd_export_results(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.runtime import runtime
    from chalicelib.services import results

    try:
        data = results.results(_admin(), args.campaign)
        content = results.workbook(args.campaign, runtime.now())  # the ministries' sheets too where it has them
    except DomainError as exc:
        _report_error(exc)
    Path(args.out).write_bytes(content)
    print(f"Đã xuất kết quả Chỉ số CCHC của đợt {args.campaign} ({len(data['units'])} đơn vị): {args.out}")


# --- operations (docs/RUNBOOK.md): the same services as the ministry's page, audited the same way ------------------

def _reason(value: str) -> str:
    reason = " ".join(value.split())
    if not reason or len(reason) > 500:
        print("Lỗi: cần nêu lý do (tối đa 500 ký tự) bằng --reason.", file=sys.stderr)
        raise SystemExit(2)
    return reason


def cmd_resume_mail(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.runtime import runtime
    from chalicelib.services import delivery

    try:
        stop = delivery.resume_unit(_admin(), args.campaign, args.unit, _reason(args.reason), runtime.now(),
                                    runtime.random_bytes(4).hex())
    except DomainError as exc:
        _report_error(exc)
    print(f"Đơn vị {args.unit} của đợt {args.campaign} được gửi thư tiếp từ {stop['resumed_at_label']}; "
          "việc tạm dừng chỉ xét các thư gửi từ nay.")


def cmd_reset_breaker(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.runtime import runtime
    from chalicelib.services import delivery

    try:
        stop = delivery.reset_breaker(_admin(), _reason(args.reason), runtime.now(), runtime.random_bytes(4).hex())
    except DomainError as exc:
        _report_error(exc)
    print(f"Đã cho gửi thư tiếp trên toàn quốc từ {stop['resumed_at_label']}; việc dừng toàn bộ chỉ xét các thư "
          "gửi từ nay.")


LOCAL_MOMENT = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2}))?")


def local_bound(text: str) -> str:
    """"dd/mm/yyyy HH:MM" (a moment, the campaign's local time) or "dd/mm/yyyy" (the end of that day) → the
    form the phase service takes (an ISO date, or an ISO datetime without offset: the campaign's zone)."""
    m = LOCAL_MOMENT.fullmatch(text.strip())
    if not m:
        raise ValueError(text)
    day, month, year, hour, minute = m.groups()
    value = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    if hour is not None:
        value += f"T{int(hour):02d}:{minute}:00"
    datetime.fromisoformat(value)  # a real date and time
    return value


def cmd_extend_phase(args: argparse.Namespace) -> None:
    from chalicelib.errors import DomainError
    from chalicelib.runtime import runtime
    from chalicelib.services import campaigns

    try:
        closes = local_bound(args.until)
    except ValueError:
        print("Lỗi: thời hạn mới ghi theo dạng dd/mm/yyyy HH:MM (giờ Việt Nam), ví dụ 15/01/2022 17:00, "
              "hoặc dd/mm/yyyy (hết ngày đó).", file=sys.stderr)
        raise SystemExit(2) from None
    body = {"closes": closes, "reason": _reason(args.reason), **({"unit": args.unit} if args.unit else {})}
    try:
        result = campaigns.change_phase(_admin(), args.campaign, args.phase, body, runtime.now(),
                                        runtime.random_bytes)
    except DomainError as exc:
        _report_error(exc)
    phase = result["phase"]
    who = f"đơn vị {args.unit}" if args.unit else "mọi đơn vị"
    print(f"Giai đoạn “{phase['name']}” của đợt {args.campaign}, {who}: thời hạn mới {phase['deadline_label']}.")


def _queue_name(name: str) -> str:
    """"jobs", "mail" (the work queues) or a queue's full name → the full name of the work queue."""
    from chalicelib.config import settings

    cfg = settings()
    work = {cfg.jobs_queue, cfg.mail_queue}
    full = name.removesuffix("-dlq")
    full = full if full in work else cfg.table_prefix + full
    if full not in work:
        print(f"Lỗi: không có hàng đợi “{name}”; chọn một trong: "
              + ", ".join(sorted(q.removeprefix(cfg.table_prefix) for q in work)), file=sys.stderr)
        raise SystemExit(2)
    return full


def redrive(queue: str, limit: int | None = None) -> int:
    """Move the messages of `queue`-dlq back to `queue`, each sent before it is deleted (a failure in between
    leaves a copy in both: the handlers skip work already done). Returns how many moved."""
    from chalicelib.store import queues

    sqs = queues._sqs()
    source = sqs.get_queue_url(QueueName=f"{queue}-dlq")["QueueUrl"]
    target = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    moved = 0
    while limit is None or moved < limit:
        wanted = 10 if limit is None else min(10, limit - moved)
        batch = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=wanted, WaitTimeSeconds=1,
                                    VisibilityTimeout=60).get("Messages", [])
        if not batch:
            break
        sent = sqs.send_message_batch(QueueUrl=target, Entries=[
            {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(batch)])
        ok = {int(e["Id"]) for e in sent.get("Successful", [])}
        done = [m for i, m in enumerate(batch) if i in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=source, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        moved += len(done)
        if sent.get("Failed"):
            raise RuntimeError(f"SQS refused {len(sent['Failed'])} messages: {sent['Failed'][0]}")
    return moved


def cmd_redrive_dlq(args: argparse.Namespace) -> None:
    from chalicelib.runtime import runtime
    from chalicelib.services import audit

    queue = _queue_name(args.queue)
    moved = redrive(queue, args.max)
    if moved:
        now = runtime.now()
        audit.record(_admin(), "dlq_redriven", now, target=queue, details={"messages": moved},
                     suffix=runtime.random_bytes(4).hex())
    print(f"Đã chuyển {moved} việc từ {queue}-dlq về {queue} để chạy lại." if moved
          else f"Hàng đợi {queue}-dlq không có việc nào.")


def _instant(text: str) -> datetime:
    """An ISO 8601 moment (without offset: Vietnam's time) or dd/mm/yyyy HH:MM (Vietnam's time) → UTC."""
    from zoneinfo import ZoneInfo

    value = local_bound(text) if LOCAL_MOMENT.fullmatch(text.strip()) else text.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    return moment.astimezone(timezone.utc)


def _table_name(name: str) -> str:
    from chalicelib.config import settings
    from chalicelib.store.bootstrap import table_names

    prefix = settings().table_prefix
    known = table_names()
    full = name if name in known else prefix + name
    if full not in known:
        print(f"Lỗi: không có bảng “{name}”; các bảng: "
              + ", ".join(sorted(t.removeprefix(prefix) for t in known)), file=sys.stderr)
        raise SystemExit(2)
    return full


def _dynamodb():
    import boto3

    from chalicelib.config import settings

    return boto3.client("dynamodb", region_name=settings().region)


def restore_to(table: str, when: datetime, target: str) -> dict:
    """Start DynamoDB's point-in-time restore of `table` as it was at `when` into a new table `target`."""
    client = _dynamodb()
    backups = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription", {})
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise ValueError(f"Bảng {table} chưa bật khôi phục theo thời điểm (point-in-time recovery).")
    earliest, latest = pitr.get("EarliestRestorableDateTime"), pitr.get("LatestRestorableDateTime")
    if earliest and latest and not earliest <= when <= latest:
        raise ValueError(f"Chỉ khôi phục được bảng {table} về thời điểm từ {_label(earliest)} đến {_label(latest)}.")
    return client.restore_table_to_point_in_time(
        SourceTableName=table, TargetTableName=target, RestoreDateTime=when,
        BillingModeOverride="PAY_PER_REQUEST")["TableDescription"]


def copy_items(source: str, target: str) -> tuple[int, int]:
    """Every item of `source` written into `target` (an item of the same key is replaced). Returns (items copied,
    items of `target` that `source` does not have: written after the restore point, left in place)."""
    import boto3

    from chalicelib.config import settings

    client = _dynamodb()
    keys = [k["AttributeName"] for k in client.describe_table(TableName=target)["Table"]["KeySchema"]]
    copied, restored_keys = 0, set()
    with boto3.resource("dynamodb", region_name=settings().region).Table(target).batch_writer() as writer:
        for page in client.get_paginator("scan").paginate(TableName=source):
            for item in page["Items"]:
                restored_keys.add(json.dumps([item[k] for k in keys], sort_keys=True))
                writer.put_item(Item=_plain(item))
                copied += 1
    newer = 0
    for page in client.get_paginator("scan").paginate(TableName=target, ProjectionExpression=", ".join(
            f"#k{i}" for i in range(len(keys))), ExpressionAttributeNames={f"#k{i}": k for i, k in enumerate(keys)}):
        newer += sum(json.dumps([item[k] for k in keys], sort_keys=True) not in restored_keys
                     for item in page["Items"])
    return copied, newer


def _plain(item: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}


def _label(moment: datetime) -> str:
    from chalicelib.domain.timefmt import local_datetime

    return local_datetime(moment)


SWAP_STEPS = """Bảng {target} đang được tạo từ bản sao của {table} lúc {when} (thường vài phút tới vài giờ).
Bảng đang chạy không bị thay đổi. Các bước tiếp theo (sổ tay vận hành, mục “Khôi phục một bảng DynamoDB”):
  1. Chờ bảng mới sẵn sàng:  aws dynamodb wait table-exists --table-name {target}
  2. Xem dữ liệu trong bảng mới, so với bảng đang chạy.
  3. Tạm dừng việc ghi vào bảng (dừng gửi thư, thông báo các đơn vị) nếu cần.
  4. Chép dữ liệu về bảng đang chạy (ghi đè các bản ghi cùng khoá; bản ghi mới hơn thời điểm khôi phục được giữ):
       python -m chalicelib.cli restore-table {short} --copy-from {target}
  5. Xoá bảng tạm khi xong:  aws dynamodb delete-table --table-name {target}
Tên bảng do CloudFormation quản lý và phần mềm đọc theo tên: không đổi tên, không xoá bảng đang chạy."""


def cmd_restore_table(args: argparse.Namespace) -> None:
    from chalicelib.config import settings
    from chalicelib.runtime import runtime
    from chalicelib.services import audit

    table = _table_name(args.table)
    short = table.removeprefix(settings().table_prefix)
    now = runtime.now()
    if args.copy_from:
        if args.copy_from == table:
            print("Lỗi: bảng nguồn phải là bảng đã khôi phục, không phải bảng đang chạy.", file=sys.stderr)
            raise SystemExit(2)
        copied, newer = copy_items(args.copy_from, table)
        audit.record(_admin(), "table_copied_back", now, target=table,
                     details={"source": args.copy_from, "items": copied, "newer_kept": newer},
                     suffix=runtime.random_bytes(4).hex())
        print(f"Đã chép {copied} bản ghi từ {args.copy_from} về {table}; {newer} bản ghi của {table} không có "
              "trong bảng khôi phục (ghi sau thời điểm khôi phục) được giữ nguyên.")
        return
    if not args.to:
        print("Lỗi: cần --to <thời điểm> (ISO 8601 hoặc dd/mm/yyyy HH:MM giờ Việt Nam) hoặc --copy-from <bảng>.",
              file=sys.stderr)
        raise SystemExit(2)
    try:
        when = _instant(args.to)
    except ValueError:
        print(f"Lỗi: thời điểm “{args.to}” không hợp lệ.", file=sys.stderr)
        raise SystemExit(2) from None
    from zoneinfo import ZoneInfo

    target = args.target or f"{table}-restored-{when.astimezone(ZoneInfo('Asia/Ho_Chi_Minh')):%Y%m%d-%H%M}"
    try:
        description = restore_to(table, when, target)
    except ValueError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    audit.record(_admin(), "table_restore_started", now, target=table,
                 details={"to": when.isoformat(), "restored_table": target}, suffix=runtime.random_bytes(4).hex())
    print(f"Đã bắt đầu khôi phục (trạng thái {description.get('TableStatus', '?')}).")
    print(SWAP_STEPS.format(table=table, target=target, when=_label(when), short=short))


def _add_operations(sub) -> None:
    """The commands of the runbook (docs/RUNBOOK.md)."""
    p = sub.add_parser("resume-mail", help="cho một đơn vị bị tạm dừng gửi thư tiếp (như trang Bộ Nội vụ)")
    p.add_argument("campaign")
    p.add_argument("unit", help="mã đơn vị, ví dụ 01")
    p.add_argument("--reason", required=True, help="lý do (ghi vào nhật ký và thông báo cho đơn vị)")
    p.set_defaults(func=cmd_resume_mail)
    p = sub.add_parser("reset-breaker", help="cho gửi thư tiếp trên toàn quốc sau khi dừng toàn bộ")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_reset_breaker)
    p = sub.add_parser("extend-phase", help="gia hạn một giai đoạn cho mọi đơn vị hoặc một đơn vị")
    p.add_argument("campaign")
    p.add_argument("phase", help="mã giai đoạn, ví dụ survey")
    p.add_argument("--until", required=True, help="thời hạn mới: dd/mm/yyyy HH:MM (giờ Việt Nam) hoặc dd/mm/yyyy")
    p.add_argument("--unit", default=None, help="chỉ gia hạn cho đơn vị này")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_extend_phase)
    p = sub.add_parser("redrive-dlq", help="chuyển các việc trong hàng đợi thư chết về hàng đợi để chạy lại")
    p.add_argument("queue", help="jobs hoặc mail")
    p.add_argument("--max", type=int, default=None, help="chuyển nhiều nhất chừng này việc")
    p.set_defaults(func=cmd_redrive_dlq)
    p = sub.add_parser("restore-table", help="khôi phục một bảng về một thời điểm (vào bảng mới), rồi chép về")
    p.add_argument("table", help="tên bảng, ví dụ responses")
    p.add_argument("--to", default=None, help="thời điểm: ISO 8601 hoặc dd/mm/yyyy HH:MM (giờ Việt Nam)")
    p.add_argument("--target", default=None, help="tên bảng mới (mặc định <bảng>-restored-<thời điểm>)")
    p.add_argument("--copy-from", default=None, help="chép mọi bản ghi của bảng đã khôi phục này về bảng đang chạy")
    p.set_defaults(func=cmd_restore_table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli",
                                     description="Công cụ quản trị phần mềm Chỉ số CCHC")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bootstrap", help="tạo bảng, bucket, hàng đợi (chạy cục bộ/thử nghiệm)").set_defaults(
        func=cmd_bootstrap)
    p = sub.add_parser("create-campaign", help="tạo đợt đánh giá từ tệp dữ liệu (tên trong chalicelib/data "
                                               "hoặc đường dẫn .json)")
    p.add_argument("source")
    p.set_defaults(func=cmd_create_campaign)
    p = sub.add_parser("accounts", help="cấp tài khoản Bộ và từng đơn vị, xuất sổ tài khoản .xlsx")
    p.add_argument("--campaign", default="2021", help="đợt đánh giá có danh sách đơn vị")
    p.add_argument("--workbook", default="credentials.xlsx")
    p.add_argument("--credentials", default=None, help="tệp JSON ghi tên đăng nhập và mật khẩu (chỉ cục bộ)")
    p.add_argument("--reset", action="store_true", help="cấp lại mật khẩu cho tất cả tài khoản")
    p.add_argument("--no-force-change", action="store_true")
    p.set_defaults(func=cmd_accounts)
    p = sub.add_parser("import-questionnaire", help="nhập phiếu khảo sát (JSON hoặc .xlsx theo mẫu xuất ra)")
    p.add_argument("campaign")
    p.add_argument("qid", help="mã phiếu, ví dụ locality-2, ministry-3")
    p.add_argument("file")
    p.set_defaults(func=cmd_import_questionnaire)
    p = sub.add_parser("dispatch", help="phát hành phiếu khảo sát cho các đơn vị đã gửi danh sách")
    p.add_argument("campaign")
    p.add_argument("units", nargs="*", help="mã đơn vị (mặc định: tất cả đơn vị đã gửi danh sách)")
    p.set_defaults(func=cmd_dispatch)
    p = sub.add_parser("export-progress", help="xuất tiến độ khảo sát toàn quốc ra tệp .xlsx")
    p.add_argument("campaign")
    p.add_argument("--out", default="tien-do-khao-sat.xlsx")
    p.set_defaults(func=cmd_export_progress)
    p = sub.add_parser("import-framework", help="nhập bộ tiêu chí (JSON hoặc .xlsx theo mẫu xuất ra)")
    p.add_argument("campaign")
    p.add_argument("file")
    p.add_argument("--kind", choices=["province", "ministry"], default="province",
                   help="bộ tiêu chí của các tỉnh, thành phố (province, mặc định) hay các bộ, cơ quan ngang bộ (ministry)")
    p.set_defaults(func=cmd_import_framework)
    p = sub.add_parser("export-results", help="xuất kết quả Chỉ số CCHC ra tệp .xlsx")
    p.add_argument("campaign")
    p.add_argument("--out", default="ket-qua-chi-so-cchc.xlsx")
    p.set_defaults(func=cmd_export_results)
    p = sub.add_parser("seed", help="dữ liệu cục bộ: đợt 2021, đợt demo, tài khoản")
    p.add_argument("--credentials", default=".local/credentials.json")
    p.add_argument("--workbook", default=".local/credentials.xlsx")
    p.set_defaults(func=cmd_seed)
    _add_operations(sub)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
