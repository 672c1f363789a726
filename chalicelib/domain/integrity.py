"""Detecting interference in a unit's survey ("can thiệp trái quy định vào việc trả lời phiếu khảo sát").

Pure: the caller passes each link's paradata, the unit's responses, the province account's login addresses and,
when it has them, the national answer distributions. Annulment cancels all of a province's survey results, so the
rules that look for coincidences (identical answers, shared addresses and devices, bursts) do not count against
fixed numbers: each one compares what was seen with what honest, independent answering would give *in this very
unit* (its own answer distribution, its own offices and carrier pools, its own rhythm of the day and after
reminders), computes the probability of seeing at least as much, corrects it for the number of places looked at
(Bonferroni: the probability is multiplied by the number of windows, addresses or answer sets examined, so it
bounds the chance of *any* such finding in an honest unit) and flags only below `Thresholds.level`.
The remaining rules (province account's address, reading time, straight-lining, one link on many devices) state
facts that need no model and keep fixed thresholds.

Every flag carries its evidence as structured fields (observed, expected, probability, links, times in
Asia/Ho_Chi_Minh as dd/mm/yyyy HH:MM, addresses) and a Vietnamese sentence a reviewer can read out.
The simulator (bench/simulate_integrity.py) is the test bench for the levels shipped."""
from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
import msgspec
from msgspec import Struct, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.text import fold

VN = ZoneInfo("Asia/Ho_Chi_Minh")


class Thresholds(Struct, frozen=True):
    level: float = 1e-4  # a calibrated rule flags only when honest answering gives the observation this rarely
    ip_window_minutes: int = 45  # window in which submissions from one address or device are counted
    shared_min: int = 4  # fewer respondents than this at one address or device are never shown as evidence
    prior_weight: float = 20.0  # pseudo-observations given to the prior where a unit has little data of its own
    active_hours: float = 360.0  # when a unit has no other submissions: honest ones spread over ~30 days × 12 h
    national_weight: float = 30.0  # pseudo-responses of the national answer distribution added to a unit's own
    province_ip_links: int = 3  # links opened or submitted from an address the province account logged in from
    # (the Department of Home Affairs' own leaders share that office network and are not counted)
    identical_min: int = 3  # answer sets shared by fewer responses than this are never examined
    near_identical_similarity: float = 0.9  # answers equal on at least this share of questions
    identical_clusters: int = 8  # the largest clusters of near-identical sets tested in each questionnaire
    view_bandwidth: float = 0.1  # smoothing of the answer model across views (mean answers this far apart)
    view_prior_weight: float = 5.0  # pseudo-answers of a view's answers to all questions, given to each question
    seconds_per_question: float = 2.0  # faster than anyone can read
    fast_share: float = 0.15
    fast_min: int = 5
    straight_share: float = 0.30
    straight_min: int = 6
    burst_minutes: int = 30  # window in which a unit's submissions are counted
    burst_min_submissions: int = 12
    link_devices: int = 3  # one link used from this many different addresses or devices …
    link_devices_links: int = 3  # … for at least this many links
    # a calibrated flag is decisive on its own (weight ≥ 40, the flagged level); the fixed-threshold ones support
    weights: dict = field(default_factory=lambda: {
        "shared_ip": 45, "shared_device": 45, "province_ip": 45, "identical_answers": 45, "burst": 45,
        "too_fast": 25, "straight_lining": 20, "link_many_devices": 25})


DEFAULT_THRESHOLDS = Thresholds()

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


class LinkFacts(Struct):
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
    mailed_at: datetime | None = None  # the latest invitation or reminder sent for this link


class ResponseFacts(Struct):
    response_id: str
    qid: str
    answers: dict
    submitted_at: datetime


# ---- probabilities ---------------------------------------------------------------------------------------------
# All in natural logarithms: the probabilities of what interference produces underflow a float.

def _logsumexp(terms: list[float]) -> float:
    top = max(terms)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(x - top) for x in terms))


