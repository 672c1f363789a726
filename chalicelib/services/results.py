"""The PAR Index results of a campaign, for the Ministry of Home Affairs: every unit's points per part and field,
index, rank and grade, for the provinces and (`kind="ministry"`) for the assessed ministries; and the results
workbook, with both."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from chalicelib.domain import par_index
from chalicelib.domain.access import Actor, require_moha
from chalicelib.domain import integrity as integrity_rules
from chalicelib.domain.campaign import DEFAULT_GRADES, DEFAULT_MIN_RESPONSES, MINISTRY, PROVINCE, PURPOSE_OF_KIND
from chalicelib.domain.questionnaire import max_points, parse_qid
from chalicelib.domain.timefmt import local_datetime, utc_iso
from chalicelib.services.assessment import framework_of, unit_kind
from chalicelib.store.integrity import IntegrityScan
from chalicelib.store.stores import DYNAMODB, Stores


def _best(cid: str, kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> dict[str, dict]:
    """The most one respondent can give each criterion, per questionnaire measuring units of `kind` (the locality
    questionnaires for provinces, the managing-ministry ones for ministries)."""
    return {item.qid: max_points({"sections": item.sections}) for item in stores.questionnaires.list_for(cid)
            if (parse_qid(item.qid) or ("",))[0] == PURPOSE_OF_KIND[kind]}


RISK_LEVELS = {"high": "Cao", "medium": "Trung bình", "low": "Thấp"}


def _risk(scan: IntegrityScan | None) -> dict | None:
    """The unit's last interference review: its score out of 100 and level; None before any scan."""
    if scan is None:
        return None
    flagged = integrity_rules.flagged({"score": scan.score})
    level = "high" if flagged else "medium" if scan.score > 0 else "low"
    return {"score": scan.score, "level": level, "level_name": RISK_LEVELS[level], "flagged": flagged,
            "flags": len(scan.flags), "scanned_at_label": local_datetime(scan.scanned_at)}


def _counters(cid: str, units: list[str], groups: list[dict], *,
              stores: Stores = DYNAMODB) -> dict[tuple[str, str], dict[str, int]]:
    """The units' "all" counters and their locality forms per group, in batches: (unit, key) -> counts."""
    keys = [(f"{cid}#{u}", k) for u in units for k in ("all", *(f"{g['code']}#locality" for g in groups))]
    return {(unit_key.split("#", 1)[1], key): counts
            for (unit_key, key), counts in stores.links.counters(keys).items()}


def _locality_forms(counters: dict[tuple[str, str], dict[str, int]], unit: str, groups: list[dict]) -> int:
    """How many locality forms the unit's respondents were given (the denominator of its response rate)."""
    return sum(max(0, n) for g in groups for n in counters.get((unit, f"{g['code']}#locality"), {}).values())


def _tallies(cid: str, units: list[str], scans: dict[str, IntegrityScan],
             counters: dict[tuple[str, str], dict[str, int]], *, stores: Stores = DYNAMODB) -> dict[str, dict]:
    """Each province's stored responses tallied (par_index.unit_tally). The integrity scan reads every response of
    a unit whose counters moved and keeps their tally: that one is used while the unit's submit counter still
    equals the number of responses it counts (responses are written once, with the counter, and never removed, so
    the same number means the same responses); any other unit's responses are read here (one Query each, without
    their answers), except where the counter says there is none."""
    out: dict[str, dict] = {}
    for unit in units:
        submitted = counters.get((unit, "all"), {}).get("submitted", 0)
        scan = scans.get(unit)
        kept = scan.score_counts if scan else None
        if kept and kept.get("n") == submitted:
            out[unit] = kept
        elif not submitted:  # a response is only ever written with the counter's +1: none to read
            out[unit] = par_index.unit_tally([])
        else:
            out[unit] = par_index.unit_tally(stores.integrity.response_scores(f"{cid}#{unit}"))
    return out


def compute(cid: str, kind: str = PROVINCE, *, stores: Stores = DYNAMODB) -> dict:
    if kind == MINISTRY:
        return _ministries(cid, stores=stores)
    return _provinces(cid, stores=stores)[0]


