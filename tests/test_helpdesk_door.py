"""The OpenAI-compatible door with requests built like the real helpdesks' (issue 15).

The request layouts are those of Chatwoot's and Zammad's request builders (read from their
source: Chatwoot's conversation formatter, its role-based reply suggestion, its improve
with <conversation_context>/<draft_message>, its rewrites, summary and label suggestions;
Zammad's text tools and ticket summary). The system prompts are our own words: the coach
must not depend on them. Every request goes through the official ``openai`` SDK, streamed
and not, against a real server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import running_server  # type: ignore[import-not-found]
from fake_openai_server import Answer, FakeLLM
from openai import OpenAI

from api import helpdesk
from api.helpdesk import Message
from coach.checker import check
from coach.facts import customer_echoes
from coach.langdetect import detect
from coach.settings import CoachSettings

KEY = "sk-helpdesk"
LABELS = ("User:", "Support Agent:", "Bot:", "Message History", "Conversation ID", "<draft")

# --- request builders, one per client feature ----------------------------------------


def chatwoot_transcript(*lines: tuple[str, str], channel: str = "Channel::WebWidget") -> str:
    """Chatwoot's conversation formatter: header lines, then one line per message."""
    who = {"customer": "User", "agent": "Support Agent", "bot": "Bot"}
    body = "".join(f"{who[w]}: {text}\n" for w, text in lines)
    return f"Conversation ID: #1182\nChannel: {channel}\nMessage History:\n{body}"


def chatwoot_reply_transcript(*lines: tuple[str, str]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Write the support agent's next message."},
        {"role": "user", "content": chatwoot_transcript(*lines)},
    ]


def chatwoot_reply_roles(*lines: tuple[str, str]) -> list[dict[str, str]]:
    """The older form: incoming messages as user, outgoing as assistant."""
    return [
        {"role": "system", "content": "Suggest a reply for this conversation."},
        *({"role": "user" if w == "customer" else "assistant", "content": t} for w, t in lines),
    ]


