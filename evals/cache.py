"""A gateway that remembers model answers on disk, so a re-run is reproducible and free.

The key is a SHA-256 of the model, the temperature and the exact messages; the
value is the raw answer. Errors are not cached (a re-run retries them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from coach.gateway import Deadline, Gateway, Message


class CachingGateway(Gateway):
    def __init__(self, cache_dir: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cache_dir = cache_dir
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def _key(self, model: str, messages: Sequence[Message]) -> Path:
        blob = json.dumps(
            {"model": model, "temperature": self.temperature, "messages": list(messages)},
            sort_keys=True,
            ensure_ascii=False,
        )
        digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.json"

    async def complete(
        self, model: str, messages: Sequence[Message], deadline: Deadline, *, json_mode: bool = True
    ) -> str:
        path = self._key(model, messages) if json_mode else None
        if path is None:  # plain-text answers (a passed-through request) are not cached
            return await super().complete(model, messages, deadline, json_mode=False)
        if path.is_file():
            self.hits += 1
            cached: str = json.loads(path.read_text(encoding="utf-8"))["content"]
            return cached
        self.misses += 1
        content = await super().complete(model, messages, deadline)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"model": model, "content": content}, ensure_ascii=False), encoding="utf-8"
        )
        tmp.replace(path)
        return content
