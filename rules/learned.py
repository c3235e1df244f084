"""The learned layer: a linear sentence classifier over character n-grams (``source: "model"``).

What the rules miss is mostly paraphrase, so a statistical detector scores each
sentence of a text for the nine categories. It is deliberately small and offline:

* **Features** come from the text itself (no downloaded weights, no embeddings):
  character 2- to 5-grams of the folded sentence, padded with a space, hashed into
  ``2**BITS`` buckets with a fixed 64-bit polynomial hash (the same in every process
  and on every machine), counted and scaled by 1 / sqrt(the sentence's n-grams).
* **Weights** are one logistic regression per category (``evals/train.py``,
  ``make train``) trained on the corpus's train split and the packs' examples, stored
  as plain arrays in ``rules/model/detector.npz`` (never a pickle: ``np.load`` runs
  with ``allow_pickle=False``), with the hash of the data they were trained on.
* **Thresholds** per language and category were chosen on held-out predictions
  (never the test split): above ``warn`` a sentence gets a ``warn`` finding; above
  ``block`` (only where held-out precision was at least 99%) a ``block``.

Scoring needs only numpy: the n-grams of all sentences are hashed in one vectorized
pass, in text order, and their weight rows summed per sentence with ``np.add.reduceat``
(no sort, no counting of repeats).
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
_LENGTHS = np.arange(N_RANGE[0], N_RANGE[-1] + 1, dtype=np.uint64)
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
    """Bucket of every n-gram lying inside one sentence, and that sentence's index, in text
    order (position, then length): the owners never decrease, so no sort is needed."""
    codes, spans = feature_text(sentences)
    length = len(codes)
    if not spans or length < N_RANGE[0]:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths = np.array([end - start for start, end in spans], dtype=np.int64)
    owner_all = np.repeat(np.arange(len(spans)), lengths)
    # characters left in the sentence from each position
    room = np.repeat(np.cumsum(lengths), lengths) - np.arange(length, dtype=np.int64)
    # one row per position, one column per n-gram length; rows too near the end stay 0 and
    # are masked out below with the n-grams that would cross into the next sentence
    hashes = np.zeros((length, len(_LENGTHS)), dtype=np.uint64)
    with np.errstate(over="ignore"):
        # h_n(i) = h_(n-1)(i) * P + c[i + n - 1]: each length costs one multiply-add
        h = codes
        for n in range(2, N_RANGE[-1] + 1):
            count = length - n + 1
            if count <= 0:
                break
            h = h[:count] * _PRIME + codes[n - 1 : n - 1 + count]
            if n >= N_RANGE[0]:
                hashes[:count, n - N_RANGE[0]] = h
        mixed = ((hashes + _LENGTHS) * _MIX) >> _SHIFT
    inside = room[:, None] >= _LENGTHS.astype(np.int64)
    owners = np.broadcast_to(owner_all[:, None], hashes.shape)[inside]
    return mixed[inside].astype(np.int64), owners


def sentence_features(sentences: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse rows, one per sentence, one entry per n-gram occurrence: (row, bucket, value),
    rows in order. Each occurrence weighs 1 / sqrt(n), n the sentence's number of n-grams,
    so a sentence's vector (repeats summed, as a sparse matrix does) has raw counts scaled
    by its length; n-grams rarely repeat within a sentence, so it is close to unit length."""
    buckets, owners = hashed_ngrams(sentences)
    counts = np.bincount(owners, minlength=len(sentences))
    scale = np.zeros(len(sentences), dtype=np.float32)
    np.divide(1.0, np.sqrt(counts), out=scale, where=counts > 0)
    return owners, buckets, scale[owners]


def probabilities(weights: np.ndarray, bias: np.ndarray, sentences: list[str]) -> np.ndarray:
    """Each sentence's probability per category under ``weights`` (buckets x categories),
    in the weights' precision: the checker's model and training's held-out scores."""
    out = np.zeros((len(sentences), len(CATEGORIES)), dtype=weights.dtype)
    buckets, owners = hashed_ngrams(sentences)
    if len(owners):
        # owners come in order: one sum of weight rows per sentence, then its 1 / sqrt(n)
        counts = np.bincount(owners, minlength=len(sentences))
        present = np.flatnonzero(counts)
        starts = (np.cumsum(counts) - counts)[present]
        # np.take gathers the rows several times faster than weights[buckets]
        sums = np.add.reduceat(np.take(weights, buckets, axis=0), starts, axis=0)
        out[present] = sums / np.sqrt(counts[present]).astype(weights.dtype)[:, None]
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
