"""Proposed FAQ variants as edits of the YAML files that define the entries.

Why text edits and not a YAML dump: the admin's files carry comments, quoting and the
one-line flow lists of the shipped knowledge base (`sv: ["a", "b"]`), and a dump would
rewrite all of it. We insert the new quoted strings at the positions PyYAML reports
(before a flow list's `]`, or as a `- "..."` line after a block list's last item; a
language the entry has no questions in yet becomes a new `xx: ["..."]` key) and touch
nothing else. The result is a unified diff (`patch -p0` and `git apply` both take it:
paths start with `./`), or the files written, when the admin asks for that.

Where an entry lives comes from the `file:line:column` marks router/configuration/yamlsrc.py keeps for
every value of the loaded config, so entries from included files are found too.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from router.configuration.yamlsrc import Source
from router.engine.faq_kb import KnowledgeBase
from router.engine.faq_suggest import Suggestion

Target = tuple[str, int, int, str]  # (file, line, column of the key, new language or "")


@dataclass
class Patch:
    """Old and new text per file, with the name each file has in the diff."""

    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)  # file -> variants added

    def diff(self) -> str:
        out = []
        for path, (old, new) in self.files.items():
            name = "./" + self.names[path] if not Path(self.names[path]).is_absolute() \
                else self.names[path]
            for line in difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                             name, name):
                out.append(line if line.endswith("\n")
                           else line + "\n\\ No newline at end of file\n")
        return "".join(out)

    def write(self) -> list[str]:
        """Write every changed file; the names written."""
        for path, (_, new) in self.files.items():
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(new)
        return [self.names[p] for p in self.files]

    def restore(self) -> None:
        for path, (old, _) in self.files.items():
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(old)


def display_name(file: str, base: Path) -> str:
    """`file` relative to `base` when it is under it, else absolute."""
    path = Path(file).resolve()
    try:
        return path.relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def plan(source: Source, kb: KnowledgeBase, suggestions: Sequence[Suggestion], *,
         base: Path) -> Patch:
    """The edits that add `suggestions`; sets each one's `file` and `line`.

    A suggestion whose place cannot be found in the files (an entry that is no longer
    there) is left without a file and not in the patch."""
    targets: dict[Target, list[str]] = defaultdict(list)
    for s in suggestions:
        entry = kb.entries.get(s.entry)
        if entry is None:
            continue
        questions = (*kb.entries_path, entry.index, "questions")
        new = "" if s.language in entry.questions else s.language
        where = source.locations.get((*questions, s.language) if not new else questions)
        if where is None:
            continue
        file, line, column = where
        s.file, s.line = display_name(file, base), line
        targets[(file, line, column, new)].append(s.text)
    patch = Patch()
    by_file: dict[str, list[tuple[Target, list[str]]]] = defaultdict(list)
    for target, texts in targets.items():
        by_file[target[0]].append((target, texts))
    for file, edits in by_file.items():
        with open(file, encoding="utf-8", newline="") as f:
            old = f.read()
        patch.files[file] = (old, _edit(old, edits))
        patch.names[file] = display_name(file, base)
        patch.added[file] = sum(len(texts) for _, texts in edits)
    return patch


def _edit(text: str, edits: list[tuple[Target, list[str]]]) -> str:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    newline = "\r\n" if "\r\n" in text else "\n"
    inserts: list[tuple[int, str]] = []
    for (_, line, column, language), texts in edits:
        node = _value_at(root, line, column)
        if node is None:
            raise ValueError(f"no value at line {line}, column {column}")
        quoted = [json.dumps(t, ensure_ascii=False) for t in texts]
        if language:
            inserts.append(_into_mapping(text, node, language, quoted, newline))
        else:
            inserts.append(_into_list(text, node, quoted, newline))
    merged: dict[int, str] = {}  # several new languages of one entry go in one place
    for offset, piece in inserts:
        before = merged.get(offset, "")
        if before.endswith(newline) and piece.startswith(newline):
            piece = piece[len(newline):]
        merged[offset] = before + piece
    for offset in sorted(merged, reverse=True):  # from the end: earlier offsets stay valid
        text = text[:offset] + merged[offset] + text[offset:]
    yaml.compose(text, Loader=yaml.SafeLoader)  # still YAML (raises if we broke it)
    return text


def _value_at(root: yaml.Node | None, line: int, column: int) -> yaml.Node | None:
    """The value of the mapping key that starts at (line, column), 1-based."""
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if (key.start_mark.line + 1, key.start_mark.column + 1) == (line, column):
                    return value  # type: ignore[no-any-return]
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def _last_end(node: yaml.Node) -> int:
    """Where the node's last character ends: a block collection's end mark is the start
    of the next token (maybe lines and comments later), so look at its last child."""
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _last_end(node.value[-1])
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _last_end(node.value[-1][1])
    return int(node.end_mark.index)


def _next_line(text: str, offset: int, newline: str) -> tuple[int, str]:
    """The start of the line after `offset`, and what must go first (a missing newline)."""
    if offset > 0 and text[offset - 1] == "\n":
        return offset, ""  # a block scalar ends at the start of the next line
    end = text.find("\n", offset)
    return (len(text), newline) if end < 0 else (end + 1, "")


def _into_list(text: str, seq: yaml.Node, quoted: list[str], newline: str) -> tuple[int, str]:
    if not isinstance(seq, yaml.SequenceNode):
        raise ValueError("the questions of a language are not a list")
    if seq.flow_style:
        if seq.value:
            return _last_end(seq.value[-1]), "".join(", " + q for q in quoted)
        return seq.end_mark.index - 1, ", ".join(quoted)  # before the `]` of `[]`
    offset, lead = _next_line(text, _last_end(seq), newline)
    indent = " " * seq.start_mark.column  # the column of the first `-`
    return offset, lead + "".join(f"{indent}- {q}{newline}" for q in quoted)


def _into_mapping(text: str, mapping: yaml.Node, language: str, quoted: list[str],
                  newline: str) -> tuple[int, str]:
    if not isinstance(mapping, yaml.MappingNode) or not mapping.value:
        raise ValueError("the questions of an entry are not a mapping")
    key = language if _plain(language) else json.dumps(language)
    item = f"{key}: [{', '.join(quoted)}]"
    if mapping.flow_style:
        return _last_end(mapping.value[-1][1]), ", " + item
    offset, lead = _next_line(text, _last_end(mapping), newline)
    return offset, f"{lead}{' ' * mapping.value[0][0].start_mark.column}{item}{newline}"


def _plain(key: str) -> bool:
    """Safe unquoted: `no`, `on`, `y` would read as booleans in YAML 1.1."""
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", key)) and yaml.safe_load(key) == key
