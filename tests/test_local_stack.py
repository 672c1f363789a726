"""The local stack (dev/): data survives a real restart of moto, an interrupted snapshot never replaces the
last good one, the API sees the real peer address, every SES mail becomes one .eml on the outbox page, and
queue and schedule handlers are fed like the deployed ones."""
from __future__ import annotations

import base64
import email
import email.policy
import gzip
import http.client
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dev import stack  # noqa: E402

REGION = "ap-southeast-1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------------------------------------------- helpers

def client(service: str, url: str):
    return stack._boto_client(service, url, REGION)


def aws_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CCHC_"))}
    env.update(stack.aws_environment(url, REGION))
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return env


def start_process(argv: list[str], env: dict[str, str], cwd: Path | str = ROOT) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def moto():
    """A tracked moto in this process, emptied before and after (moto's state is per process)."""
    server = stack.MotoServer("127.0.0.1", stack.free_port(), stack.ChangeTracker()).start()
    server.reset()
    server.tracker.clear()
    try:
        yield server
    finally:
        server.reset()
        server.stop()


@pytest.fixture
def moto_process():
    """A moto in its own process: a real restart, it starts with nothing."""
    port = stack.free_port()
    proc = start_process([sys.executable, "-m", "dev.stack", "moto", "--port", str(port)], aws_env(""))
    url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_for_http(url + "/moto-api/data.json", timeout=30, proc=proc)
        yield url
    finally:
        stop_process(proc)


def create_orders_table(ddb) -> None:
    ddb.create_table(
        TableName="rt-orders", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "status", "created")],
        GlobalSecondaryIndexes=[{"IndexName": "by_status", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                               {"AttributeName": "created", "KeyType": "RANGE"}]}],
        LocalSecondaryIndexes=[{"IndexName": "by_created",
                                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                              {"AttributeName": "created", "KeyType": "RANGE"}]}])
    ddb.update_time_to_live(TableName="rt-orders",
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    ddb.create_table(TableName="rt-empty", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])


def order(i: int) -> dict:
    return {"pk": {"S": f"tinh#{i % 7:02d}"}, "sk": {"S": f"nguoi#{i:05d}"},
            "status": {"S": "đã trả lời" if i % 3 else "chưa trả lời"}, "created": {"S": f"2021-10-{i % 28 + 1:02d}"},
            "name": {"S": f"Nguyễn Thị Ánh {i}"}, "score": {"N": str(Decimal(i) / 4)},
            "token": {"B": bytes([i % 256, 0, 255])}, "tags": {"SS": ["a", f"t{i}"]}, "ns": {"NS": ["1", str(i + 2)]},
            "bs": {"BS": [b"\x00", bytes([i % 200 + 1])]}, "ok": {"BOOL": bool(i % 2)}, "none": {"NULL": True},
            "answers": {"M": {"q1": {"L": [{"N": "3"}, {"S": "Rất hài lòng"}, {"B": b"\x01"}]}}},
            "expires": {"N": str(2_000_000_000 + i)}}


def all_items(ddb, table: str) -> dict[tuple, dict]:
    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            items[(item["pk"]["S"], item["sk"]["S"])] = item
    return items


def normalized(item: dict) -> dict:
    """Set members come back in any order."""
    def norm(value: dict):
        (kind, inner), = value.items()
        if kind in ("SS", "NS", "BS"):
            return {kind: sorted(inner)}
        if kind == "M":
            return {"M": {k: norm(v) for k, v in inner.items()}}
        if kind == "L":
            return {"L": [norm(v) for v in inner]}
        return value
    return {k: norm(v) for k, v in item.items()}


def table_shape(ddb, name: str) -> dict:
    table = ddb.describe_table(TableName=name)["Table"]
    indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"])
               for i in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", [])}
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return {"keys": table["KeySchema"], "attrs": sorted(a["AttributeName"] for a in table["AttributeDefinitions"]),
            "indexes": indexes, "ttl": (ttl.get("TimeToLiveStatus"), ttl.get("AttributeName"))}


