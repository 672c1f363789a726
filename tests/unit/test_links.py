from chalicelib.domain.links import Pace, backoff, can_move, survey_url


def test_a_link_moves_only_along_its_state_machine():
    assert can_move("issued", "sent") and can_move("sent", "opened") and can_move("opened", "submitted")
    assert can_move("sent", "bounced") and can_move("bounced", "issued")
    assert not can_move("submitted", "issued") and not can_move("issued", "submitted")
    assert not can_move("bounced", "sent")


def test_the_token_travels_in_the_url_fragment():
    assert survey_url("https://cchc.example.vn/", "abc") == "https://cchc.example.vn/khao-sat/#abc"


def test_the_pace_never_exceeds_its_rate_on_a_fake_clock():
    pace, now, sends = Pace(rate=3.0), 0.0, []
    for _ in range(30):
        now += pace.wait(now)
        sends.append(now)
    for i in range(len(sends)):
        window = [t for t in sends if sends[i] <= t < sends[i] + 1.0 - 1e-9]
        assert len(window) <= 3
    assert abs(sends[-1] - 29 / 3) < 1e-6


def test_throttled_calls_back_off_by_doubling_up_to_a_cap():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0] and backoff(10) == 20.0
