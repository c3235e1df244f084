"""Loading packs: company packs on top of the built-ins, and loud failures with file:line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rules import PackError, load_rules

COMPANY_PACK = """\
language: en
category: dismissive
source: "ACME style guide 2026"
rules:
  - name: unfortunately
    severity: warn
    patterns: ["unfortunately"]
    message: "ACME style: lead with what we can do, not with 'unfortunately'."
    suggestion: "Here is what I can do:"
    examples:
      flag: ["Unfortunately the order is late."]
      pass: ["The order is late, and here is what I can do."]
"""

COMPETITOR_PACK = """\
language: en
category: runaround
source: "ACME legal"
rules:
  - name: competitor
    severity: block
    patterns: ["globex(?: corp)?"]
    message: "Never send customers to a competitor (ACME legal)."
    examples:
      flag: ["You could try Globex Corp instead."]
      pass: ["We ship globally."]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_company_packs_add_rules_on_top_of_builtins(tmp_path: Path) -> None:
    write(tmp_path, "acme-style.yaml", COMPANY_PACK)
    write(tmp_path, "acme-legal.yml", COMPETITOR_PACK)
    builtin = load_rules()
    rules = load_rules([tmp_path])
    assert len(rules.rules) == len(builtin.rules) + 2
    found = {f.rule.id for f in rules.check("Unfortunately, try Globex instead. Calm down.", "en")}
    assert {
        "en.dismissive.unfortunately",
        "en.runaround.competitor",
        "en.dismissive.calm-down",
    } <= found
    assert rules.get("en.runaround.competitor").origin == "custom"  # type: ignore[union-attr]


def test_company_pack_can_replace_a_builtin_rule(tmp_path: Path) -> None:
    softer = (
        COMPANY_PACK.replace("name: unfortunately", "name: calm-down")
        .replace('["unfortunately"]', '["calm down"]')
        .replace("Unfortunately the order is late.", "Calm down.")
    )
    write(tmp_path, "soft.yaml", softer)
    result = load_rules([tmp_path]).check("Calm down.", "en")
    assert [(f.rule.id, f.rule.severity.value) for f in result] == [
        ("en.dismissive.calm-down", "warn")
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (COMPANY_PACK.replace("severity: warn", "severity: loud"), 5, "severity"),
        (COMPANY_PACK.replace('["unfortunately"]', '["unfortunately("]'), 5, "invalid pattern"),
        (COMPANY_PACK.replace("    patterns:", "   patterns:"), 7, "YAML syntax error"),
        (COMPANY_PACK.replace("category: dismissive", "category: rude"), 1, "category"),
        (
            COMPANY_PACK.replace('    patterns: ["unfortunately"]\n', ""),
            5,
            "needs at least one pattern",
        ),
        # a way through the pattern that ends in a space can never match inside a text
        (COMPANY_PACK.replace('["unfortunately"]', '["unfortunately "]'), 5, "ends with a space"),
        (
            COMPANY_PACK.replace('["unfortunately"]', '["(?:sadly|unfortunately ),? we"]'),
            5,
            "",
        ),
        (
            COMPANY_PACK.replace('["unfortunately"]', '["unfortunately,? (?:we |you|it )"]'),
            5,
            "ends with a space",
        ),
        (
            COMPANY_PACK.replace('["unfortunately"]', '["unfortunately (?!not)"]'),
            5,
            "ends with a space",
        ),
    ],
)
def test_broken_pack_fails_loudly_with_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, "broken.yaml", text)
    if not message:  # a space inside a group that more text follows is fine
        assert any(r.id == "en.dismissive.unfortunately" for r in load_rules([tmp_path]).rules)
        return
    with pytest.raises(PackError) as info:
        load_rules([tmp_path])
    assert str(info.value).startswith(f"{path}:{line}:"), str(info.value)
    assert message in str(info.value)


def test_missing_or_empty_rules_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="not a directory"):
        load_rules([tmp_path / "nope"])
    with pytest.raises(PackError, match=r"no \.yaml rule packs"):
        load_rules([tmp_path])


