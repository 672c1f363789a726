"""Integrity test bench: national campaigns (63 units) under several kinds of honest behaviour, with interference
injected into chosen units in every style; runs the detector with the shipped thresholds and the national answer
distribution, and reports false flags per honest-behaviour variant and recall per interference style.

Target: in every variant no honest unit flagged; every injected unit flagged.

Honest behaviour (the `base` variant, as shipped before the bench grew variants): answers spread over the survey
weeks in working hours, more on the reminder days; offices share a network address (departments of 5–25 people
behind one NAT); varied browsers; reading time log-normal around 8 minutes; answers drawn around each person's own
view (mean 2.8); a few honest straight-liners. The other variants stress one behaviour each, and `everything` all of
them at once:
  positive        opinions lean positive with little spread (mean 3.2, sd 0.5 on the 4-level scale)
  all_agree       positive, and 2–35 % of a unit's respondents answer "Hoàn toàn đồng ý" to every statement
  carrier_pools   half of the respondents on mobile data behind a pool of 5–30 addresses per province, evenings too
  big_offices     offices of up to 60 people behind one address, most answering from the office
  reminder_bursts on reminder days (mails at 08:00) half of that day's respondents answer within the hour or so
  small_units     every unit has 100 respondents
Interference styles: the five shipped ones plus a clerk forwarding links to one person who answers them at home
over mobile data, a meeting where everyone answers on their own phone on the venue's network, links answered in
batches over several days from one office computer (to dodge the burst rule), and a circulated answer sheet with
two variants.

Usage: python bench/simulate_integrity.py [--respondents 50000] [--variants base,positive,...] [--seed 2021]"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.domain.integrity import (  # noqa: E402
    LinkFacts, ResponseFacts, Thresholds, answer_distribution, evaluate, flagged)

SEED = 2021
UNITS = 63
RESPONDENTS = 50_000
QUESTIONS = 20
QID = "locality-2"
OPTIONS = ["1", "2", "3", "4"]
DESKTOP = [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/{v}.0" for v in range(100, 130)]
MOBILE = [f"Mozilla/5.0 (iPhone; CPU iPhone OS {v}_0 like Mac OS X) Safari/604.1" for v in range(14, 19)] + \
         [f"Mozilla/5.0 (Linux; Android {v}) Chrome/120.0 Mobile" for v in range(9, 15)]
UAS = DESKTOP + MOBILE
START = datetime(2022, 1, 17, 1, 0, tzinfo=timezone.utc)  # 08:00 in Hà Nội, the day links are sent
REMINDER_DAYS = [7, 20, 31]
STYLES = ["proxy_officer", "province_account", "copied_answers", "supervised_session", "template_answers",
          "clerk_at_home", "meeting_venue", "batch_over_days", "two_variant_template"]


@dataclass(frozen=True)
class Honest:
    view_mean: float = 2.8
    view_sd: float = 0.6
    answer_sd: float = 0.8
    question_sd: float = 0.0  # per-question shift within a unit (some statements rated lower than others)
    straight: tuple[float, float] = (0.03, 0.03)  # share of straight-liners in a unit: drawn in this range
    all_agree: bool = False  # straight-liners choose "4" (else any level)
    pools: bool = False  # half of the respondents on mobile data behind 5–30 carrier addresses
    office_max: int = 25
    office_share: float = 0.6  # share of an office's people answering from the office address
    reminder_burst: bool = False
    unit_size: int | None = None


POSITIVE = dict(view_mean=3.2, view_sd=0.3, answer_sd=0.4, question_sd=0.15)
VARIANTS = {
    "base": Honest(),
    "positive": Honest(**POSITIVE),
    "all_agree": Honest(**POSITIVE, straight=(0.02, 0.35), all_agree=True),
    "carrier_pools": Honest(pools=True),
    "big_offices": Honest(office_max=60, office_share=0.9),
    "reminder_bursts": Honest(reminder_burst=True),
    "small_units": Honest(unit_size=100),
    "everything": Honest(**POSITIVE, straight=(0.02, 0.35), all_agree=True, pools=True, office_max=60,
                         office_share=0.9, reminder_burst=True),
}


def at_local(day: int, hour: float) -> datetime:
    return START + timedelta(days=day, hours=hour - 8)


def honest_time(rng: random.Random, h: Honest, mobile: bool) -> tuple[datetime, datetime]:
    """(submitted at, last mail before it)."""
    day = rng.choice(REMINDER_DAYS) if rng.random() < 0.35 else rng.randrange(0, 34)
    if h.reminder_burst and day in REMINDER_DAYS and rng.random() < 0.5:
        moment = at_local(day, 8) + timedelta(minutes=rng.expovariate(1 / 40))
    elif mobile and rng.random() < 0.4:
        moment = at_local(day, rng.uniform(19, 23))
    elif rng.random() < 0.85:
        moment = at_local(day, rng.choice([8, 9, 10, 11, 13, 14, 15, 16]) + rng.random())
    else:
        moment = at_local(day, rng.uniform(0, 24))
    mails = [d for d in [0, *REMINDER_DAYS] if at_local(d, 8) <= moment]
    return moment, at_local(mails[-1] if mails else 0, 8)


class Unit:
    def __init__(self, rng: random.Random, code: str, size: int, h: Honest):
        self.rng, self.code, self.h = rng, code, h
        self.links: list[LinkFacts] = []
        self.responses: list[ResponseFacts] = []
        self.province_ip = f"10.{int(code)}.250.1"
        self.pool = [f"171.{int(code)}.{rng.randrange(256)}.{rng.randrange(256)}"
                     for _ in range(rng.randint(5, 30))] if h.pools else []
        self.offices: list[str] = []
        self.view_shift = [rng.gauss(0, h.question_sd) for _ in range(QUESTIONS)]
        self.straight_share = rng.uniform(*h.straight)
        rid = 0
        left = size
        while left > 0:
            n = min(left, rng.randint(5, h.office_max))
            left -= n
            office_ip = f"10.{int(code)}.{len(self.offices)}.1"
            self.offices.append(office_ip)
            is_home_affairs = len(self.offices) == 1  # the first office is the Department of Home Affairs itself
            for _ in range(n):
                rid += 1
                if rng.random() < 0.15:
                    continue  # never answers
                mobile = bool(self.pool) and rng.random() < 0.5
                if mobile:
                    ip, ua = rng.choice(self.pool), rng.choice(MOBILE)
                elif rng.random() < h.office_share:
                    ip, ua = office_ip, rng.choice(UAS)
                else:
                    ip, ua = f"113.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}", rng.choice(UAS)
                if is_home_affairs and not mobile and rng.random() < 0.7:
                    ip = self.province_ip
                at, mailed = honest_time(rng, h, mobile)
                spent = int(max(90, rng.lognormvariate(6.2, 0.5)))
                self.links.append(LinkFacts(f"{rid:06d}#locality", f"{rid:06d}", QID, ip, ua, ip, ua, at, spent,
                                            agency="Sở Nội vụ" if is_home_affairs else "Sở Y tế",
                                            seen=frozenset({f"{ip} | {ua}"}), mailed_at=mailed))
                self.responses.append(ResponseFacts(f"r{code}-{rid}", QID, self.answers(), at))

    def answers(self) -> dict:
        rng, h = self.rng, self.h
        if rng.random() < self.straight_share:
            value = "4" if h.all_agree else rng.choice(OPTIONS)
            return {f"C{q}": value for q in range(1, QUESTIONS + 1)}
        view = rng.gauss(h.view_mean, h.view_sd)
        return {f"C{q}": str(min(4, max(1, round(rng.gauss(view + self.view_shift[q - 1], h.answer_sd)))))
                for q in range(1, QUESTIONS + 1)}

    def place(self, i: int, at: datetime, ip: str | None = None, ua: str | None = None, spent: int | None = None):
        link = self.links[i]
        link.submitted_at = self.responses[i].submitted_at = at
        if ip:
            link.open_ip = link.submit_ip = ip
        if ua:
            link.open_ua = link.submit_ua = ua
        if ip or ua:
            link.seen = frozenset({f"{link.submit_ip} | {link.submit_ua}"})
        if spent is not None:
            link.seconds_spent = spent
        mails = [d for d in [0, *REMINDER_DAYS] if at_local(d, 8) <= at]
        link.mailed_at = at_local(mails[-1] if mails else 0, 8)

    def inject(self, style: str) -> None:
        rng, links, responses = self.rng, self.links, self.responses
        chosen = rng.sample(range(len(links)), k=min(len(links), rng.randint(25, 40)))
        moment = START + timedelta(days=rng.randrange(5, 30), hours=2)
        if style == "proxy_officer":  # one official fills in others' forms from one computer
            ip, ua = f"10.99.{rng.randrange(250)}.7", rng.choice(UAS)
            for n, i in enumerate(chosen):
                self.place(i, moment + timedelta(minutes=4 * n), ip, ua, rng.randint(60, 200))
        elif style == "province_account":  # links opened on the province's own computers
            for i in chosen[:12]:
                links[i].open_ip = self.province_ip
        elif style == "copied_answers":  # everyone told what to answer
            model = {f"C{q}": "4" for q in range(1, QUESTIONS + 1)}
            model["C7"] = "3"
            for i in chosen:
                responses[i].answers = dict(model)
        elif style == "supervised_session":  # answered together in one meeting
            for n, i in enumerate(chosen + rng.sample(range(len(links)), k=len(links) // 2)):
                self.place(i, moment + timedelta(seconds=20 * (n % 80)))
        elif style == "template_answers":  # a circulated answer sheet, lightly varied
            model = {f"C{q}": "4" for q in range(1, QUESTIONS + 1)}
            for i in chosen:
                answers = dict(model)
                answers[f"C{rng.randint(1, QUESTIONS)}"] = "3"
                responses[i].answers = answers
        elif style == "clerk_at_home":  # the links forwarded to one person, who answers them at home on a phone
            ip = rng.choice(self.pool) if self.pool else f"171.{rng.randrange(256)}.{rng.randrange(256)}.9"
            ua = rng.choice(MOBILE)
            evening = at_local(rng.randrange(5, 30), 20)
            for n, i in enumerate(chosen):
                at = evening + timedelta(days=n // 20, minutes=(n % 20) * rng.uniform(3, 6))
                self.place(i, at, ip, ua, rng.randint(120, 300))
                responses[i].answers = self.answers()  # varied on purpose
        elif style == "meeting_venue":  # everyone answers on their own phone over the venue's Wi-Fi
            venue = f"118.{rng.randrange(256)}.{rng.randrange(256)}.20"
            start = at_local(rng.randrange(5, 30), 14)
            for i in chosen:
                self.place(i, start + timedelta(minutes=rng.uniform(5, 60)), venue, rng.choice(MOBILE))
        elif style == "batch_over_days":  # one office computer, a few links a day for a week
            ip, ua = rng.choice(self.offices), rng.choice(DESKTOP)
            first_day = rng.randrange(3, 25)
            n = 0
            for day in range(first_day, first_day + 7):
                begin = at_local(day, rng.choice([9, 10, 14, 15]))
                for k in range(rng.randint(4, 6)):
                    if n < len(chosen):
                        self.place(chosen[n], begin + timedelta(minutes=k * rng.uniform(5, 9)), ip, ua,
                                   rng.randint(150, 400))
                        responses[chosen[n]].answers = self.answers()
                        n += 1
        elif style == "two_variant_template":  # a sheet with two versions, each copied with an occasional change
            first = {f"C{q}": rng.choice(["3", "4", "4"]) for q in range(1, QUESTIONS + 1)}
            second = dict(first)
            for q in rng.sample(range(1, QUESTIONS + 1), 4):
                second[f"C{q}"] = "3" if first[f"C{q}"] == "4" else "4"
            for n, i in enumerate(chosen):
                answers = dict(first if n % 2 else second)
                if rng.random() < 0.3:
                    answers[f"C{rng.randint(1, QUESTIONS)}"] = rng.choice(["2", "3", "4"])
                responses[i].answers = answers
        else:
            raise ValueError(style)


def run_variant(name: str, h: Honest, respondents: int, seed: int) -> dict:
    rng = random.Random(f"{seed}:{name}")
    codes = [f"{i:02d}" for i in range(1, UNITS + 1)]
    injected = {code: STYLES[n % len(STYLES)] for n, code in enumerate(rng.sample(codes, len(STYLES)))}
    raw = [max(150, int(rng.lognormvariate(6.55, 0.45))) for _ in codes]
    scale = respondents / sum(raw)
    units = []
    for code, size in zip(codes, raw):
        unit = Unit(rng, code, h.unit_size or max(100, int(size * scale)), h)
        if code in injected:
            unit.inject(injected[code])
        units.append(unit)
    national = answer_distribution([r for unit in units for r in unit.responses])
    thresholds = Thresholds()
    rows = []
    for unit in units:
        result = evaluate(unit.links, unit.responses, {unit.province_ip}, {QID: QUESTIONS}, thresholds, national)
        rows.append((unit, injected.get(unit.code), result))
    return {"rows": rows, "respondents": sum(len(u.links) for u in units)}


def fmt_p(flag: dict) -> str:
    return f"1e{flag['log10_probability']:.0f}" if "log10_probability" in flag else "fixed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=RESPONDENTS)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    began, cpu = time.monotonic(), time.process_time()
    recall: dict[str, list[bool]] = {style: [] for style in STYLES}
    false_flags: dict[str, int] = {}
    for name in args.variants.split(","):
        out = run_variant(name, VARIANTS[name], args.respondents, args.seed)
        print(f"\n== {name}: {UNITS} units, {out['respondents']} answering respondents")
        print(f"{'unit':>4} {'size':>5} {'injected':<22} {'score':>5}  flags (rule: log10 p)")
        honest_flagged = 0
        for unit, style, result in out["rows"]:
            hit = flagged(result)
            if style:
                recall[style].append(hit)
            elif hit:
                honest_flagged += 1
            if hit or style:
                flags = ", ".join(f"{f['rule']}: {fmt_p(f)}" for f in result["flags"])
                print(f"{unit.code:>4} {len(unit.links):>5} {style or '- (honest)':<22} {result['score']:>5}  {flags}")
        quiet = sum(1 for _, style, result in out["rows"] if not style and result["flags"])
        print(f"honest units flagged: {honest_flagged} of {UNITS - len(STYLES)} "
              f"(with any flag below the flagged level: {quiet})")
        false_flags[name] = honest_flagged
    print("\n== summary")
    print(f"{'honest behaviour':<18} false flags")
    for name, count in false_flags.items():
        print(f"{name:<18} {count}")
    print(f"{'interference style':<22} flagged")
    for style, hits in recall.items():
        print(f"{style:<22} {sum(hits)} of {len(hits)}")
    for name, count in false_flags.items():
        print(f"BENCH integrity_false_flags_{name} ratio={count:.0f} budget=0 (honest units flagged)")
    for style, hits in recall.items():
        ratio = sum(hits) / len(hits) if hits else 1.0
        print(f"BENCH integrity_recall_{style} ratio={ratio:.2f} budget=1.0 (higher is better)")
    # CPU seconds of the detector and the simulation: the wall time also counts whatever else the machine runs
    print(f"BENCH integrity_bench_seconds ratio={time.process_time() - cpu:.0f} budget=120 "
          f"(CPU; wall {time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    main()