def log_poisson_tail(lam: float, k: int) -> float:
    """log P(X ≥ k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 0.0
    if lam <= 0:
        return -math.inf
    if k <= lam:  # the upper tail is large: 1 − P(X < k)
        below = math.exp(_logsumexp([-lam + j * math.log(lam) - math.lgamma(j + 1) for j in range(k)]))
        return math.log(max(1e-300, 1.0 - below)) if below < 1.0 else math.log(1e-300)
    first = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total, term, j = 1.0, 1.0, k
    while term > 1e-17 * total:
        j += 1
        term *= lam / j
        total += term
    return first + math.log(total)


def log_binomial_tail(n: int, p: float, k: int) -> float:
    """log P(X ≥ k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 0.0
    if k > n or p <= 0:
        return -math.inf
    if p >= 1:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    lc = math.lgamma(n + 1)
    return _logsumexp([lc - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * lp + (n - j) * lq
                       for j in range(k, n + 1)])


def _adjusted(log_p: float, tests: int) -> float:
    """Bonferroni: the chance that any of `tests` places looked at shows this much, capped at 1."""
    return min(0.0, log_p + math.log(max(1, tests)))


# ---- how the evidence reads ------------------------------------------------------------------------------------

def vn_number(x: float) -> str:
    """0,3 · 2,5 · 17 · 1.250 (Vietnamese: decimal comma, thousands point)."""
    if x >= 100 or (x >= 10 and abs(x - round(x)) < 0.05) or x == int(x):
        return f"{round(x):,}".replace(",", ".")
    if x >= 0.1:
        return f"{x:.1f}".replace(".", ",")
    if x <= 0:
        return "0"
    digits = max(2, 1 - math.floor(math.log10(x)))
    return f"{x:.{digits}f}".replace(".", ",")


_SUPER = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def vn_probability(log_p: float) -> str:
    """A probability for a reader: 0,012 · 3,4 × 10⁻⁸ (khoảng 1 trên 29 triệu lần) · nhỏ hơn 10⁻³⁰⁰."""
    log10 = log_p / math.log(10)
    if log10 < -300:
        return "nhỏ hơn 10⁻³⁰⁰"
    p = math.exp(log_p)
    if p >= 0.001:
        return f"{p:.2g}".replace(".", ",")
    exponent = math.floor(log10)
    mantissa = 10 ** (log10 - exponent)
    if mantissa >= 9.95:
        mantissa, exponent = 1.0, exponent + 1
    text = f"{mantissa:.1f}".replace(".", ",") + " × 10" + str(exponent).translate(_SUPER)
    one_in = 1 / p if p > 0 else math.inf
    for size, word in ((1e12, "nghìn tỷ"), (1e9, "tỷ"), (1e6, "triệu"), (1e3, "nghìn")):
        if one_in >= size:
            if one_in >= 1000 * size and word == "nghìn tỷ":
                return f"{text} (chưa tới 1 trên 1.000 nghìn tỷ lần)"
            return f"{text} (khoảng 1 trên {vn_number(round(one_in / size))} {word} lần)"
    return text


def vn_time(moment: datetime) -> str:
    return moment.astimezone(VN).strftime("%d/%m/%Y %H:%M")


def _span(first: datetime, last: datetime) -> str:
    a, b = vn_time(first), vn_time(last)
    if a == b:
        return f"lúc {a}"
    if a[:10] == b[:10]:
        return f"từ {a[11:]} đến {b[11:]} ngày {a[:10]}"
    return f"từ {a} đến {b}"


def _calibrated(observed: float, expected: float, log_p: float, level: float) -> dict:
    return {"observed": observed, "expected": float(f"{expected:.4g}"), "probability": math.exp(log_p),
            "log10_probability": round(log_p / math.log(10), 2), "probability_label": vn_probability(log_p),
            "level": level, "flagged": log_p < math.log(level)}


# ---- the unit's rhythm ----------------------------------------------------------------------------------------

def _day(moment: datetime):
    return moment.astimezone(VN).date()


def _mail_starts(links: list[LinkFacts]) -> dict:
    """The first invitation or reminder mailed to the unit on each day (local dates)."""
    starts: dict = {}
    for link in links:
        if link.mailed_at:
            d = _day(link.mailed_at)
            starts[d] = min(starts.get(d, link.mailed_at), link.mailed_at)
    return starts


class _Rhythm:
    """When the unit's honest respondents answer: a share per day times a profile within the day.

    Days on which the unit was mailed (invitation or reminder) have their own profile, aligned on the time since
    that day's first mail (people answer soon after a reminder); other days share a time-of-day profile. A window's
    share within the day is the larger of the share seen in exactly that window and the share seen in a band of an
    hour either side (scaled to the window): small samples neither invent nor hide a peak. Both shares are shrunk
    toward an even spread (`prior_weight` pseudo-submissions) so that a unit with little data has a sane rhythm."""

    BAND = 60.0

    def __init__(self, times: list[datetime], mail_starts: dict, t: Thresholds, skip_day=None):
        self.mail_starts = mail_starts
        self.t = t
        kept = [m for m in times if _day(m) != skip_day]
        self.days = Counter(_day(m) for m in kept)
        self.total = len(kept)
        span = (max(times) - min(times)).days + 1 if times else 1
        self.n_days = max(7, span)
        self.offsets: dict[bool, list[float]] = {True: [], False: []}
        for m in kept:
            self.offsets[_day(m) in mail_starts].append(self.offset(m))
        for values in self.offsets.values():
            values.sort()

    def offset(self, moment: datetime) -> float:
        """Minutes since that day's first mail (mailing days) or since midnight (other days)."""
        d = _day(moment)
        if d in self.mail_starts:
            return (moment - self.mail_starts[d]).total_seconds() / 60
        local = moment.astimezone(VN)
        return local.hour * 60 + local.minute + local.second / 60

    def within_day(self, begin: datetime, minutes: float) -> float:
        values = self.offsets[_day(begin) in self.mail_starts]
        lo = self.offset(begin)

        def count(a: float, b: float) -> int:
            return bisect.bisect_right(values, b) - bisect.bisect_left(values, a)

        n = len(values)
        observed = 0.0
        if n:
            observed = max(count(lo, lo + minutes) / n,
                           count(lo - self.BAND, lo + minutes + self.BAND) / n * minutes / (minutes + 2 * self.BAND))
        even = min(1.0, minutes / (12 * 60))
        w = self.t.prior_weight
        return min(0.95, (n * observed + w * even) / (n + w))

    def day_share(self, moment: datetime) -> float:
        w = self.t.prior_weight
        return (self.days.get(_day(moment), 0) + w / self.n_days) / (self.total + w)

    def share(self, begin: datetime, minutes: float) -> float:
        """The share of honest submissions expected in [begin, begin + minutes]."""
        return min(1.0, self.day_share(begin) * self.within_day(begin, minutes))


# ---- shared addresses and devices ------------------------------------------------------------------------------

def _densest(events: list[tuple[datetime, str, str]], window: timedelta) -> list[tuple[datetime, str, str]]:
    """The (time, rid, slot) events of the window of length `window` holding the most distinct respondents."""
    events = sorted(events)
    best: list = []
    best_people = 0
    start = 0
    for end in range(len(events)):
        while events[end][0] - events[start][0] > window:
            start += 1
        people = len({rid for _, rid, _ in events[start:end + 1]})
        if people > best_people:
            best, best_people = events[start:end + 1], people
    return best


def _rule_shared(links: list[LinkFacts], key, t: Thresholds, device: bool) -> list[dict]:
    """Many respondents at one address (or device) in a short window, against the unit's own rhythm.

    Null: the n submissions this address carries over the whole survey (its own base rate: an office of 60, a
    carrier's pool shared by hundreds) fall at the moments the unit's other respondents chose, independently.
    Each then lands in the window [t, t + W] with probability f = the share of the unit's *other* submissions in
    that same window (so the time of day, the day of the campaign and a reminder sent that morning are all in f),
    shrunk toward an even spread over the survey's active hours when the unit has few other submissions. The count
    in the window is Binomial(n, f). The densest window and the address are chosen after looking, so the tail is
    multiplied by the number of places that could have been chosen: about 1/f windows as likely as this one fit in
    the survey (they share out its honest submissions), at each of the addresses examined (those with at least
    `shared_min` respondents)."""
    window = timedelta(minutes=t.ip_window_minutes)
    submitted = [link for link in links if link.submitted_at]
    starts = _mail_starts(links)
    by_key: dict[str, list] = defaultdict(list)
    for link in submitted:
        k = key(link)
        if k:
            by_key[k].append((link.submitted_at, link.rid, link.slot))
    found = []
    examined = sum(1 for events in by_key.values() if len({rid for _, rid, _ in events}) >= t.shared_min)
    for k, events in by_key.items():
        if len({rid for _, rid, _ in events}) < t.shared_min:
            continue
        widest = _densest(events, window)
        people = len({rid for _, rid, _ in widest})
        if people < t.shared_min:
            continue
        others = [link.submitted_at for link in submitted if link.submitted_at is not None and key(link) != k]
        f = _Rhythm(others, starts, t).share(widest[0][0], t.ip_window_minutes)
        n = len(events)
        log_p = _adjusted(log_binomial_tail(n, f, people), examined * max(1, round(1 / max(f, 1e-9))))
        stats = _calibrated(people, n * f, log_p, t.level)
        if not stats["flagged"]:
            continue
        address, _, agent = k.partition(" | ")
        where = f"địa chỉ mạng {address}" + (f" với cùng trình duyệt «{agent}»" if device else "")
        found.append({
            "address": k, "respondents": people, "from": widest[0][0].isoformat(),
            "to": widest[-1][0].isoformat(), "from_label": vn_time(widest[0][0]), "to_label": vn_time(widest[-1][0]),
            "links": sorted({slot for _, _, slot in widest})[:50],
            "times": [vn_time(moment) for moment, _, _ in widest][:50],
            "address_submissions": n, **stats,
            "summary": (f"{people} người gửi phiếu từ {where} {_span(widest[0][0], widest[-1][0])}. Địa chỉ này "
                        f"có {n} phiếu trong cả đợt; nếu mỗi người tự trả lời vào lúc của mình như những người "
                        f"khác của đơn vị, dự kiến {vn_number(n * f)} phiếu trong {t.ip_window_minutes} phút đó; "
                        f"phát hiện {people}. Xác suất: {stats['probability_label']}.")})
    return sorted(found, key=lambda item: item["log10_probability"])


def _rule_same_browser(links: list[LinkFacts], t: Thresholds) -> list[dict]:
    """Many respondents at one address with exactly the same browser, over the whole survey.

    Null: the respondents behind an address use browsers in the proportions the unit's respondents elsewhere use
    them (share p of this browser, shrunk toward an even share of the browsers seen with 5 × `prior_weight`
    pseudo-respondents: one browser's count elsewhere is a small, noisy number). The number with this
    browser among the address's n respondents is Binomial(n, p); the tail is multiplied by the number of
    (address, browser) pairs that could have been picked. Catches one computer used for batch after batch over
    several days, which no window sees."""
    people_at: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    slots_at: dict[tuple[str, str], list] = defaultdict(list)
    browser_people: dict[str, set] = defaultdict(set)
    for link in links:
        if link.submitted_at and link.submit_ip and link.submit_ua:
            people_at[link.submit_ip][link.submit_ua].add(link.rid)
            slots_at[(link.submit_ip, link.submit_ua)].append((link.submitted_at, link.slot))
            browser_people[link.submit_ua].add(link.rid)
    everyone = len({rid for ua in browser_people.values() for rid in ua})
    pairs = sum(len(by_ua) for by_ua in people_at.values())
    even = 1 / max(1, len(browser_people))
    found = []
    for ip, by_ua in people_at.items():
        n = len(set().union(*by_ua.values()))
        ua, who = max(by_ua.items(), key=lambda item: len(item[1]))
        x = len(who)
        if x < t.shared_min:
            continue
        elsewhere = len(browser_people[ua] - who)
        p = (elsewhere + 5 * t.prior_weight * even) / (everyone - n + 5 * t.prior_weight)
        log_p = _adjusted(log_binomial_tail(n, p, x), pairs)
        stats = _calibrated(x, n * p, log_p, t.level)
        if not stats["flagged"]:
            continue
        moments = sorted(slots_at[(ip, ua)])
        found.append({
            "address": f"{ip} | {ua}", "respondents": x, "from": moments[0][0].isoformat(),
            "to": moments[-1][0].isoformat(), "from_label": vn_time(moments[0][0]),
            "to_label": vn_time(moments[-1][0]), "links": [slot for _, slot in moments][:50],
            "times": [vn_time(moment) for moment, _ in moments][:50], "address_respondents": n, **stats,
            "summary": (f"{x} trong {n} người gửi phiếu từ địa chỉ mạng {ip} dùng cùng một trình duyệt «{ua}» "
                        f"({_span(moments[0][0], moments[-1][0])}). Với cách dùng trình duyệt của những người "
                        f"khác trong đơn vị, dự kiến {vn_number(n * p)} người; phát hiện {x}. "
                        f"Xác suất: {stats['probability_label']}.")})
    return found


# ---- identical and near-identical answer sets ------------------------------------------------------------------

def _choices(answers: dict) -> dict[str, str]:
    """The closed answers (option codes, multi-choice as one sorted set); free text is left out."""
    out = {}
    for k, v in answers.items():
        if isinstance(v, list):
            out[k] = "+".join(sorted(map(str, v)))
        elif isinstance(v, str) and len(v) <= 4:
            out[k] = v
    return out


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


VIEW_STEP = 0.05  # width of a view class on the answer scale


def _view_bin(row: tuple) -> int:
    return round(_row_mean(row) / VIEW_STEP)


def _counts(rows: list[tuple], questions: list[str]) -> dict[int, tuple[int, list[Counter]]]:
    """{view class: (respondents, [answer counts of each question])}."""
    out: dict[int, tuple[int, list[Counter]]] = {}
    for row in rows:
        b = _view_bin(row)
        n, per_q = out.get(b) or (0, [Counter() for _ in questions])
        for q, value in enumerate(row):
            if value is not None:
                per_q[q][value] += 1
        out[b] = (n + 1, per_q)
    return out


def _national_counts(national: dict, questions: list[str]) -> dict[int, tuple[int, list[Counter]]]:
    """The stored form ({class: {"n": respondents, "answers": {question: {answer: count}}}}) for these questions."""
    out = {}
    for key, part in (national or {}).items():
        answers = part.get("answers") or {}
        out[int(key)] = (int(part.get("n", 0)), [Counter({v: int(c) for v, c in (answers.get(q) or {}).items()})
                                                 for q in questions])
    return out


def _minus(total: dict[int, tuple[int, list[Counter]]], own: dict[int, tuple[int, list[Counter]]]) -> dict:
    """The national counts without the unit's own (which the caller may have included), never below zero."""
    out = {}
    for b, (n, per_q) in total.items():
        if b in own:
            mine_n, mine = own[b]
            n = max(0, n - mine_n)
            per_q = [Counter({v: c - mine[q].get(v, 0) for v, c in counts.items() if c > mine[q].get(v, 0)})
                     for q, counts in enumerate(per_q)]
        if n:
            out[b] = (n, per_q)
    return out



def _smoothed(source: dict[int, tuple[int, list[Counter]]], b: int, kernel: list[float], reach: int,
              q_count: int) -> tuple[float, list[dict]]:
    """The respondents of view class `b` and their answer counts per question, each source class weighted by the
    kernel of its distance to `b`."""
    total = 0.0
    per_question: list[dict] = [defaultdict(float) for _ in range(q_count)]
    for i, weight in enumerate(kernel):
        src = b + i - reach
        if src in source:
            n, per_q = source[src]
            total += weight * n
            for q in range(q_count):
                for v, c in per_q[q].items():
                    per_question[q][v] += weight * c
    return total, per_question


def _view_answers(unit_c: list[dict], nat_c: list[dict], w_nat: float, w_view: float, values: list[set],
                  beta: float) -> list[dict]:
    """For one view class, how often each answer is chosen per question: the unit's counts, shrunk toward the
    national ones (`w_view` pseudo-respondents), then toward the view's answers pooled over all questions (`beta`)."""
    pooled: dict = defaultdict(float)
    for q in range(len(unit_c)):
        for v, c in unit_c[q].items():
            pooled[v] += c
        nat_total = sum(nat_c[q].values())
        for v, c in nat_c[q].items():
            pooled[v] += c / nat_total * w_nat
    dists = []
    for q in range(len(unit_c)):
        prior_total = sum(pooled[v] for v in values[q])
        prior = {v: (pooled[v] / prior_total if prior_total else 1 / len(values[q])) for v in values[q]}
        nat_total = sum(nat_c[q].values())
        w = w_view if nat_total else 0.0
        denominator = sum(unit_c[q].values()) + w + beta
        dists.append({v: (unit_c[q].get(v, 0.0) + (w * nat_c[q].get(v, 0.0) / nat_total if w else 0.0)
                          + beta * prior[v]) / denominator for v in values[q]})
    return dists


class _ViewModel:
    """Honest, independent answering in one unit, given each respondent's view.

    A respondent's view is their mean answer, in classes of `VIEW_STEP`. The model has two parts, both smoothed
    across neighbouring classes with a Gaussian kernel of `view_bandwidth` (a view is measured with noise, and a
    class may hold few respondents):
    - G, how many of the unit's respondents hold each view: the unit's own, shrunk toward the national spread of
      views (`national_weight` pseudo-respondents);
    - for each view and question, how often each answer is chosen: the unit's respondents of that view, shrunk
      toward the national respondents of that view (`national_weight`), then toward the answers of that view pooled
      over all questions (`view_prior_weight`: a respondent who rates most statements 4 rates an unknown one 4).
    Given the view, questions are answered independently; so P(an honest respondent's answers equal A on at least
    k questions) = Σ_view G(view) · P(at least k matches | view), the last term by dynamic programming over the
    questions. A latent-trait model of this kind is what makes agreement *between* respondents of one view expected
    (two leaders rating everything 4 but one statement agree on 18 of 20 questions without any coordination), and
    the fine classes carry it out to the ceiling and floor of the scale, where honest near-identical sets pile up."""

    def __init__(self, counts: dict[int, tuple[int, list[Counter]]], national: dict[int, tuple[int, list[Counter]]],
                 questions: list[str], t: Thresholds):
        sigma = max(1e-6, t.view_bandwidth / VIEW_STEP)
        reach = max(1, math.ceil(3 * sigma))
        kernel = [math.exp(-0.5 * (d / sigma) ** 2) for d in range(-reach, reach + 1)]
        norm = sum(kernel)
        kernel = [k / norm for k in kernel]
        q_count = len(questions)
        n_unit = sum(n for n, _ in counts.values())
        n_nat = sum(n for n, _ in national.values())
        w_nat = t.national_weight if n_nat else 0.0
        values: list[set] = [set() for _ in range(q_count)]
        for source in (counts, national):
            for _, per_q in source.values():
                for q in range(q_count):
                    values[q].update(per_q[q])
        occupied = set(counts) | set(national)
        self.classes: list[tuple[float, list[dict]]] = []
        if not occupied:
            return
        total_g = 0.0
        for b in range(min(occupied) - reach, max(occupied) + reach + 1):
            unit_n, unit_c = _smoothed(counts, b, kernel, reach, q_count)
            nat_n, nat_c = _smoothed(national, b, kernel, reach, q_count)
            g = (unit_n + (w_nat * nat_n / n_nat if n_nat else 0.0)) / max(1e-12, n_unit + w_nat)
            if g < 1e-9:
                continue
            w_view = w_nat * nat_n / n_nat if n_nat else 0.0  # the pseudo-respondents of this view
            self.classes.append((g, _view_answers(unit_c, nat_c, w_nat, w_view, values, t.view_prior_weight)))
            total_g += g
        self.classes = [(g / total_g, dists) for g, dists in self.classes]

    def agree_probability(self, row: tuple, need: int) -> float:
        """P(an honest respondent's answers equal `row` on at least `need` questions)."""
        allowed = len(row) - need
        total = 0.0
        for weight, dists in self.classes:
            dp = [1.0] + [0.0] * allowed  # probability of j mismatches so far
            for q, value in enumerate(row):
                match = dists[q].get(value, 0.0) if value is not None else 0.0
                match = min(1.0, max(1e-6, match))
                for j in range(allowed, -1, -1):
                    dp[j] = dp[j] * match + (dp[j - 1] * (1 - match) if j else 0.0)
            total += weight * sum(dp)
        return min(1.0, total)


def _row_mean(row: tuple) -> float:
    values = [x for x in (_number(v) for v in row) if x is not None]
    return sum(values) / len(values) if values else 0.0


def _rule_answers(responses: list[ResponseFacts], national: dict, t: Thresholds) -> list[dict]:
    """Clusters of identical or near-identical answer sets, against honest answering in the unit.

    For a set of answers A, the number of the unit's other responses that agree with A on at least the similarity
    share of questions is Binomial(N − 1, P(A)) under honest answering, P(A) from `_ViewModel`. The model that
    judges a cluster is fitted without the cluster (A, its exact copies and its near copies): a coordinated sheet
    must not make its own copies look ordinary, and the unit's other respondents of the same view, with the other
    units' respondents of that view, say how common such answers honestly are. The national counts passed in may
    include the unit's own; they are taken out. The tail is multiplied by N, the number of answer sets that could
    have been picked as the centre. Straight-lined sets are left to their own rule."""
    by_qid: dict[str, list[ResponseFacts]] = defaultdict(list)
    for r in responses:
        if not _straight(r.answers):
            by_qid[r.qid].append(r)
    found = []
    for qid, items in by_qid.items():
        answers = [_choices(r.answers) for r in items]
        questions = sorted({k for a in answers for k in a})
        n = len(items)
        if len(questions) < 5 or n < t.identical_min:
            continue
        rows = [tuple(a.get(q) for q in questions) for a in answers]
        need = math.ceil(t.near_identical_similarity * len(questions) - 1e-9)
        groups, distinct, sizes, neighbours = _near_copies(rows, need)
        close = [sizes[a] - 1 + sum(sizes[b] for b in neighbours[a]) for a in range(len(distinct))]
        candidates = [a for a in range(len(distinct)) if close[a] + 1 >= t.identical_min]
        if not candidates:
            continue
        others = _minus(_national_counts(national.get(qid, {}), questions), _counts(rows, questions))
        taken: set[int] = set()
        tested = 0
        for a in sorted(candidates, key=lambda a: (-close[a], -sizes[a])):
            if a in taken or tested == t.identical_clusters:
                continue
            tested += 1
            cluster = {a, *neighbours[a]}
            taken |= cluster
            members = sorted(i for b in cluster for i in groups[distinct[b]])
            left_out = set(members)
            model = _ViewModel(_counts([row for i, row in enumerate(rows) if i not in left_out], questions), others,
                               questions, t)
            p = model.agree_probability(distinct[a], need)
            log_p = _adjusted(log_binomial_tail(n - 1, p, close[a]), n)
            stats = _calibrated(close[a], (n - 1) * p, log_p, t.level)
            if not stats["flagged"]:
                continue
            found.append(_cluster_finding(qid, [items[i] for i in members], sizes[a], n, len(questions), need,
                                          (n - 1) * p, close[a], stats))
    return sorted(found, key=lambda item: item["log10_probability"])


def _near_copies(rows: list[tuple], need: int) -> tuple[dict[tuple, list[int]], list[tuple], list[int],
                                                        list[list[int]]]:
    """The distinct answer sets (with the indexes of the rows holding each, and how many), and for each the
    other distinct sets agreeing with it on at least `need` questions."""
    codes: dict[tuple[int, str], int] = {}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row].append(i)
    distinct = list(groups)
    bits = []
    for row in distinct:
        word = 0
        for q, value in enumerate(row):
            if value is not None:
                word |= 1 << codes.setdefault((q, value), len(codes))
        bits.append(word)
    sizes = [len(groups[row]) for row in distinct]
    neighbours: list[list[int]] = [[] for _ in distinct]
    for a, word in enumerate(bits):
        for b in range(a + 1, len(bits)):
            if (word & bits[b]).bit_count() >= need:
                neighbours[a].append(b)
                neighbours[b].append(a)
    return groups, distinct, sizes, neighbours


