"""Loading rule packs from YAML, failing loudly with file and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rules import packcache
from rules.engine import CompiledRule, RuleSet, exception_reach
from rules.lexicon import LEXICON_DIR, load_lexicon
from rules.model import PackFile, RuleKind, RuleSpec
from rules.pattern import LazyRegex, PatternError, compile_alternatives, compile_pattern

BUILTIN_DIR = Path(__file__).parent / "packs"


class PackError(ValueError):
    """A rule pack that cannot be loaded. ``str()`` starts with ``file:line:``."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        super().__init__(f"{path}:{line}: {message}")


# libyaml's parser (C) when PyYAML was built with it: the pure-Python one was most of
# the start-up time of `coach check` with nine packs.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc]
    """A safe loader that records each mapping's line as ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    """Remove ``__line__`` from nested mappings that do not declare it."""
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _parse(path: Path) -> PackFile:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise PackError(path, line, f"YAML syntax error: {exc.problem or exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(path, 0, f"cannot read pack: {exc}") from exc
    if not isinstance(raw, dict):
        raise PackError(path, 1, "a pack must be a mapping with language, category, source, rules")
    for rule in raw.get("rules") or []:
        if isinstance(rule, dict) and isinstance(rule.get("examples"), dict):
            rule["examples"] = _strip_lines(rule["examples"])
        if isinstance(rule, dict) and isinstance(rule.get("capitals"), dict):
            rule["capitals"] = _strip_lines(rule["capitals"])
    try:
        return PackFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        line = raw.get("__line__", 1)
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = raw.get("rules") or []
            if loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
                line = rules[loc[1]].get("__line__", line)
        where = ".".join(str(p) for p in loc)
        raise PackError(path, line, f"{where}: {err['msg']}") from exc


@dataclass(frozen=True)
class _Parsed:
    """A rule read and checked, its regexes not compiled yet (``build`` does that)."""

    id: str
    pack: PackFile
    spec: RuleSpec
    path: Path
    origin: str

    @property
    def language(self) -> str:
        return self.pack.language

    def build(self) -> CompiledRule:
        return _compile_rule(self.pack, self.spec, self.path, self.origin)


def _check_rule(pack: PackFile, spec: RuleSpec, path: Path) -> str:
    """The rule's id, once its fields agree with its kind (no regex compiled)."""
    rule_id = f"{pack.language}.{pack.category.value}.{spec.name}"
    if spec.kind is RuleKind.CAPITALS:
        if spec.patterns:
            raise PackError(path, spec.line, f"{rule_id}: kind capitals takes no patterns")
    elif not spec.patterns:
        raise PackError(path, spec.line, f"{rule_id}: needs at least one pattern")
    if spec.kind is RuleKind.COMMITMENT and not spec.commitment:
        raise PackError(path, spec.line, f"{rule_id}: kind commitment needs a commitment id")
    if spec.kind is RuleKind.SUBSTITUTION and not spec.suggestion:
        raise PackError(path, spec.line, f"{rule_id}: kind substitution needs a suggestion")
    return rule_id


def _compile_rule(pack: PackFile, spec: RuleSpec, path: Path, origin: str) -> CompiledRule:
    rule_id = _check_rule(pack, spec, path)
    lexicon = load_lexicon(pack.language)
    try:
        patterns = tuple(
            part for p in spec.patterns for part in compile_alternatives(p, spec.boundary, lexicon)
        )
        exceptions = tuple(compile_pattern(p, lexicon=lexicon) for p in spec.exceptions)
    except PatternError as exc:
        raise PackError(path, spec.line, f"{rule_id}: {exc}") from exc
    try:
        softeners = tuple(
            compile_pattern(p, boundary=True, lexicon=lexicon) for p in pack.softened_by
        )
    except PatternError as exc:
        raise PackError(path, pack.line, f"softened_by: {exc}") from exc
    try:
        softeners += tuple(
            compile_pattern(p, boundary=True, lexicon=lexicon) for p in spec.softened_by
        )
    except PatternError as exc:
        raise PackError(path, spec.line, f"{rule_id}: softened_by: {exc}") from exc
    return CompiledRule(
        id=rule_id,
        language=pack.language,
        category=pack.category,
        spec=spec,
        patterns=patterns,
        exceptions=exceptions,
        source=spec.source or pack.source,
        origin=origin,
        file=str(path),
        softeners=softeners,
        exception_reach=tuple(exception_reach(x) for x in exceptions),
        softened_passes=pack.when_softened == "pass",
    )


def _cached_rule(parsed: _Parsed, sources: dict[str, Any]) -> CompiledRule:
    """A built-in rule from the pack cache: its regexes compile on first use."""
    pack, spec = parsed.pack, parsed.spec
    return CompiledRule(
        id=parsed.id,
        language=pack.language,
        category=pack.category,
        spec=spec,
        patterns=tuple(LazyRegex(x) for x in sources["patterns"]),
        exceptions=tuple(LazyRegex(x) for x, _ in sources["exceptions"]),
        source=spec.source or pack.source,
        origin=parsed.origin,
        file=str(parsed.path),
        softeners=tuple(LazyRegex(x) for x in sources["softeners"]),
        exception_reach=tuple(reach for _, reach in sources["exceptions"]),
        softened_passes=pack.when_softened == "pass",
    )


