"""Personal data out of anything that is logged: e-mails, phone numbers, card numbers, handles."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# 13-19 digits with optional spaces/dashes: card numbers (checked before phones).
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{6,}\d\b")
_HANDLE = re.compile(r"(?<!\w)@\w{2,}")
_URL_SECRET = re.compile(r"(?i)\b(token|key|secret|password|passwd|pwd)=([^&\s]+)")


def redact(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card]", text)
    text = _PHONE.sub("[phone]", text)
    text = _HANDLE.sub("[handle]", text)
    return _URL_SECRET.sub(r"\1=[secret]", text)