def _cluster_finding(qid: str, members: list[ResponseFacts], same: int, n: int, questions: int, need: int,
                     expected: float, observed: int, stats: dict) -> dict:
    """The evidence of one flagged cluster of `members` (`same` of them identical) among the unit's `n` answer
    sets of `qid`."""
    kind = "giống hệt" if same == len(members) else "gần giống hệt"
    moments = sorted(m.submitted_at for m in members)
    differ = questions - need
    return {
        "questionnaire": qid, "responses": len(members), "identical": same, "kind": kind,
        "of": n, "questions": questions,
        "ids": [m.response_id for m in members][:50],
        "times": [vn_time(m) for m in moments][:50], "from": moments[0].isoformat(),
        "to": moments[-1].isoformat(), **stats,
        "summary": (f"{len(members)} trong {n} phiếu {qid} có câu trả lời {kind} nhau ({same} phiếu giống "
                    f"hệt, các phiếu còn lại khác không quá {differ} trên {questions} câu), gửi "
                    f"{_span(moments[0], moments[-1])}. Nếu mỗi người tự trả lời như những người cùng quan "
                    f"điểm trong đơn vị và cả nước, dự kiến {vn_number(expected)} phiếu trùng khớp như "
                    f"vậy; phát hiện {observed}. Xác suất: {stats['probability_label']}.")}


