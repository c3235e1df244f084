"""The OpenAI-compatible door, driven by the official openai SDK and by Zammad's request shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conftest import running_server  # type: ignore[import-not-found]
from openai import OpenAI

from coach.checker import check
from coach.settings import CoachSettings

KEY = "sk-helpdesk"


@pytest.fixture
def secured_url(db_url: str) -> Iterator[str]:
    with running_server(CoachSettings(database_url=db_url, api_keys=[KEY])) as url:
        yield url


def test_the_openai_sdk_works_unchanged(secured_url: str) -> None:
    """Customer turns as user, agent turns as assistant (a reply suggestion): the reply
    answers the customer's last message and never repeats it."""
    client = OpenAI(base_url=f"{secured_url}/v1", api_key=KEY)
    last = "It's been two weeks. This is ridiculous, I want my money back NOW."
    completion = client.chat.completions.create(
        model="whatever-the-admin-typed",
        messages=[
            {"role": "system", "content": "You improve support replies."},
            {"role": "user", "content": "My router has been down for three days!"},
            {"role": "assistant", "content": "We are looking into it."},
            {"role": "user", "content": last},
        ],
    )
    reply = completion.choices[0].message.content
    assert reply and "money back NOW" not in reply and "ridiculous" not in reply
    assert "sorry" in reply.lower()
    assert check(reply, "en").passed
    assert completion.model == "whatever-the-admin-typed"
    assert completion.id.startswith("chatcmpl-")


def test_the_contracts_reading_the_last_user_message_is_the_draft(secured_url: str) -> None:
    """CONTRACT.md: the last user message is the text to improve, earlier messages the
    conversation. A last turn in an agent's words (a rule finding only an agent's text
    has, or an agent's action) is read as the draft."""
    client = OpenAI(base_url=f"{secured_url}/v1", api_key=KEY)
    completion = client.chat.completions.create(
        model="whatever-the-admin-typed",
        messages=[
            {"role": "system", "content": "You improve support replies."},
            {
                "role": "user",
                "content": "My router has been down for three days and nobody calls back!",
            },
            {"role": "assistant", "content": "We are looking into it."},
            {
                "role": "user",
                "content": "Calm down, there's nothing I can do. A technician visits on Friday.",
            },
        ],
    )
    reply = completion.choices[0].message.content
    assert reply and "Calm down" not in reply and "nothing I can do" not in reply
    assert "A technician visits on Friday." in reply
    assert check(reply, "en").passed


def test_two_user_messages_customer_then_draft_stream(secured_url: str) -> None:
    client = OpenAI(base_url=f"{secured_url}/v1", api_key=KEY)
    stream = client.chat.completions.create(
        model="coach",
        messages=[
            {"role": "user", "content": "Faturamda yine fazla ücret var!"},
            {"role": "user", "content": "Sakin olun. Faturanızı kontrol ediyorum."},
        ],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "Sakin olun" not in text and "Faturanızı kontrol ediyorum." in text
    assert check(text, "tr").passed


def test_the_openai_sdk_streams(secured_url: str) -> None:
    client = OpenAI(base_url=f"{secured_url}/v1", api_key=KEY)
    draft = "Sakin olun. Faturanızı kontrol ediyorum."
    stream = client.chat.completions.create(
        model="coach",
        messages=[
            {
                "role": "system",
                "content": "<conversation_context>\nMessage History:\nUser: Faturamda yine "
                "fazla ücret var!\n</conversation_context>\n<draft_message>\n"
                f"{draft}\n</draft_message>",
            },
            {"role": "user", "content": draft},
        ],
        stream=True,
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    text = "".join(pieces)
    assert len([p for p in pieces if p]) >= 3
    assert "Sakin olun" not in text and "Faturanızı kontrol ediyorum." in text
    assert check(text, "tr").passed


def test_a_wrong_key_is_an_openai_style_authentication_error(secured_url: str) -> None:
    import openai

    client = OpenAI(base_url=f"{secured_url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert "API key" in str(caught.value)


def test_zammads_exact_request_shape(secured_url: str) -> None:
    """Zammad's "Custom (OpenAI Compatible)" provider: one system message, one user message."""
    body = {
        "model": "zammad-default",
        "messages": [
            {
                "role": "system",
                "content": "Improve the following text. Keep the language of the text. Return only the improved text.",
            },
            {
                "role": "user",
                "content": "That's not our policy. You should have read the terms. Your order ships Monday.",
            },
        ],
        "stream": False,
        "temperature": 0.1,
    }
    response = httpx.post(
        f"{secured_url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    reply = data["choices"][0]["message"]["content"]
    assert data["object"] == "chat.completion" and data["choices"][0]["finish_reason"] == "stop"
    assert reply == "Your order ships Monday."  # repaired, nothing added: a text tool
    assert "not our policy" not in reply and "should have read" not in reply
    assert check(reply, "en").passed
    assert data["coach"]["draft_passed"] is False
    # The suggestion is stored: feedback on it works with the id in the completion.
    feedback = httpx.post(
        f"{secured_url}/v1/feedback",
        json={"request_id": data["coach"]["request_id"], "action": "accepted"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert feedback.status_code == 201


def test_a_conversation_without_user_text_is_a_422(secured_url: str) -> None:
    response = httpx.post(
        f"{secured_url}/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "system", "content": "hi"}]},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (
        error["code"] == "unsupported_request" and "no user or assistant text" in error["message"]
    )
