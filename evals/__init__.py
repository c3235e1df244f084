"""Evaluation tools for prompt engineers (gold sets, runners, reports)."""
