"""Prompt versions (``<version>/``, loaded by ``coach.prompting``) and per-language
phrasebooks (``phrasebook/``, loaded by ``coach.phrasebook``): data, not code."""

from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
