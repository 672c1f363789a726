"""House rules read from the source: short functions in `chalicelib/`, and comments that cite nothing a reader of
the repository cannot open."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
MAX_FUNCTION_LINES = 60


def _long_functions() -> list[str]:
    found = []
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_in_chalicelib_runs_past_sixty_lines():
    assert _long_functions() == []


def test_the_line_count_covers_the_whole_function(tmp_path):
    source = "def f():\n" + "    x = 1\n" * 60 + "\n\ndef g():\n    pass\n"
    [f, g] = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]
    assert (f.end_lineno - f.lineno + 1, g.end_lineno - g.lineno + 1) == (61, 2)


# What a comment or docstring must not point to: a design document or folder outside the repository, a tracker
# issue, a numbered section of an outside document. (A `#` followed by digits, as in colours or keys, is not one.)
CITATION = re.compile(r"DESIGN\.md|(?<![\w.])shared/|\b[Ii]ssues? \d|§ ?\d")
SOURCES = ["app.py", "Makefile", "pyproject.toml", "pytest.ini", "chalicelib", "dev", "infra", "bench", "tests",
           "site/js"]


def _citations() -> list[str]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if p.suffix in (".py", ".js", ".j2", ".yaml", ".toml", ".sh")
                         and "node_modules" not in p.parts)
    return [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in sorted(files) if path != Path(__file__).resolve()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if CITATION.search(line)]


def test_code_cites_nothing_outside_the_repository():
    assert _citations() == []


def test_the_citation_pattern_catches_citations_and_spares_colours_and_keys():
    assert all(CITATION.search(s) for s in ["see DESIGN.md", "(issue 8.5)", "Issue 10", "§5", "§ 6a",
                                            "/work/shared/reference"])
    assert not any(CITATION.search(s) for s in ["color:#111827", '"demo#01"', "issued 3 links", "reissue 2"])
