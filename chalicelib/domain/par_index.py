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

Ranking: by index, highest first, among the ranked units only (a unit assessed but not ranked gets its index and
no rank); equal indexes share a rank. Grade: the first of the campaign's grades (highest threshold first) whose
minimum the index reaches. Pure: everything is passed in.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from chalicelib.domain.framework import field_of, leaves, number


@dataclass
class UnitInput:
    unit: str
    name: str
    items: dict[str, dict] = field(default_factory=dict)  # code -> {"score", "appraisal_score"} (numbers or None)
    responses: list[dict] = field(default_factory=list)  # {"group", "qid", "scores": {criterion: points}}
    annulled: bool = False
    ranked: bool = True


def _d(value: object) -> Decimal:
    return Decimal(str(value))


def survey_points(framework: dict, responses: list[dict], best: dict[str, dict[str, object]]) -> dict[str, Decimal]:
    """Points of every survey leaf from `responses` (each {"group", "qid", "scores"}); `best[qid][criterion]` is
    the most a respondent of that questionnaire can give the criterion."""
    mode = framework.get("survey_average") or "groups"
    out: dict[str, Decimal] = {}
    for leaf in leaves(framework, "survey"):
        code = leaf["code"]
        by_group: dict[str, list[Decimal]] = {}
        for response in responses:
            top = (best.get(response["qid"]) or {}).get(code)
            points = (response.get("scores") or {}).get(code)
            if points is None or not top or _d(top) <= 0:
                continue
            share = min(max(_d(points) / _d(top), Decimal(0)), Decimal(1))
            by_group.setdefault(response["group"] if mode == "groups" else "*", []).append(share)
        if not by_group:
            out[code] = Decimal(0)
            continue
        means = [sum(shares, Decimal(0)) / len(shares) for shares in by_group.values()]
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
    survey = {} if unit.annulled else survey_points(framework, unit.responses, best)
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
            "responses": 0 if unit.annulled else len(unit.responses),
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
                     grades: list[dict]) -> list[dict]:
    """Every ministry's result under the ministries' `framework`, ranked among the ranked ones.

    `ministries` are the campaign's ministry units ({"code", "name", "ranked"}); `items[code]` a ministry's lines
    as for a province ({line code: {"score", "appraisal_score"}}); `responses` and `annulled_provinces` as for
    `ministry_responses`; `best[qid][criterion]` the most a respondent of each managing-ministry questionnaire can
    give the criterion. A ministry is never annulled itself: annulment cancels a province's respondents."""
    by_ministry = ministry_responses(responses, [m["code"] for m in ministries], annulled_provinces)
    rows = [unit_result(framework, UnitInput(m["code"], m["name"], items.get(m["code"]) or {}, by_ministry[m["code"]],
                                             False, m.get("ranked", True) is not False), best, grades)
            for m in ministries]
    return rank(rows)
