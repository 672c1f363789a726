"""Each detection rule on small built scenarios: flagged when it should be, quiet otherwise; and each calibrated
rule's probability on small cases computed by hand."""
import math
import random
from datetime import datetime, timedelta, timezone

from chalicelib.domain import integrity
from chalicelib.domain.integrity import LinkFacts, ResponseFacts, Thresholds, evaluate, flagged

T0 = datetime(2022, 1, 20, 2, 0, tzinfo=timezone.utc)
UA = "Mozilla/5.0 Chrome/120"
Q = {"locality-2": 20}


def link(i, ip=None, ua=UA, minutes=0, spent=600, open_ip=None, agency="Sở Y tế"):
    ip = ip or f"113.0.{i}.1"
    return LinkFacts(f"{i:06d}#locality", f"{i:06d}", "locality-2", open_ip or ip, ua, ip, ua,
                     T0 + timedelta(minutes=minutes), spent, agency=agency)


def answers(seed: int) -> dict:
    """A person's own answers: varied, reproducible."""
    rng = random.Random(seed)
    return {f"C{q}": rng.choice("1234") for q in range(1, 21)}


def responses(n: int, same=None) -> list[ResponseFacts]:
    return [ResponseFacts(f"r{i}", "locality-2", dict(same) if same else answers(i), T0) for i in range(n)]


def rules(result) -> set[str]:
    return {f["rule"] for f in result["flags"]}


def honest_links(n=30):
    return [link(i, minutes=i * 97) for i in range(n)]


def test_an_honest_unit_raises_no_flag():
    result = evaluate(honest_links(), responses(30), {"10.0.0.1"}, Q)
    assert result["flags"] == [] and result["score"] == 0 and not flagged(result)


def test_many_respondents_from_one_address_in_a_short_time_is_flagged_with_the_links():
    links = honest_links(20) + [link(100 + i, ip="10.9.9.9", ua=f"UA{i}", minutes=i * 5) for i in range(6)]
    result = evaluate(links, responses(26), set(), Q)
    [flag] = [f for f in result["flags"] if f["rule"] == "shared_ip"]
    assert flag["evidence"][0]["address"] == "10.9.9.9" and flag["evidence"][0]["respondents"] == 6
    spread = honest_links(20) + [link(100 + i, ip="10.9.9.9", minutes=i * 240) for i in range(6)]
    assert "shared_ip" not in rules(evaluate(spread, responses(26), set(), Q))  # an office over a day: fine


def test_one_device_answering_for_several_people_is_flagged():
    links = honest_links(20) + [link(100 + i, ip="10.9.9.9", minutes=i * 3) for i in range(4)]
    assert "shared_device" in rules(evaluate(links, responses(24), set(), Q))
    three = honest_links(20) + [link(100 + i, ip="10.9.9.9", minutes=i * 3) for i in range(3)]
    assert "shared_device" not in rules(evaluate(three, responses(23), set(), Q))


def test_links_opened_from_the_province_accounts_address_are_flagged_except_its_own_staff():
    province = {"10.1.1.1"}
    links = honest_links(20) + [link(100 + i, open_ip="10.1.1.1", minutes=i * 300) for i in range(3)]
    result = evaluate(links, responses(23), province, Q)
    assert "province_ip" in rules(result) and flagged(result)
    own_staff = honest_links(20) + [link(100 + i, ip="10.1.1.1", minutes=i * 300, agency="Sở Nội vụ")
                                    for i in range(8)]
    assert "province_ip" not in rules(evaluate(own_staff, responses(28), province, Q))


def test_identical_and_near_identical_answer_sets_are_flagged():
    same = {f"C{q}": "4" for q in range(1, 21)}
    same["C5"] = "3"
    result = evaluate(honest_links(30), responses(25) + responses(5, same=same), set(), Q)
    assert "identical_answers" in rules(result)
    near = [ResponseFacts(f"n{i}", "locality-2", {**same, f"C{1 + i}": "2"}, T0) for i in range(6)]
    assert "identical_answers" in rules(evaluate(honest_links(30), responses(25) + near, set(), Q))
    assert "identical_answers" not in rules(evaluate(honest_links(30), responses(30), set(), Q))


def test_completion_faster_than_reading_is_flagged():
    fast = honest_links(20) + [link(100 + i, minutes=i * 90, spent=25) for i in range(6)]
    assert "too_fast" in rules(evaluate(fast, responses(26), set(), Q))
    slow_enough = honest_links(20) + [link(100 + i, minutes=i * 90, spent=45) for i in range(6)]
    assert "too_fast" not in rules(evaluate(slow_enough, responses(26), set(), Q))


