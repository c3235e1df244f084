"""What a helpdesk's OpenAI-style request asks for, read from its structure.

A helpdesk that points its "OpenAI-compatible" AI provider at the coach sends
*every* AI feature there. Each request is classified by its shape, never by the
helpdesk's prompt wording (which changes from release to release and is in the
admin's language):

* ``reply``: write the agent's next reply to a conversation whose last word is the
  customer's;
* ``improve``: make an agent's draft better (optionally with the conversation);
* ``other``: anything else (a summary, label suggestions, a follow-up).

One small parser per known layout, tried in order (:data:`LAYOUTS`), then a generic
fallback on the chat roles. The layouts are facts of the clients' request builders:

=====================  =======================================================  =======
layout                 shape                                                    kind
=====================  =======================================================  =======
draft-blocks           ``<draft_message>`` (and ``<conversation_context>``)     improve
                       in a system or user message; the draft is the block, or
                       the last user message
chatwoot-transcript    one user message: ``Conversation ID: #...``,             reply /
                       ``Channel: ...``, ``Message History:``, then lines       other
                       ``User: ...`` (customer), ``Support Agent: ...``,
                       ``Bot: ...``; a reply when the customer spoke last
legacy-transcript      one user message of ``Customer NAME : text`` /           other
                       ``Agent NAME : text`` lines (Chatwoot's summary), or
                       followed by ``Labels:`` (its label suggestions)
zammad-articles        one user message of ``<article>`` blocks with            other
                       ``<sender_type>`` and ``<text>`` (Zammad's summary)
single-text            a system message and one user message holding a text     improve
                       (Zammad's text tools, Chatwoot's rewrites); HTML
                       paragraphs become lines
roles                  customer turns as ``user``, agent turns as               reply /
                       ``assistant``; the last ``user`` turn is a draft when    improve /
                       its words are an agent's (a rule finding of an agent's   other
                       kind, or an agent's action and no customer complaint),
                       else the customer's message to answer
=====================  =======================================================  =======
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["reply", "improve", "other"]
Speaker = Literal["customer", "agent"]
Channel = Literal["chat", "email", "phone", "social"]


@dataclass(frozen=True)
class Message:
    """One chat message as the client sent it: role and its text."""

    role: str
    text: str


@dataclass
class Reading:
    """What the request is: its kind, the conversation, the draft, the channel."""

    kind: Kind
    layout: str
    turns: list[tuple[Speaker, str]] = field(default_factory=list)
    draft: str | None = None
    channel: Channel | None = None
    why: str = ""

    @property
    def customer_turns(self) -> list[str]:
        return [text for who, text in self.turns if who == "customer"]


_DRAFT = re.compile(r"<draft_message>\s*(.*?)\s*</draft_message>", re.S | re.I)
_CONTEXT = re.compile(r"<conversation_context>\s*(.*?)\s*</conversation_context>", re.S | re.I)
_CW_LINE = re.compile(r"^(?:\[Private Note\] )?(User|Support Agent|Bot): ?(.*)$")
_CW_CHANNEL = re.compile(r"^Channel: *(.+)$", re.M)
_LEGACY_LINE = re.compile(r"^(Customer|Agent)\b[^:\n]{0,80} : (.*)$")
_ARTICLE = re.compile(r"<article>(.*?)</article>", re.S | re.I)
_SENDER = re.compile(r"<sender_type>\s*(.*?)\s*</sender_type>", re.S | re.I)
_TEXT = re.compile(r"<text>\s*(.*?)\s*</text>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>|</div>|</li>", re.I)
_SIGNATURE = re.compile(r"<div[^>]*data-signature\s*=\s*[\"']true[\"'][^>]*>.*?</div>", re.S | re.I)


def plain_text(text: str) -> str:
    """HTML a rich-text editor sends (``<p>``, ``<br>``, entities) as plain lines; the
    agent's signature block is left out of what is coached."""
    if "<" not in text or not _TAG.search(text):
        return text.strip()
    text = _SIGNATURE.sub("", text)
    text = _BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def channel_of(name: str) -> Channel:
    """Chatwoot's channel names (``Channel::Email``, ``Website``, ``Twitter``...) as the
    coach's channels; anything live and typed is chat."""
    lowered = name.lower()
    if "email" in lowered or "mail" in lowered:
        return "email"
    if any(s in lowered for s in ("twitter", "facebook", "instagram", "tiktok", "x.com")):
        return "social"
    if any(s in lowered for s in ("voice", "phone", "call")):
        return "phone"
    return "chat"


def _chatwoot_lines(text: str) -> list[tuple[Speaker, str]] | None:
    """``User:`` / ``Support Agent:`` / ``Bot:`` lines (a message may span lines)."""
    body = text.split("Message History:", 1)[1] if "Message History:" in text else text
    turns: list[tuple[Speaker, str]] = []
    for line in body.splitlines():
        m = _CW_LINE.match(line.strip())
        if m:
            if line.strip().startswith("[Private Note]"):
                turns.append(("agent", ""))  # private notes never reach the customer
                continue
            who: Speaker = "customer" if m.group(1) == "User" else "agent"
            turns.append((who, m.group(2).strip()))
        elif (
            turns
            and line.strip()
            and not line.startswith(("Contact Details:", "Conversation Attributes:"))
        ):
            who, said = turns[-1]
            turns[-1] = (who, f"{said}\n{line.strip()}".strip())
        elif line.startswith(("Contact Details:", "Conversation Attributes:")):
            break
    turns = [(who, said) for who, said in turns if said]
    return turns or None