def chatwoot_improve(draft: str, *lines: tuple[str, str]) -> list[dict[str, str]]:
    system = (
        "Make the draft better.\n\n<conversation_context>\n"
        f"{chatwoot_transcript(*lines)}</conversation_context>\n\n"
        f"<draft_message>\n{draft}\n</draft_message>\n\nReturn only the message."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": draft}]


def chatwoot_rewrite(text: str) -> list[dict[str, str]]:
    """A tone rewrite (and grammar, shorten, expand...): system + the agent's text."""
    return [
        {"role": "system", "content": "Rewrite this in a friendlier tone."},
        {"role": "user", "content": text},
    ]


def chatwoot_legacy_lines(*lines: tuple[str, str]) -> str:
    """Chatwoot's string transcript: 'Customer NAME : text' / 'Agent NAME : text' lines."""
    who = {"customer": "Customer Ana Costa", "agent": "Agent Rui"}
    return "".join(f"{who[w]} : {text}\n" for w, text in lines)


def chatwoot_summary(*lines: tuple[str, str]) -> list[dict[str, str]]:
    """The summary: the string transcript alone."""
    return [
        {"role": "system", "content": "Summarise this conversation in bullet points."},
        {"role": "user", "content": chatwoot_legacy_lines(*lines)},
    ]


def chatwoot_labels(*lines: tuple[str, str]) -> list[dict[str, str]]:
    """Label suggestions: the string transcript, then the account's labels."""
    body = chatwoot_legacy_lines(*lines)
    return [
        {"role": "system", "content": "Pick labels."},
        {"role": "user", "content": f"Messages:\n{body}\nLabels:\nbilling, refund, delivery"},
    ]


def zammad_text_tool(html: str) -> list[dict[str, str]]:
    """Zammad's text tools: a system message and the agent's text as HTML paragraphs."""
    return [
        {"role": "system", "content": "Improve the writing of the text."},
        {"role": "user", "content": html},
    ]


def zammad_summary(title: str, *articles: tuple[str, str]) -> list[dict[str, str]]:
    body = f"<title>{title}</title>\n" + "".join(
        f"<article>\n  <sender_type>{sender}</sender_type>\n  <sender_name>X</sender_name>\n"
        f"  <created_at>2026-11-30 10:00:00 UTC</created_at>\n  <visibility>public</visibility>\n"
        f"  <text>{text}</text>\n</article>\n"
        for sender, text in articles
    )
    return [
        {"role": "system", "content": "Summarise the ticket as JSON."},
        {"role": "user", "content": body},
    ]


EN_CONVERSATION = (
    ("customer", "Hello, you charged my card twice for order 1182."),
    ("agent", "Thanks for telling us, I am checking it now."),
    ("customer", "It's been two weeks. This is ridiculous, I want my money back NOW."),
)
FI_CONVERSATION = (
    ("customer", "Hei, veloititte tilauksesta 1182 kahdesti."),
    ("agent", "Kiitos viestistä, tarkistan asian."),
    ("customer", "Siitä on jo kaksi viikkoa. Tämä on naurettavaa, haluan rahani takaisin heti."),
)


# --- the reading, without a server ------------------------------------------------------


def _read(messages: list[dict[str, str]]) -> helpdesk.Reading:
    return helpdesk.read([Message(m["role"], m["content"]) for m in messages])


@pytest.mark.parametrize(
    ("messages", "kind", "layout"),
    [
        (chatwoot_reply_transcript(*EN_CONVERSATION), "reply", "chatwoot-transcript"),
        (chatwoot_reply_roles(*EN_CONVERSATION), "reply", "roles"),
        (chatwoot_improve("Calm down.", *EN_CONVERSATION), "improve", "draft-blocks"),
        (chatwoot_rewrite("Calm down, it's fine."), "improve", "single-text"),
        (chatwoot_summary(*EN_CONVERSATION), "other", "legacy-transcript"),
        (chatwoot_labels(*EN_CONVERSATION), "other", "legacy-transcript"),
        (zammad_text_tool("<p>Calm down.</p>"), "improve", "single-text"),
        (
            zammad_summary("Double charge", ("Customer", "Charged twice.")),
            "other",
            "zammad-articles",
        ),
        (chatwoot_reply_transcript(*EN_CONVERSATION[:2]), "other", "chatwoot-transcript"),
        (chatwoot_reply_roles(*EN_CONVERSATION[:2]), "other", "roles"),
    ],
)
def test_each_layout_is_read_by_its_structure(
    messages: list[dict[str, str]], kind: str, layout: str
) -> None:
    reading = _read(messages)
    assert (reading.kind, reading.layout) == (kind, layout)


def test_a_last_user_turn_in_an_agents_words_is_the_draft() -> None:
    messages = [
        Message("user", "My router has been down for three days!"),
        Message("assistant", "We are looking into it."),
        Message("user", "Calm down, a technician visits on Friday."),
    ]
    reading = helpdesk.read(messages, lambda text: text.startswith("Calm"))
    assert (reading.kind, reading.draft) == ("improve", "Calm down, a technician visits on Friday.")
    assert [w for w, _ in reading.turns] == ["customer", "agent"]
    assert helpdesk.read(messages).kind == "reply"  # nothing says an agent wrote it


def test_the_transcript_gives_turns_channel_and_no_labels() -> None:
    reading = _read(
        [
            {"role": "system", "content": "x"},
            {
                "role": "user",
                "content": chatwoot_transcript(*EN_CONVERSATION, channel="Channel::Email"),
            },
        ]
    )
    assert reading.channel == "email"
    assert [w for w, _ in reading.turns] == ["customer", "agent", "customer"]
    assert reading.turns[-1][1] == EN_CONVERSATION[-1][1]
    improve = _read(chatwoot_improve("Calm down.", *EN_CONVERSATION))
    assert improve.draft == "Calm down." and len(improve.turns) == 3


def test_html_text_loses_tags_and_signature() -> None:
    html = (
        "<p>Calm down, it&#39;s fine.</p><p>Your order ships Monday.</p>"
        '<div data-signature="true"><p>Rui, Acme</p></div>'
    )
    assert helpdesk.plain_text(html) == "Calm down, it's fine.\nYour order ships Monday."


# --- over HTTP, the rules coach (no model) -----------------------------------------------


@pytest.fixture(scope="module")
def rules_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("door") / "coach.db"
    with running_server(CoachSettings(database_url=f"sqlite:///{db}", api_keys=[KEY])) as url:
        yield url


def ask(url: str, messages: list[dict[str, str]], *, stream: bool) -> str:
    client = OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    if stream:
        pieces = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            stream=True,  # type: ignore[arg-type]
        )
        return "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
    return completion.choices[0].message.content or ""


def assert_a_proper_reply(reply: str, conversation: tuple[tuple[str, str], ...], lang: str) -> None:
    customer = [t for w, t in conversation if w == "customer"]
    assert reply.strip()
    assert not any(label in reply for label in LABELS), reply
    assert customer_echoes(reply, customer) == [], reply
    assert check(reply, lang).passed, reply
    assert detect(reply).language == lang, reply
    assert "1182" in reply, reply  # the customer's order number is cited


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("build", "conversation", "lang"),
    [
        (chatwoot_reply_transcript, EN_CONVERSATION, "en"),
        (chatwoot_reply_roles, EN_CONVERSATION, "en"),
        (chatwoot_reply_transcript, FI_CONVERSATION, "fi"),
        (chatwoot_reply_roles, FI_CONVERSATION, "fi"),
    ],
)
def test_a_reply_suggestion_answers_the_customer_in_their_words_language(
    rules_url: str, build, conversation, lang: str, stream: bool
) -> None:
    reply = ask(rules_url, build(*conversation), stream=stream)
    assert_a_proper_reply(reply, conversation, lang)
    # it answers the last message: an upset customer gets an apology
    assert any(w in reply.lower() for w in ("sorry", "apolog", "pahoittel")), reply