def test_straight_lining_by_a_large_share_is_flagged():
    flat = [ResponseFacts(f"s{i}", "locality-2", {f"C{q}": "4" for q in range(1, 21)}, T0) for i in range(9)]
    assert "straight_lining" in rules(evaluate(honest_links(20), responses(11) + flat, set(), Q))
    assert "straight_lining" not in rules(evaluate(honest_links(20), responses(18) + flat[:2], set(), Q))


def test_a_burst_holding_most_of_a_units_submissions_is_flagged():
    burst = [link(i, minutes=i) for i in range(10)] + [link(100 + i, minutes=2000 + i * 300) for i in range(5)]
    assert "burst" in rules(evaluate(burst, responses(15), set(), Q))
    assert "burst" not in rules(evaluate(honest_links(15), responses(15), set(), Q))


def test_the_level_is_configurable():
    links = honest_links(20) + [link(100 + i, ip="10.9.9.9", ua=f"UA{i}", minutes=i * 5) for i in range(4)]
    assert "shared_ip" in rules(evaluate(links, responses(24), set(), Q))
    assert "shared_ip" not in rules(evaluate(links, responses(24), set(), Q, Thresholds(level=1e-30)))


def test_links_used_from_many_addresses_or_devices_are_flagged():
    def roaming(i):
        item = link(100 + i, minutes=i * 300)
        item.seen = frozenset({f"10.0.{i}.{k} | UA{k}" for k in range(3)})
        return item
    assert "link_many_devices" in rules(evaluate(honest_links(20) + [roaming(i) for i in range(3)], responses(23),
                                                 set(), Q))
    two = honest_links(20) + [roaming(i) for i in range(2)]
    assert "link_many_devices" not in rules(evaluate(two, responses(22), set(), Q))


# ---- the probabilities, computed by hand ---------------------------------------------------------------------------

def close_to(log_p: float, p: float) -> bool:
    return math.isclose(math.exp(log_p), p, rel_tol=1e-6)


def test_poisson_and_binomial_tails():
    assert close_to(integrity.log_poisson_tail(0.5, 2), 1 - math.exp(-0.5) * 1.5)  # 0,0902
    assert close_to(integrity.log_poisson_tail(3.0, 1), 1 - math.exp(-3))  # the lower-sum branch
    assert integrity.log_poisson_tail(0.3, 0) == 0.0 and integrity.log_poisson_tail(0.0, 1) == -math.inf
    assert close_to(integrity.log_binomial_tail(4, 0.1, 3), 4 * 0.1 ** 3 * 0.9 + 0.1 ** 4)  # 0,0037
    # far beyond a float: 40 of 40 at p = 10⁻⁹ is 10⁻³⁶⁰
    assert math.isclose(integrity.log_binomial_tail(40, 1e-9, 40) / math.log(10), -360, rel_tol=1e-9)


def test_shared_address_probability_by_hand():
    """10 other submissions, all that day, 5 of them in the window (09:02–09:47): f = 1 (the day) × 5/10 (the window) = 0,5.
    Six respondents of one address, six submissions in all, all in the window: P = 0,5⁶ = 1/64, times the 1/f = 2
    windows as likely as this one at the one address examined = 1/32; expected 6 × 0,5 = 3."""
    t = Thresholds(level=1.0, prior_weight=0)
    others = [link(i, minutes=m) for i, m in enumerate([5, 10, 20, 30, 40, 300, 310, 320, 330, 340])]
    address = [link(100 + i, ip="10.9.9.9", ua=f"UA{i}", minutes=2 + 5 * i) for i in range(6)]
    [found] = integrity._rule_shared(others + address, lambda item: item.submit_ip
                                     if item.submit_ip == "10.9.9.9" else None, t, device=False)
    assert math.isclose(found["probability"], 2 / 64) and found["expected"] == 3.0 and found["observed"] == 6
    assert found["links"] == [f"{100 + i:06d}#locality" for i in range(6)]
    assert found["times"][0] == "20/01/2022 09:02" and found["from_label"] == "20/01/2022 09:02"
    assert "dự kiến 3 phiếu trong 45 phút đó; phát hiện 6" in found["summary"]


