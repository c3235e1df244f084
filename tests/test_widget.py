"""The <reply-coach> web component in a real browser (Debian's Chromium, headless) against a
real server on 127.0.0.1. Playwright drives it; no browser is ever downloaded.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, running_server  # type: ignore[import-not-found]

from coach.checker import check
from coach.settings import CoachSettings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("COACH_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts")
)


def _browser_or_skip() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("COACH_REQUIRE_BROWSER"):
            pytest.fail(f"COACH_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 900, "height": 900})
    # Loopback only: anything else is refused, so a test can never reach the network.
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith("http://127.0.0.1") else route.abort()
        ),
    )
    tab = context.new_page()
    yield tab
    context.close()


def feedback_rows(db: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select request_id, action, final_text from feedback order by id"
        ).fetchall()


def wait_for(page: Any, condition: Any, timeout: float = 10.0) -> Any:
    """Poll ``condition``; page.wait_for_timeout (not time.sleep) keeps Playwright's event
    loop, and so the loopback-only route handler, running while we wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError("condition not met in time")


def test_underline_suggest_insert_and_feedback(page: Any, tmp_path: Path) -> None:
    db = tmp_path / "coach.db"
    with running_server(CoachSettings(database_url=f"sqlite:///{db}")) as url:
        page.goto(f"{url}/demo")
        page.fill("#reply", "Calm down, I will check the charge today.")
        mark = page.locator('reply-coach mark[data-rule="en.dismissive.calm-down"]')
        mark.wait_for(timeout=10_000)
        assert mark.inner_text().startswith("Calm down")
        mark.focus()  # keyboard users get the explanation too
        tip = mark.locator(".tip")
        assert tip.is_visible() and "calm down" in tip.inner_text().lower()
        assert "Try:" in tip.inner_text()
        assert "problem(s) to fix" in page.locator("reply-coach .verdict").inner_text()

        page.get_by_role("button", name="Suggest a reply").click()
        state = page.locator("reply-coach .state")
        state.wait_for(timeout=15_000)
        wait_for(page, lambda: state.inner_text().startswith("Customer:"))
        suggestion = page.locator("reply-coach .suggestion").inner_text()
        assert suggestion and "Calm down" not in suggestion
        assert check(suggestion, "en").passed
        assert "billing" in state.inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "widget-suggestion.png"), full_page=True)

        page.get_by_role("button", name="Insert the suggestion into the reply").click()
        assert page.input_value("#reply") == suggestion
        rows = wait_for(page, lambda: feedback_rows(db))
        assert [(action, text) for _, action, text in rows] == [("accepted", None)]
        # The inserted text passes, so no blocking underline is left.
        wait_for(page, lambda: "to fix" not in page.locator("reply-coach .verdict").inner_text())
        assert page.locator("reply-coach mark.block").count() == 0
        assert page.locator("reply-coach").get_attribute("data-passed") == "true"


def test_model_findings_are_amber_with_their_reason(page: Any, tmp_path: Path) -> None:
    from test_learned import STRONG  # type: ignore[import-not-found]

    draft = "I have reset the password. " + STRONG["runaround"]
    expected = check(draft, "en", detectors=["model"]).violations
    assert expected, "the learned layer flags the sentence"
    db = tmp_path / "coach.db"
    settings = CoachSettings(database_url=f"sqlite:///{db}", detectors=["model"])
    with running_server(settings) as url:
        page.goto(f"{url}/demo")
        page.fill("#reply", draft)
        mark = page.locator('reply-coach mark[data-source="model"]').first
        mark.wait_for(timeout=10_000)
        assert mark.get_attribute("data-rule") == expected[0].rule
        assert "model" in (mark.get_attribute("class") or "")
        color = mark.evaluate("m => getComputedStyle(m).textDecorationColor")
        assert color == "rgb(199, 119, 0)"  # amber, like a warning
        assert mark.evaluate("m => getComputedStyle(m).textDecorationStyle") == "dotted"
        mark.focus()
        assert "statistical" in mark.locator(".tip").inner_text()


def test_a_short_draft_is_checked_in_the_conversations_language(page: Any, tmp_path: Path) -> None:
    """ "Calmez-vous !" alone is detected as Turkish; the widget sends the customer's message
    with every check, so the draft is checked in French first."""
    db = tmp_path / "coach.db"
    with running_server(CoachSettings(database_url=f"sqlite:///{db}")) as url:
        page.goto(f"{url}/demo")
        page.fill(
            "#customer-message",
            "Vous m'avez facturé deux fois la commande 1182 et personne ne répond. C'est inadmissible.",
        )
        bodies: list[Any] = []
        page.on(
            "request",
            lambda r: bodies.append(r.post_data_json) if r.url.endswith("/v1/check") else None,
        )
        page.fill("#reply", "Du calme.")
        mark = page.locator('reply-coach mark[data-rule="fr.dismissive.calmez-vous"]')
        mark.wait_for(timeout=10_000)
        assert mark.inner_text() == "Du calme"
        sent = wait_for(page, lambda: [b for b in bodies if b and b["text"] == "Du calme."])
        assert sent[-1]["customer_message"].startswith("Vous m'avez facturé")
        assert "language" not in sent[-1]


