"""Prompt templates and per-language phrasebooks: data, versioned, loaded by ``coach.prompting``."""

from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
