"""Admin command line: `python -m chalicelib.cli <command>` (see --help)."""
from __future__ import annotations

import argparse
import json
import os
import sys
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
            result = assessment.import_framework_workbook(_admin(), args.campaign, data, runtime.now(), suffix)
        else:
            result = assessment.replace_framework(_admin(), args.campaign, json.loads(data.decode("utf-8")),
                                                  runtime.now(), suffix)
    except DomainError as exc:
        _report_error(exc)
    print(f"Bộ tiêu chí của đợt {args.campaign}: phiên bản {result['version']}, {len(result['fields'])} lĩnh vực, "
          f"tổng {result['maximum']} điểm.")


def cmd_export_results(args: argparse.Namespace) -> None:
    from chalicelib.domain.timefmt import local_datetime
    from chalicelib.errors import DomainError
    from chalicelib.formats import results_xlsx
    from chalicelib.runtime import runtime
    from chalicelib.services import assessment, results

    try:
        data = results.results(_admin(), args.campaign)
        definition, _ = assessment.framework_of(args.campaign)
    except DomainError as exc:
        _report_error(exc)
    Path(args.out).write_bytes(results_xlsx.workbook(data, definition, local_datetime(runtime.now())))
    print(f"Đã xuất kết quả Chỉ số CCHC của đợt {args.campaign} ({len(data['units'])} đơn vị): {args.out}")


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
    p.set_defaults(func=cmd_import_framework)
    p = sub.add_parser("export-results", help="xuất kết quả Chỉ số CCHC ra tệp .xlsx")
    p.add_argument("campaign")
    p.add_argument("--out", default="ket-qua-chi-so-cchc.xlsx")
    p.set_defaults(func=cmd_export_results)
    p = sub.add_parser("seed", help="dữ liệu cục bộ: đợt 2021, đợt demo, tài khoản")
    p.add_argument("--credentials", default=".local/credentials.json")
    p.add_argument("--workbook", default=".local/credentials.xlsx")
    p.set_defaults(func=cmd_seed)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
