"""The peer for bench_api.py: a bare FastAPI ``async def`` endpoint that echoes a validated body.

The body is the API's own ``CheckRequest`` (same fields, same limits), validated
by pydantic and returned as the response model: FastAPI's cost with no work.
"""

from fastapi import FastAPI

from api.schemas import CheckRequest

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/echo")
async def echo(body: CheckRequest) -> CheckRequest:
    return body
