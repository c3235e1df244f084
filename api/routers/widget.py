"""The suggest-reply web component and a demo helpdesk page (no API key needed to load them)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

STATIC = Path(__file__).resolve().parents[1] / "static"
router = APIRouter(tags=["widget"])


@router.get(
    "/widget/reply-coach.js",
    summary="The <reply-coach> web component (one script tag)",
    response_class=FileResponse,
)
async def widget_js() -> FileResponse:
    return FileResponse(
        STATIC / "reply-coach.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(
    "/demo", summary="A demo helpdesk page that embeds the widget", response_class=HTMLResponse
)
async def demo() -> HTMLResponse:
    return HTMLResponse((STATIC / "demo.html").read_text(encoding="utf-8"))
