"""What compiling a built-in pack works out once, kept on disk for the next process.

Turning a language's ~1,000 pack patterns into regexes (expanding ``<lemma>`` forms
and word classes, folding, splitting alternatives) takes 0.3-0.45 s, and choosing each
regex's anchors for the prefilter (``rules/prefilter.py``) another 0.3-0.4 s. Neither
changes until a pack, a lexicon or this code changes, so a one-off ``coach check`` reads
them from a JSON file instead: the regexes are then compiled only when the prefilter
names them for a text (``LazyRegex``).

The files live in ``$XDG_CACHE_HOME/reply-coach`` (``~/.cache/reply-coach``), or in
``COACH_CACHE_DIR`` when it is set; ``COACH_CACHE_DIR=off`` turns the cache off. A file's
name carries a hash of everything it was computed from (the language's pack and lexicon
files, the code that computes it, the Python version), so a changed pack is never read
from a stale file: it is recomputed and a new file written. A cache that cannot be read
or written is skipped silently; results are the same with or without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_CODE = ("pattern.py", "lexicon.py", "prefilter.py", "normalize.py", "packcache.py", "loader.py")
_FORMAT = 2


def cache_dir() -> Path | None:
    setting = os.environ.get("COACH_CACHE_DIR", "").strip()
    if setting.lower() == "off":
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "reply-coach"


def digest(files: Iterable[Path], *extra: str) -> str:
    """A hash of these files' bytes, the rules code and ``extra``."""
    h = hashlib.sha256(f"{_FORMAT}:{sys.version_info[:2]}".encode())
    here = Path(__file__).parent
    for path in (*(here / name for name in _CODE), *files):
        h.update(path.name.encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<missing>")
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()[:24]


def load(kind: str, key: str) -> Any | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        return json.loads((folder / f"{kind}-{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def save(kind: str, key: str, data: Any) -> None:
    """Write atomically (another process may read the file at the same time)."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{kind}-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, folder / f"{kind}-{key}.json")
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
