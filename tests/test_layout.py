"""The architecture holds: channels, rules and bots depend on `router`, never on each other."""

from __future__ import annotations

import ast
import functools
import re
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


# --- issue 25: the store, the composition root, no cycles -------------------------------
# Modules of channels/, bots/ and rules/ that still reach the store directly. Each keeps
# state the channel port (issue 25) is to hold; the list may only shrink: a module that
# no longer imports the store must leave it, and a new one fails the test.
KNOWN_STORE_IMPORTS: frozenset[str] = frozenset()
# Where `router` may name a plugin (channels, bots, rules), by import or by a "module:attr"
# string: the composition root. The rest of the core knows plugins only through ports.
COMPOSITION_ROOT = ("router/service.py", "router/wiring.py", "router/config.py", "router/cli.py",
                    "router/commands/")
KNOWN_CORE_PLUGIN_IMPORTS: frozenset[str] = frozenset()
PLUGINS = ("channels", "bots", "rules")
_PLUGIN_STRING = re.compile(r"^(channels|bots|rules)(\.\w+)+:\w+$")


@functools.cache
def imports_of(path: Path) -> frozenset[str]:
    """Modules `path` imports (at any depth, outside `if TYPE_CHECKING:`), with the ones it
    names as strings: "package.module:attribute" and `import_module("package.module")`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    typing_only = {id(sub) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for sub in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                _PLUGIN_STRING.match(node.value):
            found.add(node.value.split(":")[0])
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module") \
                and node.args and isinstance(node.args[0], ast.Constant):
            found.add(str(node.args[0].value))
    return frozenset(found)


def store_importers(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for package in PLUGINS
            for path in sorted((root / package).rglob("*.py"))
            if any(m == "router.store" or m.startswith("router.store.") for m in imports_of(path))}


def core_plugin_importers(root: Path) -> set[str]:
    out = set()
    for path in sorted((root / "router").rglob("*.py")):
        rel = str(path.relative_to(root))
        if rel.startswith(COMPOSITION_ROOT):
            continue
        if any(m.split(".")[0] in PLUGINS for m in imports_of(path)):
            out.add(rel)
    return out


def import_cycles(root: Path, packages: tuple[str, ...] = ("router", *PLUGINS)) -> list[list[str]]:
    """Strongly connected groups of modules importing each other (any depth of import)."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def module_of(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {m: {d for n in imports_of(p) if (d := module_of(n)) and d != m
                 and not m.startswith(d + ".")} for m, p in modules.items()}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        order[v] = low[v] = len(order)
        stack.append(v)
        for w in graph[v]:
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in order:
            visit(v)
    return cycles


# --- issue 25: router/'s folders are its layers -------------------------------------------
# What each layer of router/ may import of router/ (besides itself). Lower layers know
# nothing of higher ones; the composition root (service, wiring, config, cli, commands,
# logs, reloader, devrun) may import anything, and `router.config` (the settings' types)
# may be read by the engine and the web layer.
LAYERS: dict[str, tuple[str, ...]] = {
    "domain": (),
    "configuration": ("domain",),
    "ports": ("domain", "configuration"),
    "store": ("domain", "configuration", "ports"),
    "engine": ("domain", "configuration", "ports", "store", "config"),
    "web": ("domain", "configuration", "ports", "store", "engine", "config"),
}
# Imports across the rules above that are still there; the list may only shrink.
KNOWN_LAYER_EXCEPTIONS = frozenset({
    # the standalone ChannelState (a channel built alone in its tests) opens its own store
    ("router/ports/channel_state_local.py", "store"),
    # the agents' runtime mounts its API; the audit query reuses the reports' day parser
    ("router/engine/agents/runtime.py", "web"),
    ("router/engine/audit/query.py", "web"),
    # the API's FAQ editor checks a changed knowledge base by compiling it as `serve` does
    ("router/web/api/faq.py", "wiring"),
})


def _disallowed(root: Path, folder: str, allowed: tuple[str, ...],
                own: str = "") -> set[tuple[str, str]]:
    """(file, router/ layer or root module) for each import of `router.<x>` by a module
    under `folder` where x is neither `own` nor in `allowed`."""
    found = set()
    for path in sorted((root / folder).rglob("*.py")):
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] == "router" and len(parts) > 1 and parts[1] != own \
                    and parts[1] not in allowed:
                found.add((str(path.relative_to(root)), parts[1]))
    return found


