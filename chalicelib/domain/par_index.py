"""The PAR Index of a unit, a province or a ministry: points ÷ its framework's maximum × 100, where the points are

- for each self-scored leaf: the appraised score of the Ministry of Home Affairs, or the unit's self-score where
  that line is not appraised yet (the result is then marked provisional);
- for each survey leaf: its maximum × the average share of the best possible answer that the unit's respondents
  gave to the questions measuring it (each response's points for the criterion ÷ the most its questionnaire
  allows). The framework says how to average: "groups" (the mean within each respondent group, then the mean of
  the groups that answered, so a large group does not outweigh a small one) or "respondents" (every response
  counts once). A province's respondents are its own officials answering the locality questionnaires; a
  ministry's are the department and division leaders of every province answering the managing-ministry
  questionnaire about it. An annulled province has no survey points (its survey results are cancelled), and its
  respondents' answers count for no ministry either;
- for each imported leaf (SIPAS, socio-economic impact): the value entered by the Ministry of Home Affairs, else 0.

The survey points depend only on how many of a unit's respondents of each group and questionnaire gave each
criterion each number of points: `tally` counts that from the responses, and the points are computed from the
counts (the same arithmetic whether the responses were tallied here or their counts kept elsewhere and merged).

Ranking: by index, highest first, among the ranked units only (a unit assessed but not ranked gets its index and
no rank); equal indexes share a rank. Grade: the first of the campaign's grades (highest threshold first) whose
minimum the index reaches. Pure: everything is passed in.
"""
from __future__ import annotations

from collections.abc import Iterable
from msgspec import Struct, field
from decimal import ROUND_HALF_UP, Decimal

from chalicelib.domain.framework import field_of, leaves, number


class UnitInput(Struct):
    unit: str
    name: str
    items: dict[str, dict] = field(default_factory=dict)  # code -> {"score", "appraisal_score"} (numbers or None)
    responses: list[dict] = field(default_factory=list)  # {"group", "qid", "scores": {criterion: points}}
    annulled: bool = False
    ranked: bool = True
    counts: dict | None = None  # the responses already tallied (`tally`), instead of `responses`


def _d(value: object) -> Decimal:
    return Decimal(str(value))


def _key(points: object) -> str:
    """One spelling per number of points (2, 2.0 and 2.00 are one key)."""
    value = _d(points)
    return format(value.normalize(), "f") if value != 0 else "0"


def tally(responses: Iterable[dict]) -> dict[str, dict]:
    """How many responses of each group and questionnaire gave each criterion each number of points:
    {"<group>|<qid>": {"n": responses, "scores": {criterion: {points: responses}}}} (JSON-ready)."""
    out: dict[str, dict] = {}
    for response in responses:
        entry = out.setdefault(f"{response['group']}|{response['qid']}", {"n": 0, "scores": {}})
        entry["n"] += 1
        for code, points in (response.get("scores") or {}).items():
            if points is None:
                continue
            by_points = entry["scores"].setdefault(code, {})
            key = _key(points)
            by_points[key] = by_points.get(key, 0) + 1
    return out


def merge_tallies(parts: Iterable[dict]) -> dict[str, dict]:
    """The sum of several tallies (of disjoint responses)."""
    out: dict[str, dict] = {}
    for part in parts:
        for key, entry in part.items():
            mine = out.setdefault(key, {"n": 0, "scores": {}})
            mine["n"] += entry["n"]
            for code, by_points in entry["scores"].items():
                target = mine["scores"].setdefault(code, {})
                for points, count in by_points.items():
                    target[points] = target.get(points, 0) + count
    return out


def tallied(counts: dict[str, dict]) -> int:
    """How many responses a tally counts."""
    return sum(entry["n"] for entry in counts.values())


def unit_tally(responses: Iterable[dict]) -> dict:
    """A province's stored responses tallied for the results: {"n": how many, "locality": the tally of its locality
    answers, "ministry": {ministry unit: the tally of its managing-ministry answers about that ministry}}."""
    rows = list(responses)
    by_ministry: dict[str, list[dict]] = {}
    for row in rows:
        if row.get("purpose") == "ministry" and row.get("ministry"):
            by_ministry.setdefault(row["ministry"], []).append(row)
    return {"n": len(rows), "locality": tally(r for r in rows if r.get("purpose", "locality") == "locality"),
            "ministry": {code: tally(found) for code, found in sorted(by_ministry.items())}}


def survey_points(framework: dict, responses: list[dict], best: dict[str, dict[str, object]], *,
                  counts: dict | None = None) -> dict[str, Decimal]:
    """Points of every survey leaf from `responses` (each {"group", "qid", "scores"}) or their `counts` (`tally`);
    `best[qid][criterion]` is the most a respondent of that questionnaire can give the criterion."""
    mode = framework.get("survey_average") or "groups"
    counted = tally(responses) if counts is None else counts
    out: dict[str, Decimal] = {}
    for leaf in leaves(framework, "survey"):
        code = leaf["code"]
        by_group: dict[str, list] = {}  # group -> [sum of shares, how many]
        for key in sorted(counted):
            group, qid = key.split("|", 1)
            by_points = counted[key]["scores"].get(code)
            top = (best.get(qid) or {}).get(code)
            if not by_points or not top or _d(top) <= 0:
                continue
            bucket = by_group.setdefault(group if mode == "groups" else "*", [Decimal(0), 0])
            for points in sorted(by_points, key=Decimal):
                share = min(max(Decimal(points) / _d(top), Decimal(0)), Decimal(1))
                bucket[0] += share * by_points[points]
                bucket[1] += by_points[points]
        if not by_group:
            out[code] = Decimal(0)
            continue
        means = [total / n for total, n in by_group.values()]
        out[code] = _d(leaf["max"]) * sum(means, Decimal(0)) / len(means)
    return out