def answer_distribution(responses: list[ResponseFacts]) -> dict:
    """{questionnaire: {view class: {"n": respondents, "answers": {question: {answer: count}}}}}: the counts a
    unit contributes to the national reference (straight-lined sets left out, as in the rule)."""
    by_qid: dict[str, list[dict]] = defaultdict(list)
    for r in responses:
        if not _straight(r.answers):
            by_qid[r.qid].append(_choices(r.answers))
    out: dict = {}
    for qid, answers in by_qid.items():
        questions = sorted({k for a in answers for k in a})
        counts = _counts([tuple(a.get(q) for q in questions) for a in answers], questions)
        out[qid] = {str(b): {"n": n, "answers": {questions[q]: dict(c) for q, c in enumerate(per_q) if c}}
                    for b, (n, per_q) in sorted(counts.items())}
    return out


def merge_distributions(parts: list[dict]) -> dict:
    """The sum of several `answer_distribution`s (the campaign's, from each unit's)."""
    total: dict = {}
    for part in parts:
        for qid, classes in (part or {}).items():
            mine = total.setdefault(qid, {})
            for b, cell in classes.items():
                into = mine.setdefault(b, {"n": 0, "answers": {}})
                into["n"] += int(cell.get("n", 0))
                for question, counts in (cell.get("answers") or {}).items():
                    target = into["answers"].setdefault(question, {})
                    for v, c in counts.items():
                        target[v] = target.get(v, 0) + int(c)
    return total