def test_insert_then_edit_is_edited_and_dismiss_is_rejected(page: Any, tmp_path: Path) -> None:
    db = tmp_path / "coach.db"
    with running_server(CoachSettings(database_url=f"sqlite:///{db}")) as url:
        page.goto(f"{url}/demo")
        page.fill("#reply", "I will look at it.")
        page.get_by_role("button", name="Suggest a reply").click()
        page.locator("reply-coach .state").wait_for(timeout=15_000)
        page.get_by_role("button", name="Insert the suggestion into the reply").click()
        page.locator("#reply").press("End")
        page.locator("#reply").type(" Thanks, Sam")
        final = page.input_value("#reply")
        rows = wait_for(page, lambda: feedback_rows(db))
        assert rows[0][1:] == ("edited", final)

        page.get_by_role("button", name="Suggest a reply").click()
        page.get_by_role("button", name="Dismiss the suggestion").wait_for(
            state="visible", timeout=15_000
        )
        wait_for(
            page, lambda: page.locator("reply-coach .state").inner_text().startswith("Customer:")
        )
        page.get_by_role("button", name="Dismiss the suggestion").click()
        rows = wait_for(page, lambda: len(feedback_rows(db)) == 2 and feedback_rows(db))
        assert rows[1][1] == "rejected"
        assert page.input_value("#reply") == final  # dismissing never touches the draft


def test_errors_are_shown_and_the_draft_is_kept(page: Any, tmp_path: Path) -> None:
    db = tmp_path / "coach.db"
    settings = CoachSettings(database_url=f"sqlite:///{db}", api_keys=["right-key"])
    with running_server(settings) as url:
        page.goto(f"{url}/demo?key=wrong-key")
        page.fill("#reply", "Calm down.")
        status = page.locator("reply-coach .status")
        wait_for(page, lambda: "401" in status.inner_text())
        page.get_by_role("button", name="Suggest a reply").click()
        wait_for(page, lambda: "401" in status.inner_text())
        assert page.input_value("#reply") == "Calm down."

        # The right key works on the same page.
        page.goto(f"{url}/demo?key=right-key")
        page.fill("#reply", "Calm down.")
        page.locator('reply-coach mark[data-rule="en.dismissive.calm-down"]').wait_for(
            timeout=10_000
        )

        # The coach goes away: a clear message, and the draft stays.
        dead = f"http://127.0.0.1:{free_port()}"
        page.evaluate(
            "url => document.querySelector('reply-coach').setAttribute('api-url', url)", dead
        )
        page.fill("#reply", "Calm down, please.")
        wait_for(page, lambda: "cannot be reached" in status.inner_text())
        page.get_by_role("button", name="Suggest a reply").click()
        wait_for(page, lambda: "cannot be reached" in status.inner_text())
        assert page.input_value("#reply") == "Calm down, please."


def test_rate_limited_agents_see_when_to_retry(page: Any, tmp_path: Path) -> None:
    settings = CoachSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}", rate_limit_per_minute=2)
    with running_server(settings) as url:
        page.goto(f"{url}/demo")
        status = page.locator("reply-coach .status")
        for text in ("One.", "Two.", "Three.", "Four."):
            page.fill("#reply", text)
            page.wait_for_timeout(600)
        wait_for(page, lambda: "429" in status.inner_text())
        assert "try again in" in status.inner_text()
        assert page.input_value("#reply") == "Four."


def test_a_slow_coach_times_out_with_a_message(page: Any, tmp_path: Path) -> None:
    from fake_openai_server import Answer, FakeLLM

    with FakeLLM(responder=lambda _r: Answer.reply("I'm sorry about that."), latency=3.0) as llm:
        settings = CoachSettings(
            database_url=f"sqlite:///{tmp_path / 'c.db'}",
            model="openai/slow",
            api_base=llm.base_url,
            api_key="sk",
        )
        with running_server(settings) as url:
            page.goto(f"{url}/demo")
            page.evaluate(
                "() => document.querySelector('reply-coach').setAttribute('timeout-ms', '1000')"
            )
            page.fill("#reply", "Let me check.")
            page.get_by_role("button", name="Suggest a reply").click()
            status = page.locator("reply-coach .status")
            wait_for(page, lambda: "did not answer in time" in status.inner_text())
            assert page.input_value("#reply") == "Let me check."
            assert page.get_by_role("button", name="Suggest a reply").is_enabled()
