"""Integrity simulator: a national campaign (63 units, ~50,000 respondents) with honest behaviour and interference
injected into chosen units in several styles; runs the detector with the shipped thresholds and reports precision
and recall per unit. Target: every injected unit flagged, at most one honest unit flagged.

Honest behaviour: answers spread over the survey weeks in working hours with bursts after reminders; offices share
a network address (departments of 5–25 people behind one NAT); varied browsers; reading time log-normal around
8 minutes; answers drawn around each person's own view; a few honest straight-liners."""
from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.domain.integrity import LinkFacts, ResponseFacts, Thresholds, evaluate, flagged  # noqa: E402

SEED = 2021
UNITS = 63
RESPONDENTS = 50_000
QUESTIONS = 20
OPTIONS = ["1", "2", "3", "4"]
UAS = [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/{v}.0" for v in range(100, 130)] + \
      [f"Mozilla/5.0 (iPhone; CPU iPhone OS {v}_0 like Mac OS X) Safari/604.1" for v in range(14, 19)] + \
      [f"Mozilla/5.0 (Linux; Android {v}) Chrome/120.0 Mobile" for v in range(9, 15)]
START = datetime(2022, 1, 17, 1, 0, tzinfo=timezone.utc)  # 08:00 in Hà Nội
STYLES = ["proxy_officer", "province_account", "copied_answers", "supervised_session", "template_answers"]


def working_time(rng: random.Random, reminder_days: list[int]) -> datetime:
    day = rng.choice(reminder_days) if rng.random() < 0.35 else rng.randrange(0, 34)
    hour = rng.choice([1, 2, 3, 4, 6, 7, 8, 9]) if rng.random() < 0.85 else rng.randrange(0, 24)
    return START + timedelta(days=day, hours=hour - 1, minutes=rng.randrange(60), seconds=rng.randrange(60))


def honest_answers(rng: random.Random) -> dict:
    if rng.random() < 0.03:
        value = rng.choice(OPTIONS)
        return {f"C{q}": value for q in range(1, QUESTIONS + 1)}
    view = rng.gauss(2.8, 0.6)
    return {f"C{q}": str(min(4, max(1, round(rng.gauss(view, 0.8))))) for q in range(1, QUESTIONS + 1)}


def build_unit(rng: random.Random, code: str, size: int, style: str | None):
    offices = []
    left = size
    while left > 0:
        n = min(left, rng.randint(5, 25))
        offices.append((n, f"10.{int(code)}.{len(offices)}.1"))
        left -= n
    province_ip = f"10.{int(code)}.250.1"
    reminder_days = [7, 20, 31]
    links, responses = [], []
    rid = 0
    for n, office_ip in offices:
        is_home_affairs = len(links) == 0  # the first office is the Department of Home Affairs itself
        for _ in range(n):
            rid += 1
            if rng.random() < 0.15:
                continue  # never answers
            at = working_time(rng, reminder_days)
            ip = office_ip if rng.random() < 0.6 else f"113.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
            if is_home_affairs and rng.random() < 0.7:
                ip = province_ip
            ua = rng.choice(UAS)
            spent = int(max(90, rng.lognormvariate(6.2, 0.5)))
            slot = f"{rid:06d}#locality"
            links.append(LinkFacts(slot, f"{rid:06d}", "locality-2", ip, ua, ip, ua, at, spent,
                                   agency="Sở Nội vụ" if is_home_affairs else "Sở Y tế"))
            responses.append(ResponseFacts(f"r{code}-{rid}", "locality-2", honest_answers(rng), at))
    if style:
        inject(rng, style, links, responses, province_ip)
    return links, responses, {province_ip}


def inject(rng: random.Random, style: str, links: list[LinkFacts], responses: list[ResponseFacts], province_ip: str):
    chosen = rng.sample(range(len(links)), k=min(len(links), rng.randint(25, 40)))
    moment = START + timedelta(days=rng.randrange(5, 30), hours=2)
    if style == "proxy_officer":  # one official fills in others' forms from one computer
        ip, ua = f"10.99.{rng.randrange(250)}.7", rng.choice(UAS)
        for n, i in enumerate(chosen):
            link = links[i]
            link.open_ip = link.submit_ip = ip
            link.open_ua = link.submit_ua = ua
            link.submitted_at = moment + timedelta(minutes=4 * n)
            link.seconds_spent = rng.randint(60, 200)
    elif style == "province_account":  # links opened on the province's own computers
        for i in chosen[:12]:
            links[i].open_ip = province_ip
    elif style == "copied_answers":  # everyone told what to answer
        model = {f"C{q}": "4" for q in range(1, QUESTIONS + 1)}
        model["C7"] = "3"
        for i in chosen:
            responses[i].answers = dict(model)
    elif style == "supervised_session":  # answered together in one meeting
        for n, i in enumerate(chosen + rng.sample(range(len(links)), k=len(links) // 2)):
            links[i].submitted_at = responses[i].submitted_at = moment + timedelta(seconds=20 * (n % 80))
    elif style == "template_answers":  # a circulated answer sheet, lightly varied
        model = {f"C{q}": "4" for q in range(1, QUESTIONS + 1)}
        for i in chosen:
            answers = dict(model)
            answers[f"C{rng.randint(1, QUESTIONS)}"] = "3"
            responses[i].answers = answers


def main() -> None:
    rng = random.Random(SEED)
    codes = [f"{i:02d}" for i in range(1, UNITS + 1)]
    injected = {code: STYLES[n % len(STYLES)] for n, code in enumerate(rng.sample(codes, 10))}
    sizes = [max(150, int(rng.lognormvariate(6.55, 0.45))) for _ in codes]
    scale = RESPONDENTS / sum(sizes)
    thresholds = Thresholds()
    tp = fp = fn = tn = 0
    total = 0
    print(f"{'unit':>4} {'size':>5} {'injected':<20} {'score':>5} flags")
    for code, size in zip(codes, sizes):
        size = max(100, int(size * scale))
        total += size
        links, responses, province_ips = build_unit(rng, code, size, injected.get(code))
        result = evaluate(links, responses, province_ips, {"locality-2": QUESTIONS}, thresholds)
        hit = flagged(result)
        truth = code in injected
        tp, fp, fn, tn = tp + (hit and truth), fp + (hit and not truth), fn + (truth and not hit), \
            tn + (not hit and not truth)
        if hit or truth:
            print(f"{code:>4} {size:>5} {injected.get(code, '-'):<20} {result['score']:>5} "
                  f"{', '.join(f['rule'] for f in result['flags'])}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"units {UNITS}, respondents {total}, injected {len(injected)} ({', '.join(STYLES)})")
    print(f"flagged: {tp} of {len(injected)} injected, {fp} honest; precision {precision:.2f}, recall {recall:.2f}")
    print(f"BENCH integrity_recall ratio={recall:.2f} budget=1.0 (higher is better: every injected unit flagged)")
    print(f"BENCH integrity_false_flags ratio={fp:.0f} budget=1 (honest units flagged)")


if __name__ == "__main__":
    main()
