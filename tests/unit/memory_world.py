"""A world for service tests on the in-memory stores (chalicelib/store/memory.py): the shipped 2021 campaign with a
few of its provinces and ministries, its sample questionnaires and frameworks, the organiser's and the units' actors, a clock the test moves and a seeded
random source. `refuse_aws` makes any AWS call fail, so a service that forgets to pass its `stores` on is caught.
`World.invited` writes a unit's links as dispatch and the sending leave them, without a run (for tests that need
sent links, not dispatch's steps: those are tests/unit/test_dispatch_services.py's), and hands back their tokens; `World.answered` writes answered links, counters and responses as the survey's submit
leaves them, without going through the survey."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import botocore.client

from chalicelib.domain import questionnaire as q_rules
from chalicelib.domain.credentials import survey_token, token_hash
from chalicelib.domain.access import MINISTRY, MOHA, PROVINCE, SYSTEM_MOHA, Actor
from chalicelib.formats import datafiles
from chalicelib.services import assessment, campaigns, questionnaires
from chalicelib.store import memory
from chalicelib.store.links import Link, Token
from chalicelib.store.survey import Response

VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2022, 1, 5, 10, 0, tzinfo=VN)  # every phase of 2021 but the survey and the appraisal is open
UNITS = ("01", "02", "04", "BTP", "UBDT")  # three provinces, a ranked ministry and an unranked agency
ADMIN = Actor(username="admin", role=MOHA, unit=None, display_name="Bộ Nội vụ", source_ip="10.0.0.1")


def refuse_aws(monkeypatch) -> None:
    def refuse(self, operation, params):
        raise AssertionError(f"a service test on the in-memory stores reached AWS ({operation})")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)


def unit_actor(unit: str) -> Actor:
    kind = MINISTRY if unit.isalpha() else PROVINCE
    return Actor(username=f"{'bo' if kind == MINISTRY else 'tinh'}{unit.lower()}", role=kind, unit=unit,
                 display_name=f"Đơn vị {unit}", source_ip="10.0.0.2")


class World:
    def __init__(self, units: tuple[str, ...] = UNITS, *, samples: bool = True):
        self.stores = memory.stores()
        self.now = T0
        self.random_bytes = random.Random(2021).randbytes
        definition, all_units = datafiles.load_campaign("2021", datafiles.UNIT_KINDS)
        chosen = [u for u in all_units if u["code"] in units]
        self.definition = definition
        if samples:
            questionnaires.seed(definition, datafiles.load_questionnaires(definition), self.now, stores=self.stores)
        assessment.seed(definition, self.now, (PROVINCE, MINISTRY), stores=self.stores)
        campaigns.create(SYSTEM_MOHA, {**definition, "units": chosen}, self.now, self.random_bytes,
                         stores=self.stores)

    def at(self, *args: int) -> datetime:
        """Move the clock to a local (Vietnam) moment: at(2022, 1, 11) is midnight starting 11/01/2022."""
        self.now = datetime(*args, tzinfo=VN)  # type: ignore[misc]
        return self.now

    def later(self, **delta) -> None:
        self.now += timedelta(**delta)

    def suffix(self) -> str:
        return self.random_bytes(4).hex()

    def audited(self, action: str) -> list:
        items, _ = self.stores.audit.query(start=T0 - timedelta(days=400), end=self.now + timedelta(days=400),
                                           unit=None, actor=None, action=action, cid=None, limit=1000, cursor=None)
        return items

    def close_phases(self) -> int:
        """The scheduled close-phases handler: lock the self-assessments due, then announce the closings."""
        locked = assessment.lock_open_assessments(self.now, self.random_bytes, stores=self.stores)
        return campaigns.close_due_phases(self.now, self.random_bytes, locked, stores=self.stores)

    def notes(self, unit: str, cid: str = "2021") -> list:
        return self.stores.audit.list_notifications(f"{cid}#{unit}", 100)

    def invited(self, unit: str, people: int, *, qid: str = "locality-1", ministry: str | None = None,
                cid: str = "2021") -> list[str]:
        """`people` respondents of `unit` whose invitations to `qid` (a managing-ministry form about `ministry`) were
        sent at the clock's time, as dispatch and the mail sender leave them: the questionnaire locked, the links
        `sent` with their token, the counters. Returns the tokens, in roster order."""
        purpose, group = qid.split("-")
        version = questionnaires.lock(cid, qid, self.now, stores=self.stores)
        unit_key, links, tokens = f"{cid}#{unit}", [], []
        for n in range(1, people + 1):
            rid = f"{n:06d}-{n:06x}"
            slot = f"{rid}#{purpose}"
            tokens.append(survey_token(unit_key, slot, self.random_bytes(32)))
            links.append(Link(unit_key=unit_key, slot=slot, rid=rid, purpose=purpose, qid=qid, q_version=version,
                              group=group, email=f"nguoi{n}@{unit}.gov.vn", full_name=f"Người {n}", state="sent",
                              issued_at=self.now, updated_at=self.now, agency="Sở Tư pháp", ministry=ministry,
                              token_hashes=(token_hash(tokens[-1]),), sent_at=self.now, last_mail_at=self.now))
        self.stores.links.write_issued(links, [Token(token_hash=token_hash(t), unit_key=unit_key, slot=x.slot,
                                                     kind="invite", issued_at=self.now) for t, x in zip(tokens, links)])
        self.stores.links.add_counts(unit_key, {"all": {"sent": people}, f"{group}#{purpose}": {"sent": people}})
        return tokens

    def answered(self, unit: str, people: int, *, qid: str = "locality-2", pick=lambda person, question: 3,
                 ip=lambda person: f"198.51.100.{person}", seconds: int = 600, agency: str = "Sở Tư pháp",
                 ministry: str | None = None, cid: str = "2021") -> list[Response]:
        """`people` respondents of `unit` who opened and answered `qid` one after another, an hour apart from the
        clock on, the n-th choosing option `pick(n, i)` of its i-th question (a multiple-choice one that option
        alone), from address `ip(n)`, in `seconds` (a managing-ministry form about `ministry`): their links, the unit's
        counters and the stored responses."""
        purpose, group = qid.split("-")
        _, definition = questionnaires.content(cid, qid, stores=self.stores)
        unit_key, ua = f"{cid}#{unit}", "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0"
        links, responses = [], []
        for n in range(1, people + 1):
            at, rid = self.now + timedelta(hours=n - 1), f"{n:06d}-{n:06x}"
            answers = {}
            for i, question in enumerate(q_rules.questions(definition)):
                if question["options"]:
                    value = question["options"][pick(n, i) % len(question["options"])]["value"]
                    answers[question["id"]] = [value] if question["type"] == "multi" else value
            links.append(Link(unit_key=unit_key, slot=f"{rid}#{purpose}", rid=rid, purpose=purpose, qid=qid,
                              q_version=1, group=group, email=f"nguoi{n}@{unit}.gov.vn", full_name=f"Người {n}",
                              state="submitted", issued_at=self.now, updated_at=at, agency=agency, sent_at=self.now,
                              last_mail_at=self.now, opened_at=at - timedelta(seconds=seconds), open_ip=ip(n),
                              open_ua=ua, submitted_at=at, submit_ip=ip(n), submit_ua=ua, seconds_spent=seconds,
                              seen=frozenset({f"{ip(n)} | {ua}"}), ministry=ministry))
            responses.append(Response(unit_key=unit_key, response_id=self.random_bytes(12).hex(), qid=qid,
                                      q_version=1, group=group, purpose=purpose, answers=answers,
                                      scores=q_rules.score(definition, answers), submitted_at=at,
                                      ministry=ministry))
        self.stores.links.write_issued(links, [])
        self.stores.links.add_counts(unit_key, {"all": {"submitted": people},
                                                f"{group}#{purpose}": {"submitted": people}})
        for response in responses:
            self.stores.responses.add(response)
        return responses
