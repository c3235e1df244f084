"""POST /v1/note: an incident note from a conversation, in the conversation's language."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import AuthorizedDep, log_fields
from api.errors import ApiError
from api.schemas import IncidentNote, NoteRequest
from coach.checker import choose_language
from coach.note import incident_note

router = APIRouter(prefix="/v1", tags=["coaching"])


@router.post(
    "/note",
    response_model=IncidentNote,
    summary="Write the incident note for a conversation",
    description="Customer, problem, discussion points, agreed solution and follow-up, under "
    "headings in the conversation's language (detected from the customer's turns when not "
    "given). E-mails, phone numbers and card numbers are redacted from the quoted text.",
)
async def note(body: NoteRequest, request: Request, svc: AuthorizedDep) -> IncidentNote:
    customer_text = " ".join(t.text for t in body.history if t.role == "customer")
    try:
        choice = choose_language(
            customer_text or body.history[0].text, body.language, svc.coach.ruleset
        )
    except ValueError as exc:
        raise ApiError(422, f"language: {exc}") from exc
    data = incident_note(
        body.history, choice.language, body.context, body.agreed_solution, body.follow_up
    )
    log_fields(request, language=choice.language)
    return IncidentNote.model_validate(data)