# ---------------------------------------------------------------------------------------------------- persistence

def test_the_server_lists_motos_services_once_and_the_same_as_moto(moto):
    from moto import backends

    listed = backends.list_of_moto_modules
    assert listed.listed_once and listed() == tuple(listed.original())  # the same names, the folder read once
    assert {"dynamodb", "s3", "ses", "sqs", "events"} <= set(listed())
    assert client("dynamodb", moto.url).list_tables()["TableNames"] == []  # 127.0.0.1 still finds its service


def test_snapshot_and_restore_round_trip_tables_indexes_ttl_and_objects_through_a_moto_restart(
        moto, moto_process, tmp_path):
    ddb, s3 = client("dynamodb", moto.url), client("s3", moto.url)
    create_orders_table(ddb)
    expected = {}
    for start in range(0, 240, 25):
        batch = [order(i) for i in range(start, min(start + 25, 240))]
        ddb.batch_write_item(RequestItems={"rt-orders": [{"PutRequest": {"Item": it}} for it in batch]})
        expected.update({(it["pk"]["S"], it["sk"]["S"]): it for it in batch})
    s3.create_bucket(Bucket="rt-evidence", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.create_bucket(Bucket="rt-nothing", CreateBucketConfiguration={"LocationConstraint": REGION})
    workbook = bytes(range(256)) * 40
    s3.put_object(Bucket="rt-evidence", Key="2021/01/Báo cáo tự đánh giá.xlsx", Body=workbook, ContentType=XLSX,
                  Metadata={"uploaded-by": "tinh01"}, ContentDisposition="attachment")
    s3.put_object(Bucket="rt-evidence", Key="empty.txt", Body=b"", ContentType="text/plain; charset=utf-8")
    shape = {name: table_shape(ddb, name) for name in ("rt-orders", "rt-empty")}

    persistence = stack.Persistence(tmp_path / "state", moto.url, REGION, moto.tracker)
    first = persistence.snapshot()
    assert (first.tables, first.items, first.objects) == (2, 240, 2)
    assert sorted(first.exported) == ["rt-empty", "rt-orders"]  # the fast path, not the Scan fallback

    assert persistence.snapshot() is None  # nothing changed: nothing written
    ddb.put_item(TableName="rt-orders", Item=order(999))
    expected[("tinh#05", "nguoi#00999")] = order(999)
    second = persistence.snapshot()
    assert second.exported == ["rt-orders"] and second.items == 241
    # The unchanged table and object are hard links into the previous generation, not copies.
    assert (first.path / "tables/rt-empty.jsonl.gz").stat().st_ino == \
        (second.path / "tables/rt-empty.jsonl.gz").stat().st_ino
    assert persistence.current() == second.path

    moto.reset()  # the first emulator is gone; the second one is another process that starts empty
    fresh_ddb, fresh_s3 = client("dynamodb", moto_process), client("s3", moto_process)
    assert fresh_ddb.list_tables()["TableNames"] == []
    stats = stack.restore(tmp_path / "state", moto_process, REGION)
    assert stats == {"tables": 2, "items": 241, "objects": 2}

    assert {n: table_shape(fresh_ddb, n) for n in ("rt-orders", "rt-empty")} == shape
    restored = all_items(fresh_ddb, "rt-orders")
    assert {k: normalized(v) for k, v in restored.items()} == {k: normalized(v) for k, v in expected.items()}
    by_status = fresh_ddb.query(TableName="rt-orders", IndexName="by_status",
                                KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                                ExpressionAttributeValues={":s": {"S": "chưa trả lời"}})["Items"]
    assert len(by_status) == sum(1 for it in expected.values() if it["status"]["S"] == "chưa trả lời")
    assert sorted(b["Name"] for b in fresh_s3.list_buckets()["Buckets"]) == ["rt-evidence", "rt-nothing"]
    obj = fresh_s3.get_object(Bucket="rt-evidence", Key="2021/01/Báo cáo tự đánh giá.xlsx")
    assert (obj["Body"].read(), obj["ContentType"], obj["Metadata"], obj["ContentDisposition"]) == \
        (workbook, XLSX, {"uploaded-by": "tinh01"}, "attachment")
    assert fresh_s3.get_object(Bucket="rt-evidence", Key="empty.txt")["Body"].read() == b""

    # The Scan fallback writes the same DynamoDB-JSON lines as the export.
    scanned = stack.Persistence(tmp_path / "scan", moto_process, REGION, use_export=False).snapshot(force=True)
    assert scanned.exported == [] and scanned.items == 241

    def lines(gen: Path) -> set[str]:
        raw = gzip.decompress((gen / "tables/rt-orders.jsonl.gz").read_bytes()).decode()
        return {json.dumps(normalized(json.loads(line)["Item"]), sort_keys=True) for line in raw.splitlines()}

    assert lines(scanned.path) == lines(second.path)


def test_an_interrupted_snapshot_leaves_the_last_good_one_in_place(moto, tmp_path, monkeypatch):
    ddb = client("dynamodb", moto.url)
    create_orders_table(ddb)
    ddb.put_item(TableName="rt-orders", Item=order(1))
    persistence = stack.Persistence(tmp_path / "state", moto.url, REGION, moto.tracker)
    good = persistence.snapshot()
    ddb.put_item(TableName="rt-orders", Item=order(2))

    from dev.stack import persistence as module  # where Persistence looks the writer up

    real_write = module._write_durable

    def crash_on_manifest(path, data):
        if path.name == "manifest.json":
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(module, "_write_durable", crash_on_manifest)
    with pytest.raises(OSError):
        persistence.snapshot()
    assert persistence.current() == good.path
    assert persistence.manifest()["tables"]["rt-orders"]["items"] == 1

    monkeypatch.setattr(module, "_write_durable", real_write)
    retried = persistence.snapshot()  # the change is still pending, and the leftover is cleaned up
    assert retried.items == 2 and not list((tmp_path / "state").glob("tmp-*"))


def test_kill_9_during_a_snapshot_never_corrupts_the_current_one(moto, tmp_path):
    ddb = client("dynamodb", moto.url)
    create_orders_table(ddb)
    for start in range(0, 1500, 25):
        ddb.batch_write_item(RequestItems={"rt-orders": [{"PutRequest": {"Item": order(i)}}
                                                         for i in range(start, start + 25)]})
    state = tmp_path / "state"
    stack.snapshot(state, moto.url, REGION)
    env = aws_env(moto.url)
    killed_mid_write = 0
    # Kill while the new generation is half written: as soon as its directory appears, then once a
    # table file is in it.
    for ready in (lambda tmp: True, lambda tmp: any((tmp / "tables").glob("*.gz"))):
        proc = start_process([sys.executable, "-m", "dev.stack", "snapshot", str(state),
                              "--endpoint-url", moto.url], env)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            partial = [t for t in state.glob("tmp-*") if ready(t)]
            if partial:
                proc.kill()
                killed_mid_write += 1
                break
            time.sleep(0.0005)
        proc.wait()
        persistence = stack.Persistence(state, moto.url, REGION)
        manifest, gen = persistence.manifest(), persistence.current()
        assert not gen.name.startswith("tmp-")
        for entry in manifest["tables"].values():
            assert gzip.decompress((gen / entry["file"]).read_bytes()).count(b"\n") == entry["items"]
        assert manifest["tables"]["rt-orders"]["items"] == 1500
    assert killed_mid_write >= 1
    moto.reset()
    assert stack.restore(state, moto.url, REGION)["items"] == 1500


# ---------------------------------------------------------------------------------------------------- API server

ECHO_APP = '''
import os
from chalice import Chalice

app = Chalice(app_name="echo")


@app.route("/ip")
def ip():
    return {"sourceIp": app.current_request.context["identity"]["sourceIp"],
            "stage_var": os.environ.get("ECHO_STAGE_VAR"), "override": os.environ.get("ECHO_OVERRIDE")}
'''


def request_from(address: str, port: int, path: str, headers: dict | None = None) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(address, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        connection.close()


@pytest.fixture
def echo_api(tmp_path):
    project = tmp_path / "echo"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(ECHO_APP)
    (project / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "echo",
        "stages": {"local": {"environment_variables": {"ECHO_STAGE_VAR": "from-config",
                                                       "ECHO_OVERRIDE": "from-config"}}}}))
    port = stack.free_port()
    proc = start_process([sys.executable, str(ROOT / "dev" / "serve_api.py"), "--port", str(port), "--stage", "local",
                          "--project-dir", str(project), "--env", "ECHO_OVERRIDE=from-launcher"], aws_env(""))
    try:
        stack.wait_for_http(f"http://127.0.0.1:{port}/ip", timeout=30, proc=proc)
        yield port
    finally:
        assert stop_process(proc) == 0