# ---- bursts ------------------------------------------------------------------------------------------------------

def _rule_burst(links: list[LinkFacts], t: Thresholds) -> dict | None:
    """The unit's densest window of submissions, against the unit's own rhythm on comparable days.

    A day on which the unit's links were mailed (an invitation or reminder) is compared with the unit's other
    mailing days, aligned on the time since that day's first mail (honest people answer soon after a reminder);
    other days are compared with other ordinary days at the same time of day. h = the share of a comparable day's
    submissions that fall in the window (shrunk toward an even spread); honest answering gives the window
    Poisson(m · h / (1 − h)) submissions, m being what the day holds outside the window (at least a typical
    comparable day). The tail is multiplied by the number of windows that could have been chosen."""
    submitted = sorted((link.submitted_at, link.slot, link.submit_ip or "") for link in links if link.submitted_at)
    if len(submitted) < t.burst_min_submissions:
        return None
    window = timedelta(minutes=t.burst_minutes)
    times = [s[0] for s in submitted]
    start, best = 0, (0, 0, 0)
    for end in range(len(times)):
        while times[end] - times[start] > window:
            start += 1
        if end - start + 1 > best[0]:
            best = (end - start + 1, start, end)
    x, first, last = best
    begin = times[first]
    starts = _mail_starts(links)
    tested = _day(begin)
    mailing = tested in starts
    rhythm = _Rhythm(times, starts, t, skip_day=tested)
    h = rhythm.within_day(begin, t.burst_minutes)
    comparable = [d for d in rhythm.days if (d in starts) == mailing]
    typical = sum(rhythm.days[d] for d in comparable) / len(comparable) if comparable else 0.0
    outside = sum(1 for m in times if _day(m) == tested) - x
    m = max(outside, typical, 1.0)
    expected = m * h / (1 - h)
    log_p = _adjusted(log_poisson_tail(expected, x), len(times))
    stats = _calibrated(x, expected, log_p, t.level)
    if not stats["flagged"]:
        return None
    burst = submitted[first:last + 1]
    addresses = Counter(ip for _, _, ip in burst if ip)
    kind = "sau lần gửi thư mời/nhắc trong ngày" if mailing else "vào giờ đó"
    return {"submissions": x, "of": len(times), "from": begin.isoformat(), "to": times[last].isoformat(),
            "from_label": vn_time(begin), "to_label": vn_time(times[last]),
            "links": [slot for _, slot, _ in burst][:50],
            "addresses": [{"address": ip, "submissions": c} for ip, c in addresses.most_common(10)], **stats,
            "summary": (f"{x} trên {len(times)} phiếu của đơn vị được gửi {_span(begin, times[last])}. Theo nhịp "
                        f"trả lời của chính đơn vị {kind} ở những ngày tương tự, dự kiến {vn_number(expected)} "
                        f"phiếu trong {t.burst_minutes} phút đó; phát hiện {x}. "
                        f"Xác suất: {stats['probability_label']}.")}


