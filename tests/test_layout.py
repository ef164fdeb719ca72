"""The architecture holds: channels, rules and bots depend on `router`, never on each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("channels", "rules", "bots")


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_package_does_not_import_its_siblings(package: str):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        others = imported_top_levels(path) & (set(PACKAGES) - {package})
        if package == "channels":
            # one channel package must not reach into another either
            channel = path.relative_to(ROOT / "channels").parts[0]
            tree_imports = {n for n in _modules(path) if n.startswith("channels.")}
            others |= {n for n in tree_imports if n.split(".")[1] != channel}
        if others:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(others)}")
    assert not offenders, "\n".join(offenders)


def _modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found