def test_the_api_reports_the_connections_real_peer_address_and_ignores_x_forwarded_for(echo_api):
    seen = request_from("127.0.0.2", echo_api, "/ip", {"X-Forwarded-For": "203.0.113.9"})
    assert seen["sourceIp"] == "127.0.0.2"
    assert request_from("127.0.0.1", echo_api, "/ip")["sourceIp"] == "127.0.0.1"


def test_the_api_gets_the_stage_variables_of_config_json_and_the_launchers_overrides_after_them(echo_api):
    seen = request_from("127.0.0.1", echo_api, "/ip")
    assert (seen["stage_var"], seen["override"]) == ("from-config", "from-launcher")


@pytest.mark.skipif(not (ROOT / "app.py").exists(), reason="the app is not written yet")
def test_the_real_apps_health_route_sees_the_peer_address():
    port = stack.free_port()
    env = aws_env(f"http://127.0.0.1:{stack.free_port()}")  # /health needs no AWS call
    proc = start_process([sys.executable, str(ROOT / "dev" / "serve_api.py"), "--port", str(port),
                          "--stage", "local"], env)
    try:
        stack.wait_for_http(f"http://127.0.0.1:{port}/health", timeout=30, proc=proc)
        health = request_from("127.0.0.2", port, "/health", {"X-Forwarded-For": "198.51.100.7"})
        assert (health["status"], health["stage"], health["source_ip"]) == ("ok", "local", "127.0.0.2")
    finally:
        stop_process(proc)


