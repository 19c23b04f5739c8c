"""functions.lazy.Lazy: a dependency is composed once, on first use, and can be overridden."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from functions.lazy import Lazy


def test_composes_on_first_use_only_once_even_under_concurrent_invocations() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def compose() -> object:
        gate.wait(timeout=5)  # hold the first composer so the other threads pile up behind it
        calls.append(1)
        return object()

    lazy = Lazy(compose)
    assert calls == []  # nothing at construction (import time)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(lazy.get) for _ in range(8)]
        gate.set()
        values = {id(future.result(timeout=10)) for future in futures}
    assert calls == [1]
    assert len(values) == 1


def test_override_replaces_it_and_none_composes_again() -> None:
    built: list[str] = []

    def compose() -> str:
        built.append(f"composed-{len(built)}")
        return built[-1]

    lazy = Lazy(compose)
    lazy.override("test double")
    assert lazy.get() == "test double"
    assert built == []
    lazy.override(None)
    assert lazy.get() == "composed-0"
    assert lazy.get() == "composed-0"
