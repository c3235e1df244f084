"""The HTTP API (FastAPI): ``create_app()`` builds it, ``coach serve`` runs it."""

from api.app import create_app

__all__ = ["create_app"]
