"""The frames between a camera's reader and its scorer: live cameras push out the oldest, files wait."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edgeloop.service_layer.frame_buffer import BufferedFrame, FrameBuffer


def frame(value: int) -> np.ndarray:
    return np.full((2, 2, 3), value, np.uint8)


def values(batch: list) -> list[int]:  # type: ignore[type-arg]
    return [int(item.rgb[0, 0, 0]) for item in batch]


def test_a_live_buffer_pushes_out_its_oldest_frame_when_full() -> None:
    buffer = FrameBuffer(3, drop_oldest=True)
    assert [buffer.put(frame(value), float(value)) for value in range(5)] == [0, 0, 0, 1, 1]
    assert values(buffer.take(2, max_wait=60)) == [2, 3]
    buffer.close()
    assert values(buffer.take(2, max_wait=60)) == [4]  # what is left, then nothing
    assert buffer.take(2, max_wait=60) == []


def test_a_file_buffer_makes_its_reader_wait_for_room() -> None:
    buffer = FrameBuffer(2, drop_oldest=False)
    buffer.put(frame(0), 0.0)
    buffer.put(frame(1), 1.0)
    third_in = threading.Event()

    def reader() -> None:
        buffer.put(frame(2), 2.0)
        third_in.set()

    thread = threading.Thread(target=reader)
    thread.start()
    assert not third_in.is_set()  # the buffer is full: the put waits (no frame lost)
    assert values(buffer.take(1, max_wait=60)) == [0]
    assert third_in.wait(10)
    thread.join(10)
    assert values(buffer.take(2, max_wait=60)) == [1, 2]


def test_a_partial_batch_comes_out_once_its_oldest_frame_waited_long_enough() -> None:
    buffer = FrameBuffer(8, drop_oldest=True)
    buffer.put(frame(7), 7.0)
    assert values(buffer.take(4, max_wait=0.0)) == [7]


def test_close_releases_a_waiting_scorer_and_refuses_later_frames() -> None:
    buffer = FrameBuffer(2, drop_oldest=True)
    taken: list[list] = []  # type: ignore[type-arg]
    thread = threading.Thread(target=lambda: taken.append(buffer.take(2, max_wait=60)))
    thread.start()
    buffer.close()
    thread.join(10)
    assert taken == [[]]
    assert buffer.put(frame(1), 1.0) == 1


def buffered(*values_: int) -> list[BufferedFrame]:
    return [BufferedFrame(frame(value), float(value), 0.0) for value in values_]


def test_frames_put_together_on_a_live_buffer_push_out_the_oldest_beyond_its_capacity() -> None:
    buffer = FrameBuffer(4, drop_oldest=True)
    assert buffer.put_all(buffered(0, 1, 2)) == 0
    assert buffer.put_all(buffered(3, 4, 5)) == 2
    assert values(buffer.take(4, max_wait=60)) == [2, 3, 4, 5]


def test_frames_put_together_on_a_file_buffer_wait_until_they_all_fit() -> None:
    buffer = FrameBuffer(4, drop_oldest=False)
    buffer.put_all(buffered(0, 1, 2))
    all_in = threading.Event()

    def reader() -> None:
        buffer.put_all(buffered(3, 4))
        all_in.set()

    thread = threading.Thread(target=reader)
    thread.start()
    assert not all_in.wait(0.2)  # one place free, two frames: the put waits (a bounded look, no sleep)
    assert values(buffer.take(1, max_wait=60)) == [0]
    assert all_in.wait(10)
    thread.join(10)
    assert values(buffer.take(4, max_wait=60)) == [1, 2, 3, 4]


def test_more_frames_at_once_than_the_buffer_holds_are_refused_and_after_close_all_are_dropped() -> None:
    buffer = FrameBuffer(2, drop_oldest=False)
    with pytest.raises(ValueError, match="at most 2"):
        buffer.put_all(buffered(0, 1, 2))
    buffer.close()
    assert buffer.put_all(buffered(0, 1)) == 2
