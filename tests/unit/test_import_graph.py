"""The package's import graph, read from the source: no module imports itself back through others (a function-level
import counts as much as a top-level one)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _graph() -> dict[str, set[str]]:
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (ROOT / "chalicelib").rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    graph[name].add(target if target in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names)
    return {name: {t for t in targets if t in modules and t != name} for name, targets in graph.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_no_import_circle_in_chalicelib():
    graph = _graph()
    assert "chalicelib.services.phases" in graph["chalicelib.services.assessment"]  # the graph is really read
    assert _cycle(graph) is None


def test_only_the_store_touches_pynamodb_and_the_table_models():
    """Storage rules live in one layer: everything else calls store functions that hand out plain records."""
    offenders = []
    for path in [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]:
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("chalicelib", "store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.store":
                names += [f"chalicelib.store.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] in ("pynamodb",) or name == "chalicelib.store.models" \
                        or name.startswith("botocore") and "dynamodb" in name:
                    offenders.append(f"{rel}:{node.lineno} {name}")
    assert offenders == []