def layer_violations(root: Path) -> set[tuple[str, str]]:
    """(file, layer or root module it may not import) for router/'s layer folders."""
    return {v for layer, allowed in LAYERS.items()
            for v in _disallowed(root, f"router/{layer}", allowed, own=layer)}


# What plugins (channels, bots, rules) may import of router/: the shared types, the ports,
# the configuration language and the web layer's HTTP helpers; never the store, the
# composition root or (but for the exceptions listed) the engine.
PLUGIN_MAY_IMPORT = ("domain", "configuration", "ports", "web")
KNOWN_PLUGIN_EXCEPTIONS = frozenset({
    ("channels/webchat/identity.py", "engine"),  # SiteUser, a signed site identity
})


def plugin_violations(root: Path) -> set[tuple[str, str]]:
    return {v for package in PLUGINS for v in _disallowed(root, package, PLUGIN_MAY_IMPORT)}


def test_plugins_import_only_the_shared_layers():
    found = plugin_violations(ROOT)
    assert found == KNOWN_PLUGIN_EXCEPTIONS, (
        f"new: {sorted(found - KNOWN_PLUGIN_EXCEPTIONS)}; "
        f"fixed, take off KNOWN_PLUGIN_EXCEPTIONS: {sorted(KNOWN_PLUGIN_EXCEPTIONS - found)}")


def test_router_layers_import_only_downwards():
    found = layer_violations(ROOT)
    assert found <= KNOWN_LAYER_EXCEPTIONS, f"new: {sorted(found - KNOWN_LAYER_EXCEPTIONS)}"
    assert found == KNOWN_LAYER_EXCEPTIONS, (
        f"fixed, take off KNOWN_LAYER_EXCEPTIONS: {sorted(KNOWN_LAYER_EXCEPTIONS - found)}")


def test_plugins_reach_the_store_only_where_still_listed():
    found = store_importers(ROOT)
    assert found <= KNOWN_STORE_IMPORTS, f"new imports of router.store: {sorted(found - KNOWN_STORE_IMPORTS)}"
    assert found == KNOWN_STORE_IMPORTS, (
        f"no longer import the store, take them off KNOWN_STORE_IMPORTS: "
        f"{sorted(KNOWN_STORE_IMPORTS - found)}")


def test_the_core_names_plugins_only_in_the_composition_root():
    found = core_plugin_importers(ROOT)
    assert found == KNOWN_CORE_PLUGIN_IMPORTS, (
        f"new: {sorted(found - KNOWN_CORE_PLUGIN_IMPORTS)}; "
        f"fixed, take off the list: {sorted(KNOWN_CORE_PLUGIN_IMPORTS - found)}")


def test_no_import_cycles():
    assert import_cycles(ROOT) == []


def test_each_check_fails_on_a_planted_violation(tmp_path: Path):
    """The checks above are only worth something if they see a violation."""
    for package in ("router", "router/store", "router/engine", *PLUGINS):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "router/store/base.py").write_text("")
    (tmp_path / "bots/sneaky.py").write_text("def f():\n    from router.store.base import Tx\n")
    (tmp_path / "router/engine/pipeline.py").write_text(
        'FACTORY = "channels.mail.factory:create"\n')
    (tmp_path / "rules/a.py").write_text("import rules.b\n")
    (tmp_path / "rules/b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bots.x\n"
        "def g():\n    import importlib\n    return importlib.import_module('rules.a')\n")
    assert store_importers(tmp_path) == {"bots/sneaky.py"}
    assert core_plugin_importers(tmp_path) == {"router/engine/pipeline.py"}
    assert import_cycles(tmp_path) == [["rules.a", "rules.b"]]
    (tmp_path / "router/domain").mkdir()
    (tmp_path / "router/domain/model.py").write_text("from router.engine import pipeline\n")
    assert layer_violations(tmp_path) == {("router/domain/model.py", "engine")}
    assert plugin_violations(tmp_path) == {("bots/sneaky.py", "store")}