def grade_of(index: Decimal, grades: list[dict]) -> str:
    for grade in sorted(grades, key=lambda g: -float(g["min"])):
        if index >= _d(grade["min"]):
            return grade["code"]
    return grades[-1]["code"] if grades else ""


def round2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def unit_result(framework: dict, unit: UnitInput, best: dict[str, dict[str, object]], grades: list[dict]) -> dict:
    """One unit's points per part and field, index and grade (rank is set by `rank`)."""
    parts = {m: {"points": Decimal(0), "max": Decimal(0)} for m in ("self", "survey", "imported")}
    fields = {f["code"]: {"points": Decimal(0), "max": _d(f["max"])} for f in framework["fields"]}
    survey = {} if unit.annulled else survey_points(framework, unit.responses, best, counts=unit.counts)
    provisional = False
    lines: dict[str, int | float] = {}
    for leaf in leaves(framework):
        code, method = leaf["code"], leaf["method"]
        item = unit.items.get(code) or {}
        if method == "self":
            if item.get("appraisal_score") is not None:
                points = _d(item["appraisal_score"])
            else:
                provisional = True
                points = _d(item["score"]) if item.get("score") is not None else Decimal(0)
        elif method == "survey":
            points = survey.get(code, Decimal(0))
        else:
            points = _d(item["appraisal_score"]) if item.get("appraisal_score") is not None else Decimal(0)
            provisional = provisional or item.get("appraisal_score") is None
        parts[method]["points"] += points
        lines[code] = number(round2(points))
        parts[method]["max"] += _d(leaf["max"])
        fields[field_of(code)]["points"] += points
    total = sum((p["points"] for p in parts.values()), Decimal(0))
    maximum = _d(framework["maximum"])
    index = round2(total / maximum * 100) if maximum else Decimal(0)

    def out(part: dict) -> dict:
        return {"points": number(round2(part["points"])), "max": number(part["max"])}

    return {"unit": unit.unit, "name": unit.name, "points": number(round2(total)), "index": number(index),
            "grade": grade_of(index, grades), "annulled": unit.annulled, "ranked": unit.ranked,
            "provisional": provisional,
            "responses": 0 if unit.annulled else tallied(unit.counts) if unit.counts is not None
            else len(unit.responses),
            "parts": {k: out(v) for k, v in parts.items()}, "fields": {k: out(v) for k, v in fields.items()},
            "lines": lines}


def rank(results: list[dict]) -> list[dict]:
    """The ranked units sorted by index (highest first, then unit code) with their rank, equal indexes sharing one
    (1, 2, 2, 4); then the units assessed but not ranked (`"ranked": False`), by index, with rank None."""
    ordered = sorted(results, key=lambda r: (r.get("ranked") is False, -r["index"], r["unit"]))
    previous, position = None, 0
    for i, result in enumerate(ordered, start=1):
        if result.get("ranked") is False:
            result["rank"] = None
            continue
        if result["index"] != previous:
            position, previous = i, result["index"]
        result["rank"] = position
    return ordered


# ---- ministries ------------------------------------------------------------------------------------------------

def ministry_responses(responses: Iterable[dict], ministries: Iterable[str],
                       annulled_provinces: Iterable[str] = ()) -> dict[str, list[dict]]:
    """Each ministry's survey responses (ministry unit code → responses, every given ministry present).

    `responses` are answers to the managing-ministry questionnaires, each {"unit": the respondent's province,
    "ministry": the unit code of the ministry it evaluates, "group", "qid", "scores"}; a response of another
    purpose ("purpose" other than "ministry"), of a ministry that is not one of `ministries`, or from an annulled
    province counts for no ministry."""
    out: dict[str, list[dict]] = {code: [] for code in ministries}
    cancelled = set(annulled_provinces)
    for response in responses:
        if response.get("purpose", "ministry") != "ministry" or response.get("unit") in cancelled:
            continue
        bucket = out.get(response.get("ministry") or "")
        if bucket is not None:
            bucket.append(response)
    return out


def ministry_results(framework: dict, ministries: list[dict], items: dict[str, dict[str, dict]],
                     responses: Iterable[dict], annulled_provinces: Iterable[str], best: dict[str, dict[str, object]],
                     grades: list[dict], *, counts: dict[str, dict] | None = None) -> list[dict]:
    """Every ministry's result under the ministries' `framework`, ranked among the ranked ones.

    `ministries` are the campaign's ministry units ({"code", "name", "ranked"}); `items[code]` a ministry's lines
    as for a province ({line code: {"score", "appraisal_score"}}); `responses` and `annulled_provinces` as for
    `ministry_responses`, or instead `counts[code]`: the tally of the responses that count for each ministry;
    `best[qid][criterion]` the most a respondent of each managing-ministry questionnaire can give the criterion. A
    ministry is never annulled itself: annulment cancels a province's respondents."""
    if counts is None:
        by_ministry = ministry_responses(responses, [m["code"] for m in ministries], annulled_provinces)
        counts = {code: tally(found) for code, found in by_ministry.items()}
    rows = [unit_result(framework, UnitInput(m["code"], m["name"], items.get(m["code"]) or {}, [], False,
                                             m.get("ranked", True) is not False, counts=counts.get(m["code"]) or {}),
                        best, grades)
            for m in ministries]
    return rank(rows)
