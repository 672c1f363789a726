from collections import Counter
from pathlib import Path


def test_every_test_module_has_a_unique_basename():
    """pytest imports test modules by basename (no packages here): two files of one name break collection."""
    names = Counter(p.name for p in (Path(__file__).resolve().parent.parent).rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
