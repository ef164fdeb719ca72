"""Sentence meaning for the article search: static word embeddings, averaged.

Customers ask in their words, help centres answer in theirs: "bookmark a message" is
*Star a message*, "shut down my account" is *Deactivate your account*. Word matching
(bots/analyze.py) cannot bridge that; an embedding model can. The model is WordLlama's
`l2_supercat` (256 dimensions, 16 MB, shipped inside the `wordllama` wheel with its
tokenizer): a text's vector is the average of its tokens' vectors, so embedding costs a
tokenizer call and a sum (well under a millisecond for a message), nothing is downloaded
(loading is pinned to the files in the package), and no GPU or torch is needed. It was
trained on English sentence pairs, so it is used for English only; other languages keep
the word matching (`LANGUAGES`).

A section is embedded whole and paragraph by paragraph (each with its article's title
and its heading), and a message's similarity to the section is the best of those: a
question is usually answered by one paragraph, and a long section's average drowns it.
The message is embedded without its stop words (bots/text.py), so "how do I" and "can
I" do not pull every question towards the same sections.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bots.text import STOPWORDS

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

LANGUAGES: Final = frozenset({"en"})  # what the model was trained on
MIN_PARAGRAPH_WORDS: Final = 3  # shorter lines ("Go to Settings.") are not passages alone
VECTOR_CACHE: Final = 4096  # passages and messages embedded, kept across rule reloads
_WORD = re.compile(r"[\w']+")


class Embedder:
    """Texts to unit vectors with the packaged model; one per process (`embedder()`)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._cached = lru_cache(maxsize=VECTOR_CACHE)(self._one)

    def _one(self, text: str) -> NDArray[np.float32]:
        return self._model.embed([text], norm=True)[0]

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors of `texts`, one row each (cached per text)."""
        import numpy as np

        return np.stack([self._cached(t) for t in texts]) if texts else np.zeros((0, 1))


@lru_cache(maxsize=1)
def embedder() -> Embedder | None:
    """The packaged model, loaded once; None when `wordllama` is missing or broken.

    WordLlama looks for its tokenizer in a folder named differently from the one its
    wheel ships (`tokenizer/` against `tokenizers/`) and would then download it: pointing
    its cache at the package's own folder, with downloads disabled, finds both files there.
    """
    try:
        import wordllama
        from wordllama import WordLlama

        return Embedder(WordLlama.load(cache_dir=Path(wordllama.__file__).parent,
                                       disable_download=True))
    except Exception:  # any failure means: match by words only
        log.warning("the packaged sentence model could not be loaded: articles are "
                    "matched by their words only", exc_info=True)
        return None


def query_text(text: str) -> str:
    """The message as embedded: its words without stop words (all of them if nothing is
    left, as bots/text.py `tokens` does)."""
    words = _WORD.findall(text)
    content = [w for w in words if w.casefold() not in STOPWORDS]
    return " ".join(content or words)


def passages(title: str, heading: str, text: str) -> list[str]:
    """What is embedded of one section: the whole, and each paragraph of some length,
    each prefixed with the title and heading that give it its subject."""
    head = ". ".join(p for p in (title, heading) if p)
    out = [f"{head}. {text}" if text else head]
    for line in text.split("\n"):
        if len(line.split()) >= MIN_PARAGRAPH_WORDS:
            out.append(f"{head}. {line.strip()}")
    return out


class MeaningIndex:
    """Passage vectors of the sections the model covers; `similarity` is pure."""

    def __init__(self, model: Embedder, sections: Iterable[tuple[int, str, str, str]]) -> None:
        """`sections`: (position, title, heading, text) of each section to cover."""
        import numpy as np

        texts: list[str] = []
        owners: list[int] = []
        for position, title, heading, text in sections:
            for passage in passages(title, heading, text):
                texts.append(passage)
                owners.append(position)
        self._model = model
        self._vectors = model.embed(texts)
        self._owners = np.asarray(owners, dtype=np.int64)
        self.positions = frozenset(owners)

    def similarity(self, text: str) -> dict[int, float]:
        """Cosine similarity of the message to each covered section (its best passage)."""
        import numpy as np

        if not len(self._owners):
            return {}
        query = self._model.embed([query_text(text)])[0]
        scores = self._vectors @ query
        best = np.full(int(self._owners.max()) + 1, -1.0)
        np.maximum.at(best, self._owners, scores)
        return {p: float(best[p]) for p in self.positions}