def _coach(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coach.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_cli_uses_coach_rules_dir(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", COMPETITOR_PACK)
    run = _coach(
        "check", "--lang", "en", "Try Globex Corp.", env={"COACH_RULES_DIR": str(tmp_path)}
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "en.runaround.competitor" in run.stdout


def test_cli_reports_a_broken_company_pack(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", COMPANY_PACK.replace("severity: warn", "severity: loud"))
    run = _coach("check", "--lang", "en", "Hello", env={"COACH_RULES_DIR": str(tmp_path)})
    assert run.returncode == 2
    assert f"{path}:5:" in run.stderr


def test_a_match_cut_out_of_a_word_does_not_hide_a_later_one(tmp_path: Path) -> None:
    """(?:maaf|mohon maaf) first matches "mohon maaf" inside "memohon maaf", which starts
    inside a word and is rejected; the search goes on from the next character, so the real
    "maaf" is still found (it used to resume after the rejected match and miss it)."""
    (tmp_path / "ms.yaml").write_text(
        """\
language: ms
category: false_apology
source: "test"
rules:
  - name: maaf-bare
    severity: warn
    patterns: ["(?:mohon maaf|maaf)"]
    message: "A bare apology word, for the engine test."
    examples:
      flag: ["Maaf, itu salah anda."]
      pass: ["Terima kasih."]
""",
        encoding="utf-8",
    )
    rules = load_rules([tmp_path])
    found = [
        f
        for f in rules.check("Saya memohon maaf sekali lagi.", "ms")
        if f.rule.id == "ms.false_apology.maaf-bare"
    ]
    assert [(f.text, f.start) for f in found] == [("maaf", 13)]


def test_builtin_packs_compile_per_language_on_first_use(tmp_path: Path) -> None:
    """`coach check` in one language compiles that pack and the neutral one, not all nine;
    a company pack is compiled at load, so its broken pattern fails there (above)."""
    write(tmp_path, "acme-legal.yml", COMPETITOR_PACK)
    rules = load_rules([tmp_path])
    assert rules.compiled_languages == ()
    assert len(rules.languages) == 9
    found = [f.rule.id for f in rules.check("Calm down, or try Globex instead.", "en")]
    assert "en.dismissive.calm-down" in found and "en.runaround.competitor" in found
    assert rules.compiled_languages == ("en", "neutral")
    assert [f.rule.id for f in rules.check("Rauhoitu nyt.", "fi")] == ["fi.dismissive.rauhoitu"]
    assert rules.compiled_languages == ("en", "fi", "neutral")
    assert rules.get("tr.dismissive.sakin-olun") is not None
    assert "tr" in rules.compiled_languages
    total = rules.compile_all()
    assert set(rules.compiled_languages) == {*rules.languages, "neutral"}
    assert total == len(rules.rules) > 300


SOFTENED_PACK = """\
language: en
category: policy_shield
source: "ACME style guide 2026"
softened_by:
  - "instead"
  - "what i can do"
  - "i can offer"
rules:
  - name: acme-policy
    severity: block
    patterns: ["forbidden by (?:the )?acme (?:code|handbook)"]
    message: "ACME style: say what you can do, not what the policy forbids."
    examples:
      flag: ["That is forbidden by the ACME code."]
      pass: ["The ACME code protects your data."]
"""


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("That is forbidden by the ACME code.", "block"),
        ("That is forbidden by the ACME code, but I can offer a voucher instead.", "warn"),
        ("That is forbidden by the ACME handbook. What I can do is send a new one today.", "warn"),
        # Two sentences on: the offer no longer answers this refusal.
        ("That is forbidden by the ACME code. It is late. I can offer a voucher.", "block"),
        # An offer before the refusal's sentence does not soften it.
        ("I can offer a voucher. That is forbidden by the ACME code.", "block"),
    ],
)
def test_softened_by_turns_a_refusal_with_a_way_forward_into_a_warning(
    tmp_path: Path, text: str, severity: str
) -> None:
    from coach.checker import check

    write(tmp_path, "acme-policy.yaml", SOFTENED_PACK)
    rules = load_rules([tmp_path])
    result = check(text, "en", ruleset=rules, categories={"policy_shield"}, detectors=["rules"])  # type: ignore[arg-type]
    found = [v for v in result.violations if v.rule == "en.policy_shield.acme-policy"]
    assert [v.severity.value for v in found] == [severity]
    assert result.passed is (severity == "warn")
    assert found[0].message.endswith("offers a way forward)") is (severity == "warn")


def test_a_broken_softener_fails_loudly(tmp_path: Path) -> None:
    path = write(tmp_path, "acme.yaml", SOFTENED_PACK.replace('"instead"', '"instead("'))
    with pytest.raises(PackError) as info:
        load_rules([tmp_path])
    assert str(info.value).startswith(f"{path}:1: softened_by: invalid pattern")
    write(tmp_path, "acme.yaml", SOFTENED_PACK.replace('"instead"', '"instead "'))
    with pytest.raises(PackError, match="softened_by: pattern 'instead ' ends with a space"):
        load_rules([tmp_path])


RULE_SOFTENED_PACK = """\
language: en
category: blame
source: "ACME style guide 2026"
rules:
  - name: acme-blame
    severity: block
    patterns: ["you (?:typed|entered) (?:it|the address) wrong"]
    softened_by: ["(?:i|we)(?:'ve| have) (?:already )?(?:corrected|fixed) it"]
    message: "ACME style: fix the address, do not dwell on who typed it."
    examples:
      flag: ["You typed the address wrong."]
      pass: ["The address was typed wrong on our form."]
      soften: ["You entered it wrong, but I've already corrected it for you."]
  - name: acme-other
    severity: block
    patterns: ["your fault"]
    message: "ACME style: fault is not the customer's to carry."
    examples:
      flag: ["That is your fault."]
      pass: ["That is not a fault."]
"""


def test_a_rule_may_have_its_own_softeners(tmp_path: Path) -> None:
    write(tmp_path, "acme-blame.yaml", RULE_SOFTENED_PACK)
    rules = load_rules([tmp_path])
    softened = "You entered it wrong, but I've already corrected it. That is your fault."
    found = {
        f.rule.id: f for f in rules.check(softened, "en") if f.rule.id.startswith("en.blame.acme")
    }
    assert not found["en.blame.acme-blame"].blocking and found["en.blame.acme-blame"].softened
    # The other rule of the pack does not borrow the first one's softeners.
    assert found["en.blame.acme-other"].blocking
    assert [
        f.blocking
        for f in rules.check("You typed it wrong.", "en")
        if f.rule.id == "en.blame.acme-blame"
    ] == [True]


def test_a_broken_rule_softener_names_its_rule_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "acme-blame.yaml",
        RULE_SOFTENED_PACK.replace("corrected|fixed)", "corrected|fixed"),
    )
    with pytest.raises(PackError) as info:
        load_rules([tmp_path])
    assert str(info.value).startswith(
        f"{path}:5: en.blame.acme-blame: softened_by: invalid pattern"
    )