def test_same_browser_probability_by_hand():
    """Elsewhere 10 respondents, 2 of them with browser X: p = 0,2 (no prior). Five of the five at one address use
    X: P = 0,2⁵ = 0,00032, times the 4 (address, browser) pairs seen = 0,00128; expected 5 × 0,2 = 1."""
    t = Thresholds(level=1.0, prior_weight=0)
    elsewhere = [link(i, ua="X" if i < 2 else f"UA{i % 3}", minutes=100 * i) for i in range(10)]
    for item in elsewhere[2:]:
        item.submit_ip = "113.0.0.1"
    for item in elsewhere[:2]:
        item.submit_ip = "113.0.0.2"
    address = [link(100 + i, ip="10.9.9.9", ua="X", minutes=60 * i) for i in range(5)]
    found = [f for f in integrity._rule_same_browser(elsewhere + address, t) if f["address"] == "10.9.9.9 | X"]
    assert len(found) == 1 and found[0]["observed"] == 5 and math.isclose(found[0]["expected"], 1.0)
    pairs = 1 + 3 + 1  # 113.0.0.2 with X; 113.0.0.1 with UA0, UA1, UA2; 10.9.9.9 with X
    assert math.isclose(found[0]["probability"], 0.2 ** 5 * pairs)


def _tail(n: int, p: float, k: int) -> float:
    return sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))


def _two_threes() -> tuple[list[ResponseFacts], dict]:
    """Four copies of R = (3,3,2,2,2) and the 9 other ways of placing two 3s among five 2s: 13 responses to 5
    questions, every one of view 2,4 (one class of the model)."""
    r = {"C1": "3", "C2": "3", "C3": "2", "C4": "2", "C5": "2"}
    items = [ResponseFacts(f"c{i}", "q", dict(r), T0 + timedelta(hours=i)) for i in range(4)]
    for a in range(5):
        for b in range(a + 1, 5):
            if (a, b) != (0, 1):
                items.append(ResponseFacts(f"h{a}{b}", "q", {f"C{q + 1}": "3" if q in (a, b) else "2"
                                                            for q in range(5)}, T0))
    return items, r


def test_identical_answers_probability_by_hand():
    """Without smoothing, prior or national reference, the model judging R's cluster is fitted on the 9 others
    (the cluster left out): question 1 and 2 are 3 in 3 of them, questions 3–5 are 2 in 5 of them, so
    P(an honest response equals R) = (3/9)² × (5/9)³. Observed 3 other copies among 12: P = P(Binomial(12, that)
    ≥ 3), times 13 centres. With `view_prior_weight` 5 each question is shrunk toward the view's answers to all
    questions (3 in 18 of the 45 answers): (3 + 5 × 0,4) ÷ 14 and (5 + 5 × 0,6) ÷ 14."""
    items, _ = _two_threes()
    bare = Thresholds(level=1.0, national_weight=0, view_prior_weight=0, view_bandwidth=1e-6)
    [found] = integrity._rule_answers(items, {}, bare)
    p = (3 / 9) ** 2 * (5 / 9) ** 3
    assert found["observed"] == 3 and found["responses"] == 4 and found["kind"] == "giống hệt"
    assert math.isclose(found["probability"], _tail(12, p, 3) * 13, rel_tol=1e-6)
    assert math.isclose(found["expected"], 12 * p, rel_tol=1e-3)
    assert sorted(found["ids"]) == ["c0", "c1", "c2", "c3"] and found["times"][0] == "20/01/2022 09:00"
    [shrunk] = integrity._rule_answers(items, {}, Thresholds(level=1.0, national_weight=0, view_bandwidth=1e-6))
    p = (5 / 14) ** 2 * (8 / 14) ** 3
    assert math.isclose(shrunk["probability"], _tail(12, p, 3) * 13, rel_tol=1e-6)


def test_identical_answers_lean_on_the_other_units_answers_by_hand():
    """The national reference holds 10 respondents of other units of the same view, one for each placement of
    two 3s (each question 3 in 4 of 10), plus this unit's own (passed in, taken out by the rule). They count as
    `national_weight` = 10 pseudo-respondents: P(3 on question 1) = (3 + 10 × 0,4) ÷ (9 + 10), P(2 on question 3)
    = (5 + 10 × 0,6) ÷ 19."""
    items, _ = _two_threes()
    elsewhere = [ResponseFacts(f"n{a}{b}", "q", {f"C{q + 1}": "3" if q in (a, b) else "2" for q in range(5)}, T0)
                 for a in range(5) for b in range(a + 1, 5)]
    national = integrity.answer_distribution(elsewhere + items)
    assert national["q"]["48"]["n"] == 23 and national["q"]["48"]["answers"]["C1"] == {"3": 11, "2": 12}
    assert integrity.merge_distributions([integrity.answer_distribution(elsewhere),
                                          integrity.answer_distribution(items)]) == national
    t = Thresholds(level=1.0, national_weight=10, view_prior_weight=0, view_bandwidth=1e-6)
    [found] = integrity._rule_answers(items, national, t)
    p = (7 / 19) ** 2 * (11 / 19) ** 3
    assert math.isclose(found["probability"], _tail(12, p, 3) * 13, rel_tol=1e-6)


