"""One schemathesis run over a document: the loop both apps' OpenAPI tests share.

``fuzz_document`` draws up to 150 cases per generation mode (or ``max_examples``; no example
database, no deadline: the apps run in-process and the first request warms them up) and calls
each against the app, validating the answer with the given checks (schemathesis's full set
when none are given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CheckFunction

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


def fuzz_document(
    document: schemathesis.BaseSchema,
    mode: schemathesis.GenerationMode,
    *,
    checks: Sequence[CheckFunction] | None = None,
    headers: Mapping[str, str] | None = None,
    max_examples: int | None = None,
) -> None:
    call: dict[str, Any] = {}
    if checks is not None:
        call["checks"] = list(checks)
    if headers is not None:
        call["headers"] = dict(headers)

    @FUZZ if max_examples is None else settings(FUZZ, max_examples=max_examples)
    @given(case=document.as_strategy(generation_mode=mode))
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(**call)

    answers_as_documented()
