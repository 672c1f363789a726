"""Detecting interference in a unit's survey ("can thiệp trái quy định vào việc trả lời phiếu khảo sát").

Pure: the caller passes each link's paradata, the unit's responses and the province account's login addresses.
Every rule has configurable thresholds and returns evidence a reviewer can check (which links, when, from where).
The thresholds shipped are the ones the simulator (bench/simulate_integrity.py) validated."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.text import fold


@dataclass(frozen=True)
class Thresholds:
    ip_respondents: int = 6  # distinct respondents submitting from one IP …
    ip_window_minutes: int = 45  # … within this window
    device_respondents: int = 4  # distinct respondents from one IP + user agent within the window
    province_ip_links: int = 3  # links opened or submitted from an address the province account logged in from
    # (the Department of Home Affairs' own leaders share that office network and are not counted)
    identical_group: int = 5  # responses with the same answers to one questionnaire …
    identical_share: float = 0.02  # … and at least this share of the unit's responses to it
    near_identical_similarity: float = 0.9  # answers equal on at least this share of questions
    seconds_per_question: float = 2.0  # faster than anyone can read
    fast_share: float = 0.15
    fast_min: int = 5
    straight_share: float = 0.30
    straight_min: int = 6
    burst_share: float = 0.5  # share of a unit's submissions …
    burst_minutes: int = 30  # … inside one window this long
    burst_min_submissions: int = 12
    link_devices: int = 3  # one link used from this many different addresses or devices …
    link_devices_links: int = 3  # … for at least this many links
    weights: dict = field(default_factory=lambda: {
        "shared_ip": 25, "shared_device": 30, "province_ip": 45, "identical_answers": 40, "too_fast": 25,
        "straight_lining": 20, "burst": 20, "link_many_devices": 25})


RULE_NAMES = {
    "shared_ip": "Nhiều người trả lời từ cùng một địa chỉ mạng trong thời gian ngắn",
    "shared_device": "Nhiều người trả lời từ cùng một thiết bị (cùng địa chỉ mạng và trình duyệt)",
    "province_ip": "Phiếu được mở hoặc gửi từ địa chỉ mạng của tài khoản tỉnh",
    "identical_answers": "Nhiều phiếu có câu trả lời giống hệt hoặc gần giống hệt nhau",
    "too_fast": "Thời gian trả lời nhanh hơn mức có thể đọc phiếu",
    "straight_lining": "Nhiều phiếu chọn cùng một mức cho mọi câu",
    "burst": "Phần lớn phiếu của địa phương được gửi dồn trong một khoảng thời gian ngắn",
    "link_many_devices": "Một đường dẫn được dùng từ nhiều địa chỉ mạng hoặc thiết bị khác nhau",
}


@dataclass
class LinkFacts:
    slot: str
    rid: str
    qid: str
    open_ip: str | None
    open_ua: str | None
    submit_ip: str | None
    submit_ua: str | None
    submitted_at: datetime | None
    seconds_spent: int | None
    agency: str = ""
    seen: frozenset = frozenset()  # "<ip> | <user agent>" of each interaction


@dataclass
class ResponseFacts:
    response_id: str
    qid: str
    answers: dict
    submitted_at: datetime


def _clusters(events: list[tuple[datetime, str, str]], window: timedelta) -> list[list[tuple[datetime, str, str]]]:
    """Groups of (time, rid, slot) whose span is within `window` (sliding, maximal)."""
    events = sorted(events)
    best: list[list] = []
    start = 0
    for end in range(len(events)):
        while events[end][0] - events[start][0] > window:
            start += 1
        best.append(events[start:end + 1])
    return best


def _rule_shared(links: list[LinkFacts], key, minimum: int, window: timedelta) -> list[dict]:
    by_key: dict[str, list] = defaultdict(list)
    for link in links:
        k = key(link)
        if k and link.submitted_at:
            by_key[k].append((link.submitted_at, link.rid, link.slot))
    found = []
    for k, events in by_key.items():
        widest = max(_clusters(events, window), key=lambda c: len({rid for _, rid, _ in c}), default=[])
        people = {rid for _, rid, _ in widest}
        if len(people) >= minimum:
            found.append({"address": k, "respondents": len(people), "from": widest[0][0].isoformat(),
                          "to": widest[-1][0].isoformat(), "links": sorted({slot for _, _, slot in widest})[:50]})
    return found


def _signature(answers: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in answers.items()
                        if not isinstance(v, str) or len(v) < 40))


def _similar(a: dict, b: dict) -> float:
    keys = set(a) | set(b)
    if not keys:
        return 0.0
    same = sum(1 for k in keys if a.get(k) == b.get(k))
    return same / len(keys)


def evaluate(links: list[LinkFacts], responses: list[ResponseFacts], province_ips: set[str],
             question_counts: dict[str, int], t: Thresholds = Thresholds()) -> dict:
    """Flags, a risk score (0–100) and the evidence for one unit."""
    window = timedelta(minutes=t.ip_window_minutes)
    flags: dict[str, dict] = {}
    submitted = [link for link in links if link.submitted_at]

    shared = _rule_shared(links, lambda link: link.submit_ip, t.ip_respondents, window)
    if shared:
        flags["shared_ip"] = {"evidence": shared}
    devices = _rule_shared(links, lambda link: f"{link.submit_ip} | {link.submit_ua}" if link.submit_ip else None,
                           t.device_respondents, window)
    if devices:
        flags["shared_device"] = {"evidence": devices}

    from_province = [{"link": link.slot, "address": ip, "when": "mở" if ip == link.open_ip else "gửi"}
                     for link in links if "noi vu" not in fold(link.agency or "")
                     for ip in {link.open_ip, link.submit_ip} if ip and ip in province_ips]
    if len({e["link"] for e in from_province}) >= t.province_ip_links:
        flags["province_ip"] = {"evidence": from_province[:50]}

    identical = []
    by_qid: dict[str, list[ResponseFacts]] = defaultdict(list)
    for r in responses:
        by_qid[r.qid].append(r)
    for qid, items in by_qid.items():
        items = [r for r in items if not _straight(r.answers)]  # those are the straight-lining rule's
        minimum = max(t.identical_group, int(t.identical_share * len(items)) + 1)
        groups: dict[tuple, list[ResponseFacts]] = defaultdict(list)
        for r in items:
            groups[_signature(r.answers)].append(r)
        for members in groups.values():
            if len(members) >= minimum:
                identical.append({"questionnaire": qid, "responses": len(members), "kind": "giống hệt",
                                  "ids": [m.response_id for m in members][:50]})
        if not identical and len(items) >= minimum:
            # near-identical: many responses close to one of them
            for pivot in items[: min(len(items), 100)]:
                close = [r for r in items if _similar(pivot.answers, r.answers) >= t.near_identical_similarity]
                if len(close) >= minimum:
                    identical.append({"questionnaire": qid, "responses": len(close), "kind": "gần giống hệt",
                                      "ids": [m.response_id for m in close][:50]})
                    break
    if identical:
        flags["identical_answers"] = {"evidence": identical}

    fast = [{"link": link.slot, "seconds": link.seconds_spent,
             "minimum": int(question_counts.get(link.qid, 10) * t.seconds_per_question)}
            for link in submitted if link.seconds_spent is not None
            and link.seconds_spent < question_counts.get(link.qid, 10) * t.seconds_per_question]
    if len(fast) >= t.fast_min and len(fast) >= t.fast_share * max(1, len(submitted)):
        flags["too_fast"] = {"evidence": fast[:50], "share": round(len(fast) / max(1, len(submitted)), 2)}

    straight = [r.response_id for r in responses if _straight(r.answers)]
    if len(straight) >= t.straight_min and len(straight) >= t.straight_share * max(1, len(responses)):
        flags["straight_lining"] = {"evidence": straight[:50], "share": round(len(straight) / len(responses), 2)}

    times = sorted(link.submitted_at for link in submitted)
    if len(times) >= t.burst_min_submissions:
        span = timedelta(minutes=t.burst_minutes)
        start, best = 0, (0, 0, 0)
        for end in range(len(times)):
            while times[end] - times[start] > span:
                start += 1
            if end - start + 1 > best[0]:
                best = (end - start + 1, start, end)
        if best[0] >= t.burst_share * len(times):
            flags["burst"] = {"evidence": {"submissions": best[0], "of": len(times),
                                           "from": times[best[1]].isoformat(), "to": times[best[2]].isoformat()}}

    roaming = []
    for link in links:
        addresses = {s.split(" | ", 1)[0] for s in link.seen}
        if len(addresses) >= t.link_devices or len(link.seen) >= t.link_devices:
            roaming.append({"link": link.slot, "addresses": sorted(addresses)[:10], "devices": len(link.seen)})
    if len(roaming) >= t.link_devices_links:
        flags["link_many_devices"] = {"evidence": roaming[:50]}

    score = min(100, sum(t.weights.get(rule, 0) for rule in flags))
    return {"score": score, "flags": [{"rule": rule, "name": RULE_NAMES[rule], **detail}
                                      for rule, detail in flags.items()],
            "submitted": len(submitted), "responses": len(responses)}


def _straight(answers: dict) -> bool:
    """Every choice answer the same value, across at least 8 questions."""
    values = [v for v in answers.values() if isinstance(v, str) and len(v) <= 4]
    return len(values) >= 8 and len(set(values)) == 1


def flagged(result: dict, threshold: int = 40) -> bool:
    return result["score"] >= threshold


def thresholds_dict(t: Thresholds = Thresholds()) -> dict:
    return asdict(t)


# ---- address changes after delivery (a rule of its own: its facts come from the address-change records) -----------

ADDRESS_CHANGES = "address_changes"
ADDRESS_CHANGES_NAME = "Đổi email người trả lời sau khi thư mời đã được gửi tới họ (đề nghị đổi email, gửi lại phiếu)"
ADDRESS_CHANGES_MIN = 3  # requests in one unit: one or two are ordinary (a person moved, a typo noticed late)
ADDRESS_CHANGES_WEIGHT = 25


@dataclass(frozen=True)
class AddressChangeFacts:
    """One request to change a respondent's address after their invitation was delivered."""
    change: str  # the request's id
    state: str  # pending | approved | refused
    requested_at: datetime
    links: tuple[str, ...]  # the links it would re-address (slots)
    decided_at: datetime | None = None
    reissued: tuple[str, ...] = ()  # the links re-issued to the new address (approved)


def address_changes_flag(changes: list[AddressChangeFacts], minimum: int = ADDRESS_CHANGES_MIN) -> dict | None:
    """Many changes of address after delivery in one unit: each hands a respondent's link to whoever holds the new
    address. Counted whatever the ministry decided (a refused request is still an attempt)."""
    if len(changes) < minimum:
        return None
    ordered = sorted(changes, key=lambda c: c.requested_at)
    return {"rule": ADDRESS_CHANGES, "name": ADDRESS_CHANGES_NAME, "requests": len(ordered),
            "reissued": sum(len(c.reissued) for c in ordered),
            "evidence": [{"change": c.change, "state": c.state, "requested_at": c.requested_at.isoformat(),
                          "decided_at": c.decided_at.isoformat() if c.decided_at else None,
                          "links": list(c.links), "reissued": list(c.reissued)} for c in ordered[:50]]}


def with_address_changes(result: dict, changes: list[AddressChangeFacts]) -> dict:
    """`evaluate`'s result with the address-change rule's flag and weight added when it fires."""
    flag = address_changes_flag(changes)
    if flag is None:
        return result
    return {**result, "flags": [*result["flags"], flag],
            "score": min(100, result["score"] + ADDRESS_CHANGES_WEIGHT)}
