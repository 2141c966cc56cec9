"""docs/architecture.md's module list names every module of the tree, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _listed() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## Module list\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+\.py)` \|", section, flags=re.MULTILINE))


def _tree() -> set[str]:
    found = [*ROOT.glob("fnlib/**/*.py"), *ROOT.glob("plugins/fn_airflow/*.py")]
    return {str(p.relative_to(ROOT)) for p in found if p.name != "__init__.py"}


def test_the_module_list_matches_the_tree() -> None:
    listed, tree = _listed(), _tree()
    assert len(tree) > 50
    assert tree - listed == set(), "modules missing from docs/architecture.md's module list"
    assert listed - tree == set(), "docs/architecture.md lists modules that do not exist"
