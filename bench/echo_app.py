"""The peer for bench_api.py: a bare FastAPI endpoint that echoes a validated body."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    text: str
    language: str | None = None


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/echo")
def echo(body: Body) -> Body:
    return body
