"""The rules over 500 real agent replies (IBM Twitter customer care, Apache-2.0).

Most of these replies are fine; a block here is a false positive to fix.
"""

from __future__ import annotations

import pytest

from evals.real_replies import DEFAULT_PATH, ScanReport, agent_replies, scan


@pytest.fixture(scope="module")
def report() -> ScanReport:
    """The rules alone."""
    return scan(agent_replies(DEFAULT_PATH), detectors=["rules"])


@pytest.fixture(scope="module")
def with_model() -> ScanReport:
    """The rules and the learned layer (the default)."""
    return scan(agent_replies(DEFAULT_PATH), detectors=["rules", "model"])


def test_the_learned_layer_keeps_real_replies_quiet(with_model: ScanReport) -> None:
    # issue 13: <= 1% blocked and <= 5% with any finding on the 500 real replies
    assert with_model.blocked <= 5, with_model.blocks_by_rule
    assert with_model.blocked + with_model.warned_only <= 25, with_model.warns_by_rule


def test_all_500_replies_are_checked_as_english(report: ScanReport) -> None:
    assert report.total == 500
    assert report.languages["en"] >= 495


def test_no_real_reply_is_blocked(report: ScanReport) -> None:
    assert report.blocked == 0, report.blocks_by_rule


def test_warnings_stay_rare_and_are_the_expected_ones(report: ScanReport) -> None:
    # 'I'm sorry, but we're unable to ...' is the one pattern real agents use that the
    # guides advise against (the apology cancelled by 'but'); a menu label in capitals
    # ("... > I STILL NEED HELP") reads as a shouted word.
    assert report.warned_only <= 10
    assert set(report.warns_by_rule) <= {
        "en.false_apology.sorry-but",
        "en.runaround.see-faq",
        "neutral.hostile.shouted-word",
    }
    assert report.warns_by_rule.get("neutral.hostile.shouted-word", 0) <= 1