def _read_draft_blocks(
    system: str, users: Sequence[str], messages: Sequence[Message]
) -> Reading | None:
    everything = "\n".join(m.text for m in messages)
    block = _DRAFT.search(everything)
    if block is None:
        return None
    draft = plain_text(block.group(1)) or (plain_text(users[-1]) if users else "")
    turns: list[tuple[Speaker, str]] = []
    channel: Channel | None = None
    context = _CONTEXT.search(everything)
    if context:
        turns = _chatwoot_lines(context.group(1)) or []
        named = _CW_CHANNEL.search(context.group(1))
        channel = channel_of(named.group(1)) if named else None
    return Reading("improve", "draft-blocks", turns, draft or None, channel)


def _read_chatwoot_transcript(
    system: str, users: Sequence[str], messages: Sequence[Message]
) -> Reading | None:
    if len(users) != 1 or not any(m.role == "user" for m in messages[-1:]):
        return None
    text = users[0]
    if "Message History:" not in text and not re.search(r"^(?:User|Support Agent): ", text, re.M):
        return None
    turns = _chatwoot_lines(text)
    if not turns:
        return None
    named = _CW_CHANNEL.search(text)
    channel = channel_of(named.group(1)) if named else None
    if turns[-1][0] == "customer":
        return Reading("reply", "chatwoot-transcript", turns, None, channel)
    return Reading("other", "chatwoot-transcript", turns, None, channel, "the agent spoke last")


def _read_legacy_transcript(
    system: str, users: Sequence[str], messages: Sequence[Message]
) -> Reading | None:
    if len(users) != 1:
        return None
    lines = [line for line in users[0].splitlines() if line.strip()]
    hits = [line for line in lines if _LEGACY_LINE.match(line)]
    if len(hits) < 2 and not (hits and re.search(r"^Labels:", users[0], re.M)):
        return None
    turns: list[tuple[Speaker, str]] = []
    for line in hits:
        m = _LEGACY_LINE.match(line)
        assert m is not None
        turns.append(("customer" if m.group(1) == "Customer" else "agent", m.group(2).strip()))
    return Reading("other", "legacy-transcript", turns, why="a transcript to summarise or label")


def _read_zammad_articles(
    system: str, users: Sequence[str], messages: Sequence[Message]
) -> Reading | None:
    if len(users) != 1:
        return None
    articles = _ARTICLE.findall(users[0])
    if not articles:
        return None
    turns: list[tuple[Speaker, str]] = []
    for article in articles:
        sender = _SENDER.search(article)
        said = _TEXT.search(article)
        if sender and said:
            who: Speaker = "customer" if sender.group(1).lower() == "customer" else "agent"
            turns.append((who, plain_text(said.group(1))))
    return Reading("other", "zammad-articles", turns, why="ticket articles to summarise")


def _read_single_text(
    system: str, users: Sequence[str], messages: Sequence[Message]
) -> Reading | None:
    spoken = [m for m in messages if m.role in ("user", "assistant") and m.text.strip()]
    if len(spoken) != 1 or spoken[0].role != "user":
        return None
    return Reading("improve", "single-text", [], plain_text(spoken[0].text) or None)


def _read_roles(
    system: str,
    users: Sequence[str],
    messages: Sequence[Message],
    agent_wrote: Callable[[str], bool] = lambda text: False,
) -> Reading | None:
    """Customer turns as ``user``, agent turns as ``assistant``. The last ``user`` message
    is the agent's draft when its words are an agent's (the contract's reading: "the last
    user message is the text to improve"), else the customer's latest message to answer
    (Chatwoot's reply suggestion)."""
    spoken = [m for m in messages if m.role in ("user", "assistant") and m.text.strip()]
    if not spoken:
        return None
    turns: list[tuple[Speaker, str]] = [
        ("customer" if m.role == "user" else "agent", plain_text(m.text)) for m in spoken
    ]
    if turns[-1][0] != "customer":
        return Reading("other", "roles", turns, why="the last turn is not the customer's")
    if agent_wrote(turns[-1][1]):
        return Reading("improve", "roles", turns[:-1], turns[-1][1])
    return Reading("reply", "roles", turns)


Parser = Callable[[str, Sequence[str], Sequence[Message]], "Reading | None"]
LAYOUTS: tuple[tuple[str, Parser], ...] = (
    ("draft-blocks", _read_draft_blocks),
    ("chatwoot-transcript", _read_chatwoot_transcript),
    ("zammad-articles", _read_zammad_articles),
    ("legacy-transcript", _read_legacy_transcript),
    ("single-text", _read_single_text),
    ("roles", _read_roles),
)


def read(
    messages: Sequence[Message], agent_wrote: Callable[[str], bool] = lambda text: False
) -> Reading:
    """The request's kind and content; ``other`` with a reason when nothing fits.

    ``agent_wrote(text)`` tells whether a text reads as an agent's reply rather than a
    customer's message (the router asks the rules and the customer analysis); it settles
    the one shape two clients use differently, a conversation ending in a ``user`` turn."""
    system = "\n".join(m.text for m in messages if m.role in ("system", "developer"))
    users = [m.text for m in messages if m.role == "user" and m.text.strip()]
    for name, parser in LAYOUTS:
        if name == "roles":
            reading = _read_roles(system, users, messages, agent_wrote)
        else:
            reading = parser(system, users, messages)
        if reading is not None:
            return reading
    return Reading("other", "unknown", why="no user or assistant text")
