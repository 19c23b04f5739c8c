"""The scoring worker's interpreter settings: applied while the app serves, restored after."""

from __future__ import annotations

import gc
import sys

import pytest

from scoring_app.interpreter import GIL_SWITCH_INTERVAL, YOUNG_GENERATION_THRESHOLD, serving_interpreter


def test_serving_settings_hold_inside_and_are_restored_after() -> None:
    before = (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count())
    with serving_interpreter():
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_INTERVAL)
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1][1:])
        # What existed at start-up is frozen: collections no longer walk it.
        assert gc.get_freeze_count() > before[2]
    assert (sys.getswitchinterval(), gc.get_threshold()) == before[:2]
    assert_freeze_restored(before[2])


def assert_freeze_restored(frozen_before: int) -> None:
    """Unfrozen again if nothing was frozen before; else nothing frozen by others was thawed."""
    if frozen_before:
        assert gc.get_freeze_count() >= frozen_before
    else:
        assert gc.get_freeze_count() == 0


def test_objects_frozen_before_stay_frozen() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert before > 0
        with serving_interpreter():
            pass
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()


def test_settings_are_restored_when_serving_fails() -> None:
    before = (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count())
    with pytest.raises(RuntimeError), serving_interpreter():
        raise RuntimeError("lifespan failed")
    assert (sys.getswitchinterval(), gc.get_threshold()) == before[:2]
    assert_freeze_restored(before[2])