# ---- the unit ------------------------------------------------------------------------------------------------------

def evaluate(links: list[LinkFacts], responses: list[ResponseFacts], province_ips: set[str],
             question_counts: dict[str, int], t: Thresholds = DEFAULT_THRESHOLDS, national: dict | None = None) -> dict:
    """Flags, a risk score (0–100) and the evidence for one unit.

    `national`: answer counts per questionnaire and question over the campaign (`answer_distribution`), the
    reference that small units are shrunk toward; without it a unit leans on its own answers only."""
    flags: dict[str, dict] = {}
    submitted = [link for link in links if link.submitted_at]

    shared = _rule_shared(links, lambda link: link.submit_ip, t, device=False)
    if shared:
        flags["shared_ip"] = _flag(shared)
    devices = _rule_shared(links, lambda link: f"{link.submit_ip} | {link.submit_ua}" if link.submit_ip else None,
                           t, device=True)
    devices += [d for d in _rule_same_browser(links, t) if d["address"] not in {e["address"] for e in devices}]
    if devices:
        flags["shared_device"] = _flag(sorted(devices, key=lambda item: item["log10_probability"]))

    province_ip = _rule_province_ip(links, province_ips, t)
    if province_ip:
        flags["province_ip"] = province_ip

    identical = _rule_answers(responses, national or {}, t)
    if identical:
        flags["identical_answers"] = _flag(identical)

    too_fast = _rule_too_fast(submitted, question_counts, t)
    if too_fast:
        flags["too_fast"] = too_fast

    straight = [r.response_id for r in responses if _straight(r.answers)]
    if len(straight) >= t.straight_min and len(straight) >= t.straight_share * max(1, len(responses)):
        share = round(len(straight) / len(responses), 2)
        flags["straight_lining"] = {"evidence": straight[:50], "share": share, "observed": len(straight),
                                    "summary": f"{len(straight)} phiếu ({vn_number(share * 100)} % số phiếu) chọn "
                                               f"cùng một mức cho mọi câu."}

    burst = _rule_burst(links, t)
    if burst:
        flags["burst"] = {"evidence": burst, **{k: burst[k] for k in _STATS}, "summary": burst["summary"]}

    roaming = _rule_roaming(links, t)
    if roaming:
        flags["link_many_devices"] = roaming

    score = min(100, sum(t.weights.get(rule, 0) for rule in flags))
    by_slot = {link.slot: link for link in links}
    by_response = {r.response_id: r for r in responses}
    return {"score": score, "flags": [{"rule": rule, "name": RULE_NAMES[rule], **detail,
                                       "records": _records(rule, detail, by_slot, by_response)}
                                      for rule, detail in flags.items()],
            "submitted": len(submitted), "responses": len(responses)}