def _provinces(cid: str, framework: tuple[dict, int] | None = None, *,
               stores: Stores = DYNAMODB) -> tuple[dict, dict[str, dict]]:
    """The provinces' results, and each province's responses tallied (which the ministries' results use too).
    `framework`: the provinces' (definition, version), when the caller has read it already (the workbook)."""
    campaign = stores.campaigns.get_campaign(cid)
    definition, version = framework or framework_of(cid, stores=stores)
    grades = list(campaign.grades or DEFAULT_GRADES)
    best = _best(cid, stores=stores)
    states = {a.unit: a for a in stores.assessment.list_assessments(cid)}
    scans = {s.unit: s for s in stores.integrity.by_campaign(cid)}
    minimum = campaign.min_responses or DEFAULT_MIN_RESPONSES
    units = stores.campaigns.list_units(cid, PROVINCE)
    groups = list(campaign.groups or [])
    counters = _counters(cid, [u.unit for u in units], groups, stores=stores)
    tallies = _tallies(cid, [u.unit for u in units], scans, counters, stores=stores)
    rows = []
    for unit in units:
        lines = {line.code: {"score": line.score, "appraisal_score": line.appraisal_score}
                 for line in stores.assessment.list_items(cid, unit.unit)}
        annulled = bool(unit.annulled_at)
        counts = tallies[unit.unit].get("locality") or {}
        result = par_index.unit_result(definition, par_index.UnitInput(unit.unit, unit.name, lines, [], annulled,
                                                                       counts=counts), best, grades)
        record = states.get(unit.unit)
        result["assessment_state"] = record.state if record else "draft"
        result["appraisal_published"] = bool(record and record.published_at)
        # What the survey points rest on: answers (an annulled unit's still counted here, apart from its points),
        # the forms given out, the interference review and whether the sample is too small to mean anything.
        answered = par_index.tallied(counts)
        forms = _locality_forms(counters, unit.unit, groups)
        result["survey"] = {"responses": answered, "forms": forms,
                            "rate": round(100.0 * answered / forms, 1) if forms else None,
                            "small_sample": answered < minimum}
        result["integrity"] = _risk(scans.get(unit.unit))
        # Anything to compute an index from: a line scored or appraised, or an answer that counts.
        result["has_data"] = (answered > 0 and not annulled) or any(
            v["score"] is not None or v["appraisal_score"] is not None for v in lines.values())
        rows.append(result)
    return _summary(cid, campaign.name, PROVINCE, definition, version, grades, minimum, par_index.rank(rows)), tallies


def _summary(cid: str, name: str, kind: str, definition: dict | None, version: int | None, grades: list[dict],
             minimum: int, ranked: list[dict]) -> dict:
    counts = {g["code"]: sum(1 for r in ranked if r["grade"] == g["code"]) for g in grades}
    # The average over the units with data only: a unit with nothing entered has no index yet, not one of 0.
    with_data = [r for r in ranked if r["has_data"]]
    average = round(sum(r["index"] for r in with_data) / len(with_data), 2) if with_data else 0
    return {"campaign": cid, "name": name, "kind": kind,
            "framework": {"title": definition["title"], "sample": definition["sample"], "version": version}
            if definition else None,
            "maximum": definition["maximum"] if definition else None, "grades": grades, "min_responses": minimum,
            "average": average, "average_units": len(with_data), "grade_counts": counts,
            "fields": [{"code": f["code"], "name": f["name"], "max": f["max"]} for f in definition["fields"]]
            if definition else [],
            "units": ranked}