# ---------------------------------------------------------------------------------------------------- mail

def survey_mail(to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "chisocchc@moha.gov.vn"
    msg["To"] = to
    msg["Subject"] = "Phiếu khảo sát Chỉ số CCHC năm 2021"
    link = "http://127.0.0.1:8080/survey.html?t=abc123"
    msg.set_content(f"Kính gửi ông/bà,\nMời trả lời phiếu khảo sát: {link}\n")
    msg.add_alternative(f'<html><head></head><body><p>Kính gửi ông/bà,</p><p><a href="{link}">Trả lời phiếu'
                        f"</a></p></body></html>", subtype="html")
    return msg.as_bytes()


def test_each_mail_sent_through_ses_becomes_exactly_one_eml_and_shows_on_the_outbox_page(moto, tmp_path):
    ses = client("ses", moto.url)
    ses.verify_email_identity(EmailAddress="chisocchc@moha.gov.vn")
    ses.send_raw_email(Source="chisocchc@moha.gov.vn", Destinations=["nguyenvana@hanoi.gov.vn"],
                       RawMessage={"Data": survey_mail("nguyenvana@hanoi.gov.vn")})
    outbox = tmp_path / "outbox"

    writer = stack.OutboxWriter(outbox, stack.DataJsonMailSource(moto.url))
    written = writer.poll_once()
    assert len(written) == 1 and writer.poll_once() == []
    assert stack.OutboxWriter(outbox, stack.DataJsonMailSource(moto.url)).poll_once() == []  # after a restart
    assert len(list(outbox.glob("*.eml"))) == 1
    mail = email.message_from_bytes(written[0].read_bytes(), policy=email.policy.default)
    assert mail["Subject"] == "Phiếu khảo sát Chỉ số CCHC năm 2021"
    assert "survey.html?t=abc123" in mail.get_body(("plain",)).get_content()

    ses.send_email(Source="chisocchc@moha.gov.vn", Destination={"ToAddresses": ["tinh01@hanoi.gov.vn"]},
                   Message={"Subject": {"Data": "Nhắc trả lời"}, "Body": {"Text": {"Data": "Xin nhắc."}}})
    assert len(writer.poll_once()) == 1
    # The launcher's in-process reader sees the same two mails.
    in_process = stack.OutboxWriter(tmp_path / "outbox2", stack.InProcessMailSource())
    assert len(in_process.poll_once()) == 2 and in_process.poll_once() == []

    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "index.html").write_text("<!doctype html><title>Cổng tỉnh</title>", encoding="utf-8")
    site = stack.SiteServer(site_dir, outbox, "http://127.0.0.1:8000", port=stack.free_port(),
                            upload_url="http://127.0.0.1:5055").start()
    try:
        status, _, body = get(site.url + "/config.js")
        assert body == b'window.CCHC_CONFIG = {"apiUrl": "http://127.0.0.1:8000"};\n'
        status, headers, body = get(site.url + "/")
        assert body.decode() == "<!doctype html><title>Cổng tỉnh</title>"
        # the site's pages under the deployed policy: only the API and the storage to connect to, never framed
        assert headers["Content-Security-Policy"] == (
            "default-src 'self'; connect-src http://127.0.0.1:8000 http://127.0.0.1:5055; frame-ancestors 'none'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'")
        assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == ("nosniff", "no-referrer")
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert "frame-ancestors" in get(site.url + "/config.js")[1]["Content-Security-Policy"]
        status, _, body = get(site.url + "/outbox/")
        page = body.decode()
        assert status == 200 and "Hộp thư đi" in page and "Người nhận" in page
        assert page.index("Nhắc trả lời") < page.index("Phiếu khảo sát Chỉ số CCHC năm 2021")  # newest first
        status, _, body = get(f"{site.url}/outbox/{written[0].name}")
        assert status == 200 and "<iframe" in body.decode() and "nguyenvana@hanoi.gov.vn" in body.decode()
        status, headers, body = get(f"{site.url}/outbox/{written[0].name}/html")
        assert "sandbox" in headers["Content-Security-Policy"]
        assert "frame-ancestors" not in headers["Content-Security-Policy"]  # the outbox page frames it
        assert 'href="http://127.0.0.1:8080/survey.html?t=abc123"' in body.decode()
        assert get(site.url + "/outbox/..%2F..%2Fetc%2Fpasswd")[0] == 404
    finally:
        site.stop()


