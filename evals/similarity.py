"""Similarity of a reply to the reference reply, with an embedding model that ships inside
a package on the index (wordllama's l2_supercat weights are in its wheel): offline, no download.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_model: Any = None


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            import wordllama
            from wordllama import WordLlama

            package = Path(wordllama.__file__).parent
            # The weights and the tokenizer config are in the package: never download.
            _model = WordLlama.load(cache_dir=package, disable_download=True)
    return _model


def similarity(a: str, b: str) -> float:
    """Cosine similarity of the two texts' embeddings, 0..1 (rounded)."""
    if not a.strip() or not b.strip():
        return 0.0
    value = float(_load().similarity(a, b))
    return round(max(0.0, min(1.0, value)), 4)
