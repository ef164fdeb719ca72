"""YAML loading that remembers where every value came from.

Admins edit YAML by hand; every error we report must point at file:line:column. PyYAML's
node tree carries those marks, so we build plain Python data and, beside it, a map from
the value's path (("rules", 3, "when", "text")) to its location. `include:` (globs allowed)
merges further files: lists are appended, mappings merged (a key defined twice is an
error). `${NAME}` / `${NAME:-default}` in scalars is replaced from the environment, so
secrets stay out of the file; the value itself is never echoed in errors.

Every file is read under limits, so a hostile or mistaken file (a "billion laughs" alias
bomb, nesting thousands deep, a huge dump) is refused with a located error in
milliseconds instead of eating the process: see `LIMITS` and docs/rules.md.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from router.domain.errors import ConfigError, Problem

Path_ = tuple[str | int, ...]
Location = tuple[str, int, int]

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one YAML file may hold. Aliases are counted as the nodes they expand to."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_aliases: int = 1_000
    max_nodes: int = 250_000


LIMITS = Limits()


class _LimitExceeded(Exception):
    def __init__(self, mark: yaml.Mark, message: str, hint: str) -> None:
        super().__init__(message)
        self.mark, self.message, self.hint = mark, message, hint


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts depth, aliases and expanded nodes as it goes.

    Composing shares an anchored node between its aliases, so a bomb is cheap to compose;
    it is the expansion into plain data that explodes. Each node's expanded size is known
    once it is composed, so an alias adds that size to the budget without expanding it.
    """

    def __init__(self, stream: str, limits: Limits) -> None:
        super().__init__(stream)
        self.limits = limits
        self.depth = 0
        self.aliases = 0
        self.nodes = 0
        self.sizes: dict[yaml.Node, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.limits.max_aliases:
                raise _LimitExceeded(mark, f"more than {self.limits.max_aliases} aliases (*name)",
                                     "write the values out, or use include: for shared parts")
            node = super().compose_node(parent, index)
            if node not in self.sizes:
                raise _LimitExceeded(mark, "an alias refers to a value that contains it",
                                     "recursive aliases are not supported")
            self._count(self.sizes[node], mark)
            return node
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise _LimitExceeded(mark, f"nested more than {self.limits.max_depth} levels deep",
                                 "flatten the structure")
        start = self.nodes
        self._count(1, mark)
        node = super().compose_node(parent, index)
        self.depth -= 1
        self.sizes[node] = self.nodes - start
        return node

    def _count(self, n: int, mark: yaml.Mark) -> None:
        self.nodes += n
        if self.nodes > self.limits.max_nodes:
            raise _LimitExceeded(mark, f"more than {self.limits.max_nodes:,} values "
                                       "(aliases counted as what they expand to)",
                                 "split the file with include:, or check for an alias bomb")


def _compose(file: str, limits: Limits) -> yaml.Node | None:
    """Read and compose `file` under `limits`. Raises ConfigError with file:line:column."""
    try:
        with open(file, "rb") as f:
            raw = f.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError([Problem(file, 0, 0, "file not found")]) from None
    except OSError as exc:
        raise ConfigError([Problem(file, 0, 0, f"cannot read file: {exc.__class__.__name__}")]) from None
    if len(raw) > limits.max_bytes:
        raise ConfigError([Problem(file, 0, 0, f"file is larger than {limits.max_bytes:,} bytes",
                                   "split it with include:")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(file, 0, 0, f"cannot read file: {exc.__class__.__name__}")]) from None
    loader = _LimitedLoader(text, limits)
    try:
        return loader.get_single_node()
    except _LimitExceeded as exc:
        raise ConfigError([Problem(file, exc.mark.line + 1, exc.mark.column + 1,
                                   f"YAML refused: {exc.message}", exc.hint)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        raise ConfigError([Problem(file, line, col, msg)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(file, 1, 1, f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()


def load_data(file: str, limits: Limits = LIMITS) -> Any:
    """Plain data from one YAML file (no includes, no `${}`), read under `limits`."""
    node = _compose(file, limits)
    if node is None:
        return None
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigError([Problem(file, line, col, f"invalid value: {exc.problem}")]) from None


@dataclass
class Source:
    """Loaded YAML data with a location for every path in it."""

    data: dict[str, Any]
    locations: dict[Path_, Location] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def where(self, path: Path_) -> Location:
        """Location of `path`, or of its nearest located ancestor."""
        p = tuple(path)
        while p:
            if p in self.locations:
                return self.locations[p]
            p = p[:-1]
        return self.locations.get((), (self.files[0] if self.files else "<config>", 1, 1))

    def problem(self, path: Path_, message: str, hint: str = "") -> Problem:
        file, line, col = self.where(path)
        return Problem(file, line, col, message, hint)


class _Builder:
    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.locations: dict[Path_, Location] = {}
        self.problems: list[Problem] = []

    def loc(self, node: yaml.Node) -> Location:
        return (self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.locations[path] = self.loc(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(
                        Problem(*self.loc(key_node), "YAML merge keys (<<) are not supported")
                    )
                    continue
                key = self.build_scalar(key_node)
                if isinstance(key, list | dict) or key is None:
                    self.problems.append(Problem(*self.loc(key_node), "invalid mapping key"))
                    continue
                if isinstance(key, bool | int | float):
                    key = str(key).lower() if isinstance(key, bool) else str(key)
                if key in out:
                    self.problems.append(
                        Problem(*self.loc(key_node), f"duplicate key '{key}'",
                                "each key may appear once in a mapping")
                    )
                    continue
                self.locations[(*path, key)] = self.loc(key_node)
                out[key] = self.build(value_node, (*path, key))
                # point the key's own path at the key, not the value: errors about an
                # unknown key should show where the key was typed.
                self.locations[(*path, key)] = self.loc(key_node)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.build_scalar(node)

    def build_scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.problems.append(Problem(*self.loc(node), "expected a plain value here"))
            return None
        try:
            value = _CONSTRUCTOR.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problems.append(Problem(*self.loc(node), f"invalid value: {exc}"))
            return None
        finally:
            _CONSTRUCTOR.constructed_objects.clear()
        if isinstance(value, str) and "${" in value:
            return self.substitute(value, node)
        return value

    def substitute(self, value: str, node: yaml.Node) -> str:
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self.problems.append(
                Problem(*self.loc(node), f"environment variable {name} is not set",
                        f"export {name}=... before starting, or use ${{{name}:-default}}")
            )
            return ""

        return _ENV_RE.sub(repl, value)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _parse_file(file: str, env: Mapping[str, str]) -> tuple[Any, _Builder]:
    builder = _Builder(file, env)
    node = _compose(file, LIMITS)
    if node is None:
        return {}, builder
    return builder.build(node, ()), builder


def load(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Source:
    """Load `path` and its includes. Raises ConfigError listing every problem found."""
    env = os.environ if env is None else env
    root = str(path)
    data, builder = _parse_file(root, env)
    problems = list(builder.problems)
    if not isinstance(data, dict):
        raise ConfigError([Problem(root, 1, 1, "the top level must be a mapping (key: value)")])
    source = Source(data=data, locations=dict(builder.locations), files=[root])
    includes = data.pop("include", None)
    if includes is not None:
        if isinstance(includes, str):
            includes = [includes]
        if not isinstance(includes, list):
            problems.append(source.problem(("include",), "include must be a list of paths"))
            includes = []
        base = Path(root).parent
        for i, pattern in enumerate(includes):
            matches = sorted(glob.glob(str(base / str(pattern))))
            if not matches:
                problems.append(source.problem(("include", i), f"include '{pattern}' matches no file"))
            for file in matches:
                try:
                    _merge_file(source, file, env, problems)
                except ConfigError as exc:
                    problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return source


def _merge_file(source: Source, file: str, env: Mapping[str, str], problems: list[Problem]) -> None:
    data, builder = _parse_file(file, env)
    problems.extend(builder.problems)
    source.files.append(file)
    if not isinstance(data, dict):
        problems.append(Problem(file, 1, 1, "an included file must be a mapping"))
        return
    if "include" in data:
        problems.append(Problem(*builder.locations[("include",)], "nested include is not supported"))
    for key, value in data.items():
        if key == "include":
            continue
        mine = source.data.get(key)
        if isinstance(mine, list) and isinstance(value, list):
            offset = len(mine)
            mine.extend(value)
            _copy_locations(source, builder, (key,), offset)
        elif isinstance(mine, dict) and isinstance(value, dict):
            for sub, sub_value in value.items():
                if sub in mine:
                    where = builder.locations[(key, sub)]
                    problems.append(Problem(*where, f"'{key}.{sub}' is already defined in "
                                                    f"{':'.join(map(str, source.where((key, sub))[:2]))}"))
                    continue
                mine[sub] = sub_value
            _copy_locations(source, builder, (key,), None)
        elif mine is None:
            source.data[key] = value
            _copy_locations(source, builder, (key,), None)
        else:
            problems.append(Problem(*builder.locations[(key,)],
                                    f"'{key}' cannot be merged with the main file's value"))


def _copy_locations(source: Source, builder: _Builder, prefix: Path_, offset: int | None) -> None:
    n = len(prefix)
    for path, loc in builder.locations.items():
        if path[:n] != prefix or len(path) == n:
            continue
        if offset is not None and isinstance(path[n], int):
            path = (*prefix, path[n] + offset, *path[n + 1:])
        source.locations.setdefault(path, loc)