# ---------------------------------------------------------------------------------------------------- workers

def test_the_queue_runner_delivers_messages_to_the_handler_and_leaves_failed_ones_for_redelivery(moto):
    from chalice import Chalice, Rate

    app = Chalice(app_name="jobs")
    received, ticks = [], []

    @app.on_sqs_message(queue="cchc-test-jobs", batch_size=5)
    def handle(event):
        for record in event:
            if record.body == "boom":
                raise RuntimeError("handler failed")
            received.append((record.body, record.to_dict()["messageAttributes"]["unit"]["stringValue"]))

    @app.schedule(Rate(5, unit=Rate.MINUTES), name="close-phases")
    def tick(event):
        ticks.append(event.to_dict()["detail-type"])

    reports = []
    runner = stack.QueueRunner(app, stack.sqs_sources(app)[0], moto.url, wait_seconds=1, report=reports.append)
    assert runner.run_once(wait_seconds=0) == 0  # the missing queue is created
    sqs = client("sqs", moto.url)
    sqs.send_message(QueueUrl=runner.url, MessageBody='{"job": "dispatch"}',
                     MessageAttributes={"unit": {"DataType": "String", "StringValue": "01"}})
    assert runner.run_once() == 1
    assert received == [('{"job": "dispatch"}', "01")]

    sqs.send_message(QueueUrl=runner.url, MessageBody="boom",
                     MessageAttributes={"unit": {"DataType": "String", "StringValue": "02"}})
    assert runner.run_once() == 0
    assert "handler failed" in reports[-1]
    counts = sqs.get_queue_attributes(QueueUrl=runner.url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1")

    assert stack.Scheduler(app, interval=60).run_once() == {"close-phases": None}
    assert ticks == ["Scheduled Event"]


WORKER_APP = '''
import os
from pathlib import Path
from chalice import Chalice, Rate

app = Chalice(app_name="work")
OUT = Path(os.environ["WORK_OUT"])


@app.schedule(Rate(1, unit=Rate.MINUTES))
def every_minute(event):
    with open(OUT / "ticks", "a") as fh:
        fh.write(event.detail_type + "\\n")


@app.on_sqs_message(queue="work-jobs")
def job(event):
    for record in event:
        with open(OUT / "jobs", "a") as fh:
            fh.write(record.body + "\\n")


@app.on_sqs_message(queue="work-mail", maximum_concurrency=2)
def mail(event):
    import time

    for record in event:
        started = time.time()
        time.sleep(1)
        with open(OUT / "mail", "a") as fh:
            fh.write(f"{record.body} {os.getpid()} {started} {time.time()}\\n")
'''


def test_the_worker_process_runs_schedules_and_queue_handlers_and_stops_on_sigterm(moto, tmp_path):
    """Also: a handler that may run twice at once (maximum_concurrency=2) has two consumers, each in its own
    process as each Lambda environment is, working side by side."""
    project = tmp_path / "work"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(WORKER_APP)
    (project / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": "work",
        "stages": {"local": {"environment_variables": {"WORK_OUT": str(tmp_path)}}}}))
    proc = start_process([sys.executable, "-m", "dev.stack", "workers", "--project-dir", str(project),
                          "--schedule-seconds", "0.5"], aws_env(moto.url))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(raw.decode("utf-8", "replace") for raw in proc.stdout),
                              daemon=True)
    reader.start()
    try:
        sqs = client("sqs", moto.url)
        deadline = time.monotonic() + 30
        # the second consumer of work-mail (its own process) says when it is polling
        while time.monotonic() < deadline and not any("thêm một tiến trình nhận" in line for line in lines):
            time.sleep(0.1)
        urls: dict[str, str] = {}
        while len(urls) < 2 and time.monotonic() < deadline:
            for name in ("work-jobs", "work-mail"):
                try:
                    urls[name] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
                except sqs.exceptions.QueueDoesNotExist:
                    time.sleep(0.1)
        assert any("thêm một tiến trình nhận" in line for line in lines), "".join(lines)
        sqs.send_message(QueueUrl=urls["work-jobs"], MessageBody="gửi thư tỉnh 01")
        for n in range(6):
            sqs.send_message(QueueUrl=urls["work-mail"], MessageBody=f"lô{n}")
        mail = tmp_path / "mail"
        while time.monotonic() < deadline and not (
                (tmp_path / "jobs").exists() and (tmp_path / "ticks").exists()
                and len((tmp_path / "ticks").read_text().splitlines()) >= 2
                and mail.exists() and len(mail.read_text().splitlines()) >= 6):
            time.sleep(0.1)
        assert (tmp_path / "jobs").read_text(encoding="utf-8") == "gửi thư tỉnh 01\n"
        assert set((tmp_path / "ticks").read_text().splitlines()) == {"Scheduled Event"}
        handled = [line.split() for line in mail.read_text(encoding="utf-8").splitlines()]
        assert sorted(body for body, *_ in handled) == [f"lô{n}" for n in range(6)]
        assert len({pid for _, pid, *_ in handled}) == 2
        spans = sorted((float(start), float(end)) for *_, start, end in handled)
        assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))  # side by side
    finally:
        code = stop_process(proc)
        reader.join(5)
        assert code == 0, "".join(lines)
