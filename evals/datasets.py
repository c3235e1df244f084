"""Data files that ship inside the repository (never read from outside it)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

# IBM's Twitter customer-care test split (Apache-2.0; LICENSE and README beside it).
TWITTER_CUSTOMER_CARE = DATA_DIR / "twitter-customer-care" / "test.json"
