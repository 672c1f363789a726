"""Campaign data shipped with the app under chalicelib/data/ (or any directory given)."""
from __future__ import annotations

import json
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def load_campaign(name_or_path: str, kinds: tuple[str, ...] = ("province",)) -> tuple[dict, list[dict]]:
    """Read a campaign definition and its units of the given `kinds`. A definition may name a `base` campaign whose
    keys it inherits (the demo campaign is 2021 with other dates), a `units_file` (the provinces, or any units
    carrying their `kind`) and a `ministries_file` (the ministries and agencies assessed that year: its `assessed`
    entries become units of kind "ministry"), both relative to the data dir.

    Every unit carries `kind` ("province" where absent) and `ranked` (true where absent). Only provinces are
    returned unless `kinds` asks for more: pass `UNIT_KINDS` for every unit, ministries after the provinces."""
    path = Path(name_or_path)
    if not path.suffix:
        path = DATA_DIR / "campaigns" / f"{name_or_path}.json"
    definition = json.loads(path.read_text(encoding="utf-8"))
    if "base" in definition:
        base, _ = load_campaign(str(path.parent / f"{definition['base']}.json"))
        definition = {**base, **{k: v for k, v in definition.items() if k != "base"}}
    if definition.get("departments_file"):
        raw = json.loads((DATA_DIR / definition["departments_file"]).read_text(encoding="utf-8"))
        definition["departments"] = [{"name": d["name"], "ministry": d["ministry"]}
                                     for part in ("in_every_province", "in_some_provinces") for d in raw.get(part, [])]
    units_ref = definition.get("units_file")
    if units_ref:
        raw = json.loads((DATA_DIR / units_ref).read_text(encoding="utf-8"))
        if isinstance(raw, dict) and "provinces" in raw:
            # a list of provinces: its own "kind" (tinh, thanh_pho_truc_thuoc_tw) is the province's type
            units = [{**{k: v for k, v in u.items() if k != "kind"}, "type": u.get("kind"), "kind": "province"}
                     if isinstance(u, dict) and "kind" in u else u for u in raw["provinces"]]
        else:
            units = raw.get("units", raw) if isinstance(raw, dict) else raw
    else:
        units = definition.get("units", [])
    units = [_with_kind(u, "province") for u in units]
    if definition.get("ministries_file"):
        raw = json.loads((DATA_DIR / definition["ministries_file"]).read_text(encoding="utf-8"))
        units += [_with_kind({**u, "kind": "ministry"}, "ministry") for u in raw.get("assessed", [])]
    return definition, [u for u in units if not isinstance(u, dict) or u["kind"] in kinds]


UNIT_KINDS = ("province", "ministry")


def _with_kind(unit: object, default: str) -> object:
    """A unit as read, with its kind and whether it is ranked made explicit (anything not an object is left for the
    campaign's validation to report)."""
    if not isinstance(unit, dict):
        return unit
    return {**unit, "kind": unit.get("kind") or default, "ranked": unit.get("ranked", True)}


def framework_files(definition: dict) -> dict[str, str]:
    """The frameworks a campaign definition ships, per unit kind: `framework_file` is the provinces' one,
    `framework_files` maps other kinds ("ministry") to theirs, each relative to the data dir."""
    refs = {"province": definition["framework_file"]} if definition.get("framework_file") else {}
    extra = definition.get("framework_files") or {}
    refs.update({str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {})
    return refs


def load_questionnaires(definition: dict) -> dict[str, dict]:
    """The questionnaires a campaign definition ships: `questionnaire_files` maps a qid ("locality-1") to a JSON
    file relative to the data dir; several qids may share a file, whose title may hold "{group}" (the group's
    name). Returns {qid: questionnaire definition} (validated by the caller)."""
    names = {str(g.get("code")): g.get("name", "") for g in definition.get("groups") or []}
    result = {}
    for qid, ref in (definition.get("questionnaire_files") or {}).items():
        data = json.loads((DATA_DIR / ref).read_text(encoding="utf-8"))
        group = qid.split("-", 1)[-1]
        if isinstance(data.get("title"), str):
            data["title"] = data["title"].replace("{group}", names.get(group, group))
        result[qid] = data
    return result


def load_json(ref: str) -> dict:
    """A JSON file shipped in the data dir (`ref` relative to it, e.g. "frameworks/sample-2021-province.json")."""
    return json.loads((DATA_DIR / ref).read_text(encoding="utf-8"))
