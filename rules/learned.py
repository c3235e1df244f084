"""The learned layer: a linear sentence classifier over character n-grams (``source: "model"``).

What the rules miss is mostly paraphrase, so a statistical detector scores each
sentence of a text for the nine categories. It is deliberately small and offline:

* **Features** come from the text itself (no downloaded weights, no embeddings):
  character 2- to 5-grams of the folded sentence, padded with a space, hashed into
  ``2**BITS`` buckets with a fixed 64-bit polynomial hash (the same in every process
  and on every machine), counted sublinearly (1 + log tf) and L2-normalized.
* **Weights** are one logistic regression per category (``evals/train.py``,
  ``make train``) trained on the corpus's train split and the packs' examples, stored
  as plain arrays in ``rules/model/detector.npz`` (never a pickle: ``np.load`` runs
  with ``allow_pickle=False``), with the hash of the data they were trained on.
* **Thresholds** per language and category were chosen on held-out predictions
  (never the test split): above ``warn`` a sentence gets a ``warn`` finding; above
  ``block`` (only where held-out precision was at least 99%) a ``block``.

Scoring needs only numpy: the n-grams of all sentences are hashed in one vectorized
pass and summed per sentence with ``np.add.reduceat``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from rules.model import Category
from rules.normalize import fold_string

MODEL_PATH = Path(__file__).parent / "model" / "detector.npz"
BITS = 18
N_RANGE = (2, 3, 4, 5)
CATEGORIES: tuple[Category, ...] = tuple(Category)
_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - BITS)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
# Shorter sentences ("Hi there.", "Thanks!") carry too few n-grams to score: their few
# features get all the weight after normalization. The rules cover short phrases.
MIN_WORDS = 4


def scorable(sentence: str) -> bool:
    return len(_WORD.findall(sentence)) >= MIN_WORDS


def feature_text(sentences: list[str]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Code points of `` s1  s2 ...`` (each sentence folded and padded) and each one's span."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    # One fold for all sentences (folding maps character by character), split back on NUL
    folded = fold_string("\0".join(sentences)).split("\0")
    if len(folded) != len(sentences):  # a sentence held a NUL of its own
        folded = [fold_string(sentence) for sentence in sentences]
    for sentence in folded:
        piece = " " + " ".join(sentence.split()) + " "
        parts.append(piece)
        spans.append((pos, pos + len(piece)))
        pos += len(piece)
    joined = "".join(parts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return codes, spans


def hashed_ngrams(sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Bucket of every n-gram lying inside one sentence, and that sentence's index."""
    codes, spans = feature_text(sentences)
    length = len(codes)
    if not spans or length < N_RANGE[0]:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ends = np.array([e for _, e in spans], dtype=np.int64)
    positions = np.arange(length, dtype=np.int64)
    owner_all = np.searchsorted(ends, positions, side="right")
    room = ends[owner_all] - positions  # characters left in the sentence from each position
    buckets: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    with np.errstate(over="ignore"):
        # h_n(i) = h_(n-1)(i) * P + c[i + n - 1]: each length costs one multiply-add
        h = codes.copy()
        for n in range(2, N_RANGE[-1] + 1):
            count = length - n + 1
            if count <= 0:
                break
            h = h[:count] * _PRIME + codes[n - 1 : n - 1 + count]
            if n < N_RANGE[0]:
                continue
            inside = room[:count] >= n
            mixed = (h[inside] + np.uint64(n)) * _MIX
            buckets.append((mixed >> _SHIFT).astype(np.int64))
            owners.append(owner_all[:count][inside])
    return np.concatenate(buckets), np.concatenate(owners)


def sentence_features(sentences: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse rows, one per sentence: (row, bucket, value), values 1 + log tf, L2-normalized."""
    buckets, owners = hashed_ngrams(sentences)
    if not len(buckets):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    keys = np.sort(owners << BITS | buckets, kind="stable")
    # np.unique(keys, return_counts=True), without its quicksort: the keys come in runs
    # (one per n-gram length, sentences in order) that a stable sort merges in about half the time
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    unique = keys[starts]
    counts = np.diff(starts, append=len(keys))
    rows = unique >> BITS
    cols = unique & ((1 << BITS) - 1)
    values = (1.0 + np.log(counts)).astype(np.float32)
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(sentences)))
    values = values / norms[rows].astype(np.float32)
    return rows, cols, values


def probabilities(weights: np.ndarray, bias: np.ndarray, sentences: list[str]) -> np.ndarray:
    """Each sentence's probability per category under ``weights`` (buckets x categories),
    in the weights' precision: the checker's model and training's held-out scores."""
    out = np.zeros((len(sentences), len(CATEGORIES)), dtype=weights.dtype)
    rows, cols, values = sentence_features(sentences)
    if len(rows):
        # rows are sorted (sentence_features sorts by sentence): one sum per sentence
        counts = np.bincount(rows)
        present = np.flatnonzero(counts)
        starts = (np.cumsum(counts) - counts)[present]
        # np.take gathers the rows several times faster than weights[cols]
        gathered = np.take(weights, cols, axis=0)
        gathered *= values[:, None]
        out[present] = np.add.reduceat(gathered, starts, axis=0)
    out += bias
    result: np.ndarray = 1.0 / (1.0 + np.exp(-out))
    return result


@dataclass(frozen=True)
class LearnedModel:
    weights: np.ndarray  # (2**BITS, categories) float32
    bias: np.ndarray  # (categories,)
    languages: tuple[str, ...]
    warn: np.ndarray  # (languages, categories): probability thresholds; > 1 means never
    block: np.ndarray  # (languages, categories)
    data_hash: str

    def scores(self, sentences: list[str]) -> np.ndarray:
        """Probabilities, one row per sentence, one column per category."""
        return probabilities(self.weights, self.bias, sentences)

    def thresholds(self, language: str) -> tuple[np.ndarray, np.ndarray] | None:
        if language not in self.languages:
            return None
        i = self.languages.index(language)
        return self.warn[i], self.block[i]


@cache
def load_model(path: Path = MODEL_PATH) -> LearnedModel | None:
    """The trained detector, or None when no weights file ships."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        if int(data["bits"]) != BITS:
            raise ValueError(
                f"{path}: trained with {int(data['bits'])} bits, this code uses {BITS}"
            )
        weights = np.zeros((1 << BITS, len(CATEGORIES)), dtype=np.float32)
        weights[data["rows"]] = data["values"]
        return LearnedModel(
            weights=weights,
            bias=data["bias"].astype(np.float32),
            languages=tuple(str(x) for x in data["languages"]),
            warn=data["warn"].astype(np.float32),
            block=data["block"].astype(np.float32),
            data_hash=str(data["data_hash"]),
        )