def _rule_province_ip(links: list[LinkFacts], province_ips: set[str], t: Thresholds) -> dict | None:
    """Links of respondents outside the Department of Home Affairs opened or submitted from an address the
    province's account logged in from."""
    seen = [(link, ip) for link in links if "noi vu" not in fold(link.agency or "")
            for ip in {link.open_ip, link.submit_ip} if ip and ip in province_ips]
    from_province = [{"link": link.slot, "address": ip, "when": "mở" if ip == link.open_ip else "gửi",
                      "time": vn_time(link.submitted_at) if link.submitted_at else None} for link, ip in seen]
    province_links = len({link.slot for link, _ in seen})
    if province_links < t.province_ip_links:
        return None
    seen_at = sorted({ip for _, ip in seen})
    return {"evidence": from_province[:50], "observed": province_links,
            "summary": f"{province_links} đường dẫn của người được khảo sát (không thuộc Sở Nội "
                       f"vụ) được mở hoặc gửi từ địa chỉ mạng mà tài khoản tỉnh đã đăng nhập "
                       f"({', '.join(seen_at[:5])})."}


def _rule_too_fast(submitted: list[LinkFacts], question_counts: dict[str, int], t: Thresholds) -> dict | None:
    """Submissions quicker than reading the questions takes."""
    fast = [{"link": link.slot, "seconds": link.seconds_spent, "time": vn_time(link.submitted_at),
             "minimum": int(question_counts.get(link.qid, 10) * t.seconds_per_question)}
            for link in submitted if link.submitted_at is not None and link.seconds_spent is not None
            and link.seconds_spent < question_counts.get(link.qid, 10) * t.seconds_per_question]
    if len(fast) < t.fast_min or len(fast) < t.fast_share * max(1, len(submitted)):
        return None
    share = round(len(fast) / max(1, len(submitted)), 2)
    return {"evidence": fast[:50], "share": share, "observed": len(fast),
            "summary": f"{len(fast)} phiếu ({vn_number(share * 100)} % số phiếu đã gửi) được trả "
                       f"lời nhanh hơn thời gian tối thiểu để đọc hết câu hỏi."}


