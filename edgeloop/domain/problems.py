"""What is wrong with a request, in domain terms: problems naming row and field, no HTTP.

The web layer decides how each error is answered (scoring_app/errors.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edgeloop.domain.validation import RowValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: ``row`` (or item) index and ``field``, when they apply."""

    row: int | None
    field: str | None
    message: str


class InvalidInput(ValueError):
    """A request that is refused as a whole; nothing of it was recorded."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(
            "; ".join(p.message if p.field is None else f"{p.field}: {p.message}" for p in problems)
        )
        self.problems = list(problems)


def invalid_rows(error: RowValidationError) -> InvalidInput:
    """Rows refused by validation, as problems (with a count of those not listed)."""
    problems = [Problem(e.row, e.field, e.message) for e in error.errors]
    if error.total > len(error.errors):
        problems.append(Problem(None, None, f"{error.total - len(error.errors)} more problems not listed"))
    return InvalidInput(problems)