def test_honest_leaders_who_all_rate_everything_high_are_not_a_cluster():
    """Respondents who rate nearly everything 4 agree with each other on 18 of 20 questions without any
    coordination: a unit of 400 where a tenth of the people lean that far is not flagged, while 30 copies of one
    lightly varied all-positive sheet in the same unit are."""
    rng = random.Random(7)

    def person(view: float) -> dict:
        return {f"C{q}": str(min(4, max(1, round(rng.gauss(view, 0.4))))) for q in range(1, 21)}

    honest = [ResponseFacts(f"h{i}", "locality-2", person(rng.gauss(3.2, 0.35)), T0) for i in range(400)]
    assert integrity._rule_answers(honest, {}, Thresholds()) == []
    sheet = []
    for i in range(30):
        answers = {f"C{q}": "4" for q in range(1, 21)}
        answers[f"C{rng.randint(1, 20)}"] = "3"
        sheet.append(ResponseFacts(f"s{i}", "locality-2", answers, T0))
    [found] = integrity._rule_answers(honest + sheet, {}, Thresholds())
    assert found["observed"] >= 29 and found["probability"] < 1e-8


def test_burst_probability_by_hand():
    """Twelve submissions within 11 minutes at 10:00 on a day with nothing else; five other days hold 4 each at
    15:00. Nothing on those days falls near 10:00, so the window's share is the prior alone: h = 20 × (30/720) ÷
    (20 + 20) = 1/48; the day is credited a typical day's 4 submissions: expected 4 × h ÷ (1 − h) = 4/47;
    P = P(Poisson(4/47) ≥ 12), times the 32 windows."""
    day0 = datetime(2022, 1, 20, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
    burst = [link(i, minutes=i) for i in range(12)]
    for item in burst:
        item.submitted_at = day0 + (item.submitted_at - T0)
    later = [link(100 + i, minutes=0) for i in range(20)]
    for n, item in enumerate(later):
        item.submitted_at = datetime(2022, 1, 21 + n // 4, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=n % 4)
    found = integrity._rule_burst(burst + later, Thresholds())
    lam = 4 / 47
    tail = sum(math.exp(-lam) * lam ** k / math.factorial(k) for k in range(12, 40))
    assert found["observed"] == 12 and math.isclose(found["expected"], lam, rel_tol=1e-3)
    assert math.isclose(found["probability"], tail * 32, rel_tol=1e-6)
    assert found["from_label"] == "20/01/2022 10:00" and found["summary"].startswith(
        "12 trên 32 phiếu của đơn vị được gửi từ 10:00 đến 10:11 ngày 20/01/2022.")


def test_an_honest_burst_after_a_reminder_is_not_a_flag():
    """The same twelve in eleven minutes, but just after a reminder mailed at 09:55, as on the unit's two other
    reminder days: what the unit does after every reminder."""
    links = []
    for n, day in enumerate((20, 22, 24)):
        mail = datetime(2022, 1, day, 2, 55, tzinfo=timezone.utc)
        for i in range(12):
            item = link(n * 100 + i)
            item.submitted_at, item.mailed_at = mail + timedelta(minutes=5 + i), mail
            links.append(item)
    assert integrity._rule_burst(links, Thresholds()) is None


def test_every_calibrated_flag_reads_in_vietnamese_with_its_numbers():
    links = honest_links(20) + [link(100 + i, ip="10.9.9.9", ua="UA", minutes=i * 3) for i in range(8)]
    [flag] = [f for f in evaluate(links, responses(28), set(), Q)["flags"] if f["rule"] == "shared_device"]
    assert flag["observed"] == 8 and flag["expected"] < 1 and flag["probability"] < 1e-4
    assert flag["level"] == 1e-4 and "phát hiện 8" in flag["summary"] and "Xác suất:" in flag["summary"]
    assert "10.9.9.9" in flag["summary"] and "20/01/2022" in flag["summary"]


def test_vietnamese_numbers_probabilities_and_times():
    assert integrity.vn_number(0.3) == "0,3" and integrity.vn_number(7) == "7" and integrity.vn_number(1250) == "1.250"
    assert integrity.vn_number(0.021) == "0,021" and integrity.vn_number(2.54) == "2,5"
    assert integrity.vn_probability(math.log(0.25)) == "0,25"
    assert integrity.vn_probability(math.log(3.4e-8)) == "3,4 × 10⁻⁸ (khoảng 1 trên 29 triệu lần)"
    assert integrity.vn_probability(-800.0) == "nhỏ hơn 10⁻³⁰⁰"
    assert integrity.vn_time(datetime(2022, 1, 20, 17, 5, tzinfo=timezone.utc)) == "21/01/2022 00:05"
