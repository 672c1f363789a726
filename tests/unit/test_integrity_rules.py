"""Each detection rule on small built scenarios: flagged when it should be, quiet otherwise."""
import random
from datetime import datetime, timedelta, timezone

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


def test_thresholds_are_configurable():
    links = honest_links(20) + [link(100 + i, ip="10.9.9.9", ua=f"UA{i}", minutes=i * 5) for i in range(4)]
    assert "shared_ip" not in rules(evaluate(links, responses(24), set(), Q))
    assert "shared_ip" in rules(evaluate(links, responses(24), set(), Q, Thresholds(ip_respondents=4)))


def test_links_used_from_many_addresses_or_devices_are_flagged():
    def roaming(i):
        item = link(100 + i, minutes=i * 300)
        item.seen = frozenset({f"10.0.{i}.{k} | UA{k}" for k in range(3)})
        return item
    assert "link_many_devices" in rules(evaluate(honest_links(20) + [roaming(i) for i in range(3)], responses(23),
                                                 set(), Q))
    two = honest_links(20) + [roaming(i) for i in range(2)]
    assert "link_many_devices" not in rules(evaluate(two, responses(22), set(), Q))