def _rule_roaming(links: list[LinkFacts], t: Thresholds) -> dict | None:
    """Links used from many addresses or devices."""
    roaming = []
    for link in links:
        addresses = {s.split(" | ", 1)[0] for s in link.seen}
        if len(addresses) >= t.link_devices or len(link.seen) >= t.link_devices:
            roaming.append({"link": link.slot, "addresses": sorted(addresses)[:10], "devices": len(link.seen)})
    if len(roaming) < t.link_devices_links:
        return None
    return {"evidence": roaming[:50], "observed": len(roaming),
            "summary": f"{len(roaming)} đường dẫn, mỗi đường dẫn được dùng từ ít nhất "
                       f"{t.link_devices} địa chỉ mạng hoặc thiết bị khác nhau."}


_STATS = ("observed", "expected", "probability", "log10_probability", "probability_label", "level")
PURPOSE_NAMES = {"locality": "Phiếu Địa phương", "ministry": "Phiếu Bộ chủ quản"}


def link_label(slot: str) -> str:
    """"Phiếu Địa phương · số 12": the questionnaire and the respondent's number in the unit's roster, never the
    internal key."""
    rid, _, purpose = slot.partition("#")
    head = rid.split("-", 1)[0]
    number = str(int(head)) if head.isdigit() else "?"
    return f"{PURPOSE_NAMES.get(purpose, 'Phiếu')} · số {number}"


def _records(rule: str, detail: dict, by_slot: dict, by_response: dict) -> list[dict]:
    """The links (or answer sets) behind a flag as a reader sees them: {label, time, address}, at most 50, in
    time order. Answer sets are stored apart from identities: they are shown by questionnaire and time only."""
    evidence = detail.get("evidence")
    items = evidence if isinstance(evidence, list) else [evidence]
    slots: list[str] = []
    answer_sets: list[str] = []
    for item in items:
        if isinstance(item, str):  # straight-lining: answer set ids
            answer_sets.append(item)
        elif isinstance(item, dict):
            slots += [s for s in item.get("links") or [] if isinstance(s, str)]
            if isinstance(item.get("link"), str):
                slots.append(item["link"])
            answer_sets += [i for i in item.get("ids") or [] if isinstance(i, str)]
        if rule in {"shared_ip", "shared_device", "identical_answers"} and (slots or answer_sets):
            break  # the headline evidence only: the flag's numbers are its
    out = []
    for slot in dict.fromkeys(slots):
        link = by_slot.get(slot)
        moment = link.submitted_at if link else None
        out.append({"label": link_label(slot), "time": vn_time(moment) if moment else None,
                    "at": moment.isoformat() if moment else None,
                    "address": (link.submit_ip or link.open_ip) if link else None})
    for rid in dict.fromkeys(answer_sets):
        r = by_response.get(rid)
        if r is not None:
            out.append({"label": PURPOSE_NAMES.get(r.qid.split("-")[0], f"Phiếu {r.qid}"),
                        "time": vn_time(r.submitted_at), "at": r.submitted_at.isoformat(), "address": None})
    out.sort(key=lambda record: record["at"] or "")
    return out[:50]


def _flag(evidence: list[dict]) -> dict:
    """A calibrated flag: its evidence items (the most improbable first) and the headline numbers of that one."""
    top = evidence[0]
    more = f" (và {len(evidence) - 1} trường hợp khác)" if len(evidence) > 1 else ""
    return {"evidence": evidence, **{k: top[k] for k in _STATS}, "summary": top["summary"] + more}


def _straight(answers: dict) -> bool:
    """Every choice answer the same value, across at least 8 questions."""
    values = [v for v in answers.values() if isinstance(v, str) and len(v) <= 4]
    return len(values) >= 8 and len(set(values)) == 1


def flagged(result: dict, threshold: int = 40) -> bool:
    return result["score"] >= threshold


def thresholds_dict(t: Thresholds = DEFAULT_THRESHOLDS) -> dict:
    return msgspec.to_builtins(t)


# ---- address changes after delivery (a rule of its own: its facts come from the address-change records) -----------

ADDRESS_CHANGES = "address_changes"
ADDRESS_CHANGES_NAME = "Đổi email người trả lời sau khi thư mời đã được gửi tới họ (đề nghị đổi email, gửi lại phiếu)"
ADDRESS_CHANGES_MIN = 3  # requests in one unit: one or two are ordinary (a person moved, a typo noticed late)
ADDRESS_CHANGES_WEIGHT = 25


class AddressChangeFacts(Struct, frozen=True):
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
