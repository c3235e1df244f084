"""Keep third-party libraries quiet: no telemetry, no slow start, no .env reading.

Call these before the library is imported; both are idempotent.
"""

from __future__ import annotations

import os


def prepare_litellm_env() -> None:
    """Local model cost map (no fetch at import) and production mode (no .env read)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_MODE", "PRODUCTION")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")


_quieted = False


def quiet_guardrails() -> None:
    """Turn guardrails-ai hub telemetry off in code.

    guardrails reads ``~/.guardrailsrc`` (absent on a fresh machine) and then
    defaults ``enable_metrics`` to True, which makes every Guard and Validator
    export traces to guardrails' collector. We force the loaded settings to
    ``enable_metrics=False`` and make every later reload (``Guard.configure``
    re-reads the file) return the same, so no Guard turns it back on.
    """
    global _quieted
    if _quieted:
        return
    prepare_litellm_env()
    from guardrails.classes.rc import RC
    from guardrails.settings import settings

    original = RC.load.__func__

    def load_without_metrics(cls: type[RC], logger: object = None) -> RC:
        rc = original(cls, logger)
        rc.enable_metrics = False
        return rc

    RC.load = classmethod(load_without_metrics)
    settings.rc = RC.load()
    from guardrails.utils.hub_telemetry_utils import HubTelemetry

    if HubTelemetry._instance is not None:
        HubTelemetry._instance._enabled = False
    _quieted = True
