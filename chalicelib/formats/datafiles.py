"""Campaign data shipped with the app under chalicelib/data/ (or any directory given)."""
from __future__ import annotations

import json
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def load_campaign(name_or_path: str) -> tuple[dict, list[dict]]:
    """Read a campaign definition and its units. A definition may name a `base` campaign whose keys it
    inherits (the demo campaign is 2021 with other dates), and a `units_file` relative to the data dir."""
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
        units = raw["provinces"] if isinstance(raw, dict) and "provinces" in raw else raw.get("units", raw)
    else:
        units = definition.get("units", [])
    return definition, units


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