@pytest.mark.parametrize("stream", [False, True])
def test_improve_uses_the_conversation_the_system_prompt_carried(
    rules_url: str, stream: bool
) -> None:
    draft = "Calm down, that's not our policy. You should have read the terms."
    reply = ask(rules_url, chatwoot_improve(draft, *EN_CONVERSATION), stream=stream)
    assert_a_proper_reply(reply, EN_CONVERSATION, "en")
    assert "Calm down" not in reply and "not our policy" not in reply
    assert "should have read" not in reply


def test_improve_in_finnish(rules_url: str) -> None:
    draft = "Rauhoittukaa nyt. Se ei ole meidän käytäntömme."
    reply = ask(rules_url, chatwoot_improve(draft, *FI_CONVERSATION), stream=False)
    assert_a_proper_reply(reply, FI_CONVERSATION, "fi")
    assert "Rauhoittukaa" not in reply and "käytäntömme" not in reply


@pytest.mark.parametrize(
    "messages",
    [
        chatwoot_rewrite("Calm down, that's not our policy. Your refund of 40 EUR left today."),
        zammad_text_tool(
            "<p>Calm down, that's not our policy.</p><p>Your refund of 40 EUR left today.</p>"
        ),
    ],
)
def test_a_text_tool_gets_the_draft_back_without_what_breaks_the_rules(
    rules_url: str, messages: list[dict[str, str]]
) -> None:
    reply = ask(rules_url, messages, stream=False)
    assert reply == "Your refund of 40 EUR left today."


@pytest.mark.parametrize(
    "messages",
    [
        chatwoot_summary(*EN_CONVERSATION),
        chatwoot_labels(*EN_CONVERSATION),
        zammad_summary("Double charge", ("Customer", "Charged twice."), ("Agent", "Checking.")),
    ],
)
def test_other_requests_without_a_model_get_a_clear_422(
    rules_url: str, messages: list[dict[str, str]]
) -> None:
    response = httpx.post(
        f"{rules_url}/v1/chat/completions",
        json={"model": "m", "messages": messages},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_request"
    assert "writes and improves" in error["message"] and "COACH_MODEL" in error["message"]


# --- with a model: other requests pass through, checked ----------------------------------


def _model_settings(tmp_path: Path, fake: FakeLLM, **extra: object) -> CoachSettings:
    return CoachSettings(
        database_url=f"sqlite:///{tmp_path / 'coach.db'}",
        api_keys=[KEY],
        model="openai/helpdesk-model",
        api_base=fake.base_url,
        api_key="sk-test",
        max_retries=0,
        review_drafts=False,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("stream", [False, True])
def test_a_summary_passes_through_to_the_model_unchanged(
    tmp_path: Path, fake_llm: FakeLLM, stream: bool
) -> None:
    summary = "- The customer was charged twice for order 1182.\n- The agent is checking it."
    fake_llm.responder = lambda r: Answer(summary)
    messages = zammad_summary("Double charge", ("Customer", "Charged twice."), ("Agent", "Ok."))
    with running_server(_model_settings(tmp_path, fake_llm)) as url:
        answer = ask(url, messages, stream=stream)
    assert answer.replace("\n", " ").split() == summary.replace("\n", " ").split()
    sent = fake_llm.requests[-1]
    assert sent.messages == messages  # unchanged
    assert "response_format" not in sent.body  # plain text, as the client asked


def test_a_passed_through_answer_that_breaks_a_rule_is_repaired(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.responder = lambda r: Answer(
        "The customer should calm down. The charge on order 1182 is being checked."
    )
    with running_server(_model_settings(tmp_path, fake_llm)) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "m", "messages": chatwoot_summary(*EN_CONVERSATION)},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["choices"][0]["message"]["content"] == (
        "The charge on order 1182 is being checked."
    )
    assert data["coach"]["degraded"] is True


def test_passthrough_off_refuses_other_requests(tmp_path: Path, fake_llm: FakeLLM) -> None:
    with running_server(_model_settings(tmp_path, fake_llm, passthrough=False)) as url:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "m", "messages": chatwoot_summary(*EN_CONVERSATION)},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
    assert response.status_code == 422
    assert "COACH_PASSTHROUGH is off" in response.json()["error"]["message"]
    assert not fake_llm.requests


def test_a_model_reply_that_repeats_the_customer_is_asked_again(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    echoed = Answer.reply(
        "You said: It's been two weeks. This is ridiculous, I want my money back NOW. "
        "I am sorry, I am checking order 1182 now."
    )
    clean = Answer.reply("I am sorry for the wait. I am checking the charge on order 1182 now.")
    fake_llm.script("helpdesk-model", [echoed, clean])
    with running_server(_model_settings(tmp_path, fake_llm)) as url:
        reply = ask(url, chatwoot_reply_transcript(*EN_CONVERSATION), stream=False)
    assert reply == "I am sorry for the wait. I am checking the charge on order 1182 now."
    asked_again = fake_llm.requests_for("helpdesk-model")
    assert len(asked_again) == 2
    assert "customer" in asked_again[1].messages[-1]["content"].lower()
