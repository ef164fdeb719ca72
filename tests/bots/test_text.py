"""`fold`: the normalisation every bot comparison relies on, cached or not."""

from __future__ import annotations

import pytest

from bots.text import fold, tokens
from router.domain.fold import FOLD_CACHE_MAX_CHARS


@pytest.mark.parametrize(("text", "folded"), [
    ("Förnya", "fornya"),
    ("Що?", "що"),
    ("Й ї Ё", "и і е"),  # Cyrillic letters decompose too: lossy, but on both sides
    ("snake_case, and\u00a0more!!  spaces", "snake case and more spaces"),
    ("  Hello\n\tWORLD ", "hello world"),
    ("ﬁne ①", "fine 1"),  # NFKD compatibility forms
    ("e\u0301te\u0301", "ete"),  # combining accents typed separately
    ("🙂", ""),
    ("", ""),
])
def test_fold(text: str, folded: str):
    assert fold(text) == folded


def test_long_texts_fold_the_same_without_the_cache():
    short = "Hej! Jag har glömt lösenordet_till mitt KONTO, hjälp?"
    long = " ".join([short] * (FOLD_CACHE_MAX_CHARS // len(short) + 1))
    assert len(long) > FOLD_CACHE_MAX_CHARS
    assert fold(long) == " ".join([fold(short)] * (FOLD_CACHE_MAX_CHARS // len(short) + 1))


def test_tokens_drop_stop_words_unless_nothing_is_left():
    assert tokens("Hur återställer jag lösenordet?") == ["aterstaller", "losenordet"]
    assert tokens("how are you") == ["how", "are", "you"]
