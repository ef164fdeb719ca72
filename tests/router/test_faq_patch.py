"""Suggested variants as YAML edits: every list style, comments and formatting untouched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from router.configuration import yamlsrc
from router.engine.faq_kb import KnowledgeBase
from router.engine.faq_patch import plan
from router.engine.faq_suggest import Suggestion

KB = """\
# The knowledge base. Comments stay where they are.
faq:
  - id: flow   # one-line lists, as config.d/faq.yaml has them
    questions:
      sv: ["Hej", 'Tjena']   # a trailing comment
      en: [ ]
    answers: {sv: "Svar", en: "Answer"}
  - id: block
    questions:
      en:
        - "Hello"
        - |
          a block scalar,
          two lines
      nb:
      - "Indentless"
    answers: {en: "B"}
  - id: mapping
    questions: {en: ["x y z"]}
    answers: {en: "C"}"""  # and no newline at the end of the file


def _setup(tmp_path: Path, text: str = KB, newline: str = "\n") -> tuple[yamlsrc.Source, KnowledgeBase]:
    (tmp_path / "kb.yaml").write_bytes(text.replace("\n", newline).encode())
    (tmp_path / "config.yaml").write_text("languages: [sv, en, nb, fi, 'no']\n"
                                          "include: [kb.yaml]\n", encoding="utf-8")
    source = yamlsrc.load(tmp_path / "config.yaml", {})
    return source, KnowledgeBase.from_data(source.data)


SUGGESTIONS = [("flow", "sv", 'Säg "hej" \\ då'), ("flow", "en", "Hi"), ("flow", "fi", "Moi"),
               ("block", "en", "Hi there"), ("block", "nb", "Hei"), ("block", "no", "Hei igjen"),
               ("mapping", "en", "new"), ("mapping", "sv", "ny")]


def _suggestions() -> list[Suggestion]:
    return [Suggestion(entry, language, text, 1, ["agent_answer"])
            for entry, language, text in SUGGESTIONS]


def test_every_list_style_gets_its_variants_and_nothing_else_changes(tmp_path: Path):
    source, kb = _setup(tmp_path)
    found = _suggestions()
    patch = plan(source, kb, found, base=tmp_path)
    old, new = patch.files[str(tmp_path / "kb.yaml")]
    data = yaml.safe_load(new)
    flow, block, mapping = data["faq"]
    assert flow["questions"] == {"sv": ["Hej", "Tjena", 'Säg "hej" \\ då'], "en": ["Hi"],
                                 "fi": ["Moi"]}
    assert block["questions"] == {"en": ["Hello", "a block scalar,\ntwo lines\n", "Hi there"],
                                  "nb": ["Indentless", "Hei"], "no": ["Hei igjen"]}
    assert mapping["questions"] == {"en": ["x y z", "new"], "sv": ["ny"]}
    assert '      sv: ["Hej", \'Tjena\', "Säg \\"hej\\" \\\\ då"]   # a trailing comment' in new
    assert '      "no": ["Hei igjen"]' in new  # `no` unquoted would read as false
    # only the lines that got a variant changed, and lines were only added after them
    kept = [line for line in old.splitlines() if line in new.splitlines()]
    assert len(old.splitlines()) - len(kept) == 3  # sv: [...], en: [ ], {en: [...]}
    assert patch.added == {str(tmp_path / "kb.yaml"): len(SUGGESTIONS)}
    where = {(s.entry, s.language): (s.file, s.line) for s in found}
    assert where[("flow", "sv")] == ("kb.yaml", 5)
    assert where[("flow", "fi")] == ("kb.yaml", 4)  # a new language goes under questions:
    assert where[("block", "nb")] == ("kb.yaml", 15)


def test_the_diff_applies_with_git_apply_and_patch(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    source, kb = _setup(site)
    patch = plan(source, kb, _suggestions(), base=site)
    diff = patch.diff()
    assert diff.startswith("--- ./kb.yaml\n+++ ./kb.yaml\n")
    assert "\\ No newline at end of file" in diff
    expected = patch.files[str(site / "kb.yaml")][1]
    tools = [["git", "apply", "-"]] + ([["patch", "-p0", "--quiet"]] if shutil.which("patch") else [])
    for i, tool in enumerate(tools):
        copy = tmp_path / f"copy{i}"
        shutil.copytree(site, copy)
        subprocess.run(tool, cwd=copy, input=diff.encode(), check=True)
        assert (copy / "kb.yaml").read_bytes().decode() == expected
    assert (site / "kb.yaml").read_text(encoding="utf-8") == KB  # nothing written


def test_windows_line_endings_are_kept(tmp_path: Path):
    source, kb = _setup(tmp_path, newline="\r\n")
    patch = plan(source, kb, _suggestions(), base=tmp_path)
    patch.write()
    written = (tmp_path / "kb.yaml").read_bytes().decode()
    assert "\n" not in written.replace("\r\n", "")
    assert yaml.safe_load(written)["faq"][1]["questions"]["en"][-1] == "Hi there"
    patch.restore()
    assert (tmp_path / "kb.yaml").read_bytes() == KB.replace("\n", "\r\n").encode()


def test_a_suggestion_for_an_entry_that_is_gone_is_left_out(tmp_path: Path):
    source, kb = _setup(tmp_path)
    gone = Suggestion("nope", "sv", "x", 1, ["did_you_mean"])
    patch = plan(source, kb, [gone], base=tmp_path)
    assert patch.files == {} and patch.diff() == "" and gone.file == ""