def _sources(rule: CompiledRule) -> dict[str, Any]:
    return {
        "patterns": [p.pattern for p in rule.patterns],
        "exceptions": [
            [x.pattern, r] for x, r in zip(rule.exceptions, rule.exception_reach, strict=True)
        ],
        "softeners": [p.pattern for p in rule.softeners],
    }


def _read_pack_file(path: Path, origin: str) -> list[_Parsed]:
    pack = _parse(path)
    folder_language = path.parent.name
    if origin == "builtin" and folder_language != pack.language:
        raise PackError(
            path, pack.line, f"language {pack.language!r} is not its folder's ({folder_language!r})"
        )
    if origin == "builtin" and path.stem != pack.category.value:
        raise PackError(
            path, pack.line, f"file name must be the category ({pack.category.value}.yaml)"
        )
    seen: set[str] = set()
    parsed: list[_Parsed] = []
    for spec in pack.rules:
        if spec.name in seen:
            raise PackError(path, spec.line, f"duplicate rule name {spec.name!r}")
        seen.add(spec.name)
        parsed.append(_Parsed(_check_rule(pack, spec, path), pack, spec, path, origin))
    return parsed


def load_pack_file(path: Path, origin: str = "builtin") -> list[CompiledRule]:
    """One pack file's rules, compiled (any error raises ``PackError`` with file:line)."""
    return [rule.build() for rule in _read_pack_file(path, origin)]


def _pack_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def load_rules(extra_dirs: Iterable[Path | str] = ()) -> RuleSet:
    """Load the built-in packs, then each extra directory's packs on top.

    A custom rule whose id equals a built-in one replaces it (a company can
    tighten or soften a built-in rule); any broken file raises ``PackError``.
    A company's own packs are read and compiled here, so that a broken custom
    pattern fails at start-up. The built-in packs are read (YAML) and compiled per
    language on first use (``RuleSet``): a one-off ``coach check`` in one language
    reads and compiles that pack and the neutral rules only. The tests read and
    compile every built-in pack (``tests/test_rule_fixtures.py``).
    """
    builtin: dict[str, list[Path]] = {}
    for path in _pack_files(BUILTIN_DIR):
        builtin.setdefault(path.parent.name, []).append(path)
    custom: dict[str, CompiledRule] = {}
    for directory in extra_dirs:
        directory = Path(directory)
        if not directory.is_dir():
            raise PackError(directory, 0, "COACH_RULES_DIR is not a directory")
        files = _pack_files(directory)
        if not files:
            raise PackError(directory, 0, "no .yaml rule packs in COACH_RULES_DIR")
        for path in files:
            for rule in load_pack_file(path, "custom"):
                custom[rule.id] = rule
    languages = set(builtin) | {rule.language for rule in custom.values()}
    pending = {
        lang: partial(
            _build_language,
            lang,
            builtin.get(lang, []),
            [r for r in custom.values() if r.language == lang],
        )
        for lang in sorted(languages)
    }
    return RuleSet(pending=pending)


def _build_language(
    language: str, files: list[Path], custom: list[CompiledRule]
) -> list[CompiledRule]:
    """One language's built-in rules (read, checked, compiled), the company's replacing
    those with the same id and adding their own.

    The built-in rules' regex sources come from the pack cache when it holds this exact
    pack (``rules.packcache``), and compile on first use; otherwise they are worked out
    and compiled here, and the cache is written for the next process.
    """
    by_id: dict[str, _Parsed] = {}
    for path in files:
        for parsed in _read_pack_file(path, "builtin"):
            if parsed.id in by_id:
                raise PackError(path, parsed.spec.line, f"rule id {parsed.id} defined twice")
            by_id[parsed.id] = parsed
    merged: dict[str, _Parsed | CompiledRule] = dict(by_id)
    merged.update((rule.id, rule) for rule in custom)
    key = ""
    if files:
        lexicons = sorted(LEXICON_DIR.glob("*")) if LEXICON_DIR.is_dir() else []
        key = f"{language}-{packcache.digest([*files, *lexicons])}"
        cached = packcache.load("sources", key)
        if isinstance(cached, dict) and cached.keys() == by_id.keys():
            return [
                _cached_rule(e, cached[e.id]) if isinstance(e, _Parsed) else e
                for e in merged.values()
            ]
    builtins = {rule.id: rule for rule in _build_all(list(by_id.values()))}
    if key:
        packcache.save("sources", key, {i: _sources(rule) for i, rule in builtins.items()})
    return [builtins[e.id] if isinstance(e, _Parsed) else e for e in merged.values()]


def _build_all(entries: list[_Parsed | CompiledRule]) -> list[CompiledRule]:
    return [e if isinstance(e, CompiledRule) else e.build() for e in entries]
