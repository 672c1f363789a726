"""Attacks on the results, tried as an attacker would, through HTTP against the running local stack, each from its
own loopback address (the API records the peer address as the caller's): a stranger 127.0.0.2, the account's
owner 127.0.0.3, the province's clerk 127.0.0.4, the ministry 127.0.0.5. Each must be refused:

2. lockout as a weapon: a stranger's wrong passwords for a province account (sequential, then 50 at once), after
   which the owner, from the office's address, logs in with the right password;
3. evidence swap: the province posts again through an upload grant after its file was checked and attached; the
   ministry must still download the checked bytes;
4. coaching: the province reads every questionnaire of the campaign (JSON and workbook) looking for option scores
   and criteria.

Figures are printed (pytest -s) as `ATTACK <name>: …` lines: attempts, let through, 5xx."""
from __future__ import annotations

import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from openpyxl import load_workbook

from localstack import running_stack
from stackclient import XLSX, call, login

PREFIX = "cchc-attack-"
STRANGER, OWNER, CLERK, MINISTRY = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FIGURES: dict[str, dict] = {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("attack-stack"), PREFIX) as running:
        yield running


def report(name: str, **figures) -> None:
    FIGURES[name] = figures
    print(f"\nATTACK {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def attempt(stack, username: str, password: str, source: str) -> tuple[int, object]:
    return call(stack.api_url, "POST", "/auth/login", body={"username": username, "password": password},
                source=source)


def test_a_strangers_wrong_passwords_never_keep_the_owner_out(stack):
    username, password = stack.login_of("02")
    statuses = [attempt(stack, username, f"doan-{i}", STRANGER)[0] for i in range(100)]
    status, body = attempt(stack, username, password, OWNER)
    assert status == 200 and body["username"] == username  # the owner, from the office, at once
    # three quick guesses, then one after each doubling delay (2 s, 4 s, 8 s …): a handful in the seconds this takes
    assert set(statuses) <= {401, 429} and statuses[:3] == [401] * 3 and statuses.count(401) <= 8
    refused = attempt(stack, username, "doan-nua", STRANGER)
    if refused[0] == 401:  # a slow machine outlasted the current wait: this guess opened a longer one …
        refused = attempt(stack, username, "doan-nua-nua", STRANGER)  # … inside which the next is refused
    assert refused[0] == 429 and refused[1]["details"][0]["retry_after"] >= 1 and "giây" in refused[1]["message"]

    gate = threading.Barrier(50)

    def released(i: int) -> int:
        gate.wait(timeout=30)
        return attempt(stack, stack.login_of("04")[0], f"song-song-{i}", STRANGER)[0]

    with ThreadPoolExecutor(max_workers=50) as pool:
        parallel = list(pool.map(released, range(50)))
    assert set(parallel) <= {401, 429} and parallel.count(401) <= 3  # only the allowed guesses were checked
    owner = attempt(stack, stack.login_of("04")[0], stack.login_of("04")[1], OWNER)
    assert owner[0] == 200
    owner_in = (status == 200) + (owner[0] == 200)
    report("lockout", attempts=len(statuses) + 1 + len(parallel), sequential=len(statuses),
           sequential_checked=statuses.count(401), parallel=len(parallel), parallel_checked=parallel.count(401),
           owner_let_in=f"{owner_in}/2", fivexx=sum(s >= 500 for s in statuses + parallel))


def test_an_upload_grant_used_again_after_attaching_changes_nothing_the_ministry_downloads(stack):
    clerk = login(stack.api_url, *stack.login_of("01"), source=CLERK)
    ministry = login(stack.api_url, *stack.login_of("admin"), source=MINISTRY)
    base = "/campaigns/demo/units/01/assessment"
    status, grant = call(stack.api_url, "POST", f"{base}/evidence", bearer=clerk, source=CLERK,
                         body={"code": "1.2", "filename": "Kế hoạch CCHC.pdf", "size": len(PDF)})
    assert status == 201, grant
    sent = requests.post(grant["url"], data=grant["fields"], files={"file": ("a.pdf", PDF)}, timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text
    status, saved = call(stack.api_url, "PUT", f"{base}/items/1.2", bearer=clerk, source=CLERK,
                         body={"score": 1.5, "evidence": [grant["evidence_id"]]})
    assert status == 200, saved
    checked = saved["item"]["evidence"][0]["sha256"]
    assert checked == hashlib.sha256(PDF).hexdigest()
    swaps = [b"MZ\x90\x00" + b"x" * 200, b"%PDF-1.4\n% another report with other figures\n%%EOF\n",
             b"\x89PNG\r\n\x1a\n" + b"\x00" * 64]
    reposted, let_through, fivexx = 0, 0, 0
    for swap in swaps:
        again = requests.post(grant["url"], data=grant["fields"], files={"file": ("a.pdf", swap)}, timeout=30)
        reposted += again.status_code in (200, 201, 204)  # S3 takes it: the grant is valid for 15 minutes
        status, saved = call(stack.api_url, "PUT", f"{base}/items/1.2", bearer=clerk, source=CLERK,
                             body={"score": 1.5, "evidence": [grant["evidence_id"]]})
        fivexx += status >= 500
        status, view = call(stack.api_url, "GET", base, bearer=ministry, source=MINISTRY)
        fivexx += status >= 500
        [line] = [leaf for leaf in _leaves(view["fields"]) if leaf["code"] == "1.2"]
        downloaded = requests.get(line["evidence"][0]["url"], timeout=30).content
        let_through += hashlib.sha256(downloaded).hexdigest() != checked or downloaded != PDF
    assert reposted == len(swaps) and let_through == 0 and fivexx == 0
    report("evidence swap", attempts=len(swaps), accepted_by_storage=reposted, let_through=let_through,
           fivexx=fivexx)


def _leaves(nodes: list[dict]) -> list[dict]:
    out = []
    for node in nodes:
        out += _leaves(node["children"]) if node["children"] else [node]
    return out


def test_a_province_finds_no_score_or_criterion_in_any_questionnaire(stack):
    clerk = login(stack.api_url, *stack.login_of("01"), source=CLERK)
    ministry = login(stack.api_url, *stack.login_of("admin"), source=MINISTRY)
    status, listing = call(stack.api_url, "GET", "/campaigns/demo/questionnaires", bearer=clerk, source=CLERK)
    assert status == 200 and listing["items"]
    reads, let_through, fivexx, ministry_sees = 0, 0, 0, 0
    for item in listing["items"]:
        path = f"/campaigns/demo/questionnaires/{item['qid']}"
        status, seen = call(stack.api_url, "GET", path, bearer=clerk, source=CLERK)
        reads += 1
        fivexx += status >= 500
        questions = [q for s in seen["sections"] for q in s["questions"]]
        let_through += sum("criterion" in q or any("score" in o for o in q["options"]) for q in questions)
        workbook = _get_bytes(stack, path + "/workbook", clerk, CLERK)
        reads += 1
        header = [c.value for c in load_workbook(io.BytesIO(workbook))["Phiếu khảo sát"][5]]
        let_through += ("Điểm" in header) + ("Tiêu chí" in header)
        status, full = call(stack.api_url, "GET", path, bearer=ministry, source=MINISTRY)
        ministry_sees += any("score" in o for s in full["sections"] for q in s["questions"] for o in q["options"])
    assert let_through == 0 and fivexx == 0 and ministry_sees == len(listing["items"])
    report("coaching", questionnaires=len(listing["items"]), attempts=reads, let_through=let_through, fivexx=fivexx)


def _get_bytes(stack, path: str, bearer: str, source: str) -> bytes:
    import http.client

    host, port = stack.api_url.rsplit("/", 1)[-1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(source, 0))
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {bearer}", "Accept": XLSX})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200, body[:300]
    return body
