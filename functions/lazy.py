"""A Function's dependency: composed on first use, then cached for the process (functions/dependencies.py).

Never at import: the host imports function_app.py to index functions before
any setting may be read, and an import must not open connections. Tests
replace the composition with :meth:`Lazy.override`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """A dependency built by ``compose`` on the first ``get``, then shared by every invocation."""

    def __init__(self, compose: Callable[[], T]) -> None:
        self._compose = compose
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._compose()
            return self._value

    def override(self, value: T | None) -> None:
        """Use ``value`` from now on; ``None`` makes the next ``get`` compose from settings again."""
        with self._lock:
            self._value = value