def _ministries(cid: str, tallies: dict[str, dict] | None = None, framework: tuple[dict, int] | None = None, *,
                stores: Stores = DYNAMODB) -> dict:
    """The assessed ministries' results under the ministries' framework: their lines (self-assessment, appraisal,
    imported parts) and their survey points from the managing-ministry answers of every province's department and
    division leaders who named them, an annulled province's answers counting for none. Ranked among the ranked
    ministries; the others are listed with their index and no rank. A campaign without ministries has none.
    `tallies` (each province's responses tallied) and `framework` (the ministries' definition and version): when the
    caller has read them already (the workbook)."""
    campaign = stores.campaigns.get_campaign(cid)
    grades = list(campaign.grades or DEFAULT_GRADES)
    minimum = campaign.min_responses or DEFAULT_MIN_RESPONSES
    ministries = stores.campaigns.list_units(cid, MINISTRY)
    if not ministries:
        found = stores.assessment.find_framework(cid, MINISTRY)
        return _summary(cid, campaign.name, MINISTRY, found.definition if found else None,
                        found.version if found else None, grades, minimum, [])
    definition, version = framework or framework_of(cid, MINISTRY, stores=stores)
    provinces = stores.campaigns.list_units(cid, PROVINCE)
    annulled = {p.unit for p in provinces if p.annulled_at}
    # A ministry's respondents are spread over every province, and responses are stored by province: each
    # province's managing-ministry answers tallied per ministry (kept by the integrity scan, else read here), an
    # annulled province's too, to say how many answers it cost.
    if tallies is None:
        names = [p.unit for p in provinces]
        tallies = _tallies(cid, names, {s.unit: s for s in stores.integrity.by_campaign(cid)},
                           _counters(cid, names, [], stores=stores), stores=stores)
    counts = {m.unit: par_index.merge_tallies(t.get("ministry", {}).get(m.unit) or {}
                                              for p, t in tallies.items() if p not in annulled) for m in ministries}
    items = {m.unit: {line.code: {"score": line.score, "appraisal_score": line.appraisal_score}
                      for line in stores.assessment.list_items(cid, m.unit)} for m in ministries}
    rows = par_index.ministry_results(definition, [{"code": m.unit, "name": m.name, "ranked": m.ranked}
                                                   for m in ministries],
                                      items, [], annulled, _best(cid, MINISTRY, stores=stores), grades, counts=counts)
    states = {a.unit: a for a in stores.assessment.list_assessments(cid)}
    for result in rows:
        record = states.get(result["unit"])
        result["assessment_state"] = record.state if record else "draft"
        result["appraisal_published"] = bool(record and record.published_at)
        # What the survey points rest on: the answers that count, from how many provinces, and the answers of
        # annulled provinces left out.
        per_province = {p: par_index.tallied(t.get("ministry", {}).get(result["unit"]) or {})
                        for p, t in tallies.items()}
        counted = sum(n for p, n in per_province.items() if p not in annulled)
        result["survey"] = {"responses": counted,
                            "provinces": sum(1 for p, n in per_province.items() if n and p not in annulled),
                            "cancelled": sum(n for p, n in per_province.items() if p in annulled),
                            "small_sample": counted < minimum}
        result["integrity"] = None  # interference is reviewed per province, where the respondents are
        result["has_data"] = counted > 0 or any(
            v["score"] is not None or v["appraisal_score"] is not None for v in items[result["unit"]].values())
    return _summary(cid, campaign.name, MINISTRY, definition, version, grades, minimum, rows)


def results(actor: Actor, cid: str, kind: str | None = None, *, stores: Stores = DYNAMODB) -> dict:
    require_moha(actor)
    return compute(cid, unit_kind(kind), stores=stores)


def workbook(cid: str, now: datetime, *, stores: Stores = DYNAMODB) -> bytes:
    """The results workbook: the provinces' summary and field sheets, then the ministries' where the campaign
    assesses ministries."""
    from chalicelib.formats import results_xlsx

    framework = framework_of(cid, stores=stores)
    data, tallies = _provinces(cid, framework, stores=stores)
    ministries = None
    if stores.campaigns.list_units(cid, MINISTRY):  # each framework, and the provinces' tallies, read once
        of_ministries = framework_of(cid, MINISTRY, stores=stores)
        ministries = (_ministries(cid, tallies, of_ministries, stores=stores), of_ministries[0])
    return results_xlsx.workbook(data, framework[0], local_datetime(now), ministries=ministries)


def export(actor: Actor, cid: str, now: datetime, random_bytes: Callable[[int], bytes], *,
           stores: Stores = DYNAMODB) -> dict:
    from chalicelib.formats.roster_xlsx import XLSX

    require_moha(actor)
    content = workbook(cid, now, stores=stores)
    name = f"ket-qua-chi-so-cchc-{cid}.xlsx"
    url = stores.files.put_export(f"exports/{cid}/results/{utc_iso(now)}-{random_bytes(4).hex()}.xlsx", content,
                                  XLSX, name, expires=900)
    return {"url": url, "filename": name, "size": len(content), "expires_in": 900}
