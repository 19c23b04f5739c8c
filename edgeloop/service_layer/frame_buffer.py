"""The sampled frames between a camera's reader and its scorer: bounded, one per camera.

A live camera cannot wait: when scoring lags, the oldest frame is pushed out (the newest is
what the plant wants scored). A video file can wait: its reader blocks until there is room.
The reader hands frames over one at a time (``put``) or several at once (``put_all``: one lock,
one wake-up for a batch); a frame's ``max_wait`` counts from its ``queued_at``.
The scorer takes a full batch, or a partial one once its oldest frame has waited
``max_wait`` seconds (a slow camera still gets scored), or what is left once closed; then,
without waiting, any further full batches already there (``take_ready``: a lagging scorer
commits them together).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from edgeloop.ports.cameras import RgbFrame


@dataclass(frozen=True, slots=True)
class BufferedFrame:
    rgb: RgbFrame
    captured_at: float  # epoch seconds
    queued_at: float  # monotonic seconds


class FrameBuffer:
    def __init__(self, capacity: int, drop_oldest: bool) -> None:
        if capacity < 1:
            raise ValueError("capacity: at least 1")
        self._frames: deque[BufferedFrame] = deque()
        self._capacity = capacity
        self._drop_oldest = drop_oldest
        self._closed = False
        self._wanted = 1  # the batch size the scorer waits for
        self._changed = threading.Condition()

    def put(self, rgb: RgbFrame, captured_at: float) -> int:
        """Queue a frame; returns how many frames that pushed out (0 or 1; after close, the frame)."""
        return self.put_all([BufferedFrame(rgb, captured_at, time.monotonic())])

    def put_all(self, frames: Sequence[BufferedFrame]) -> int:
        """Queue frames, oldest first; returns how many frames that pushed out (after close: all of
        them). A file's reader waits until they all fit, so at most ``capacity`` at once."""
        if len(frames) > self._capacity:
            raise ValueError(f"frames: at most {self._capacity} at once, got {len(frames)}")
        with self._changed:
            while not self._drop_oldest and len(self._frames) + len(frames) > self._capacity:
                if self._closed:
                    break
                self._changed.wait()
            if self._closed:
                return len(frames)
            was_empty = not self._frames
            self._frames.extend(frames)
            pushed_out = max(0, len(self._frames) - self._capacity)
            for _ in range(pushed_out):
                self._frames.popleft()
            # Wake the scorer only when it has something to do: at the first frames (its max_wait
            # starts) or a full batch, not at every frame (each wake-up is a thread switch).
            if was_empty or len(self._frames) >= self._wanted:
                self._changed.notify_all()
            return pushed_out

    def take(self, batch_size: int, max_wait: float) -> list[BufferedFrame]:
        """Up to ``batch_size`` frames, oldest first; ``[]`` only once closed and empty."""
        with self._changed:
            self._wanted = batch_size
            while True:
                if len(self._frames) >= batch_size or (self._closed and self._frames):
                    break
                if self._closed:
                    return []
                if self._frames:
                    waited = time.monotonic() - self._frames[0].queued_at
                    if waited >= max_wait:
                        break
                    self._changed.wait(max_wait - waited)
                else:
                    self._changed.wait()
            batch = [self._frames.popleft() for _ in range(min(batch_size, len(self._frames)))]
            self._changed.notify_all()
            return batch

    def take_ready(self, batch_size: int) -> list[BufferedFrame]:
        """A full batch if one is waiting now, else ``[]``; never waits (what is left once closed)."""
        with self._changed:
            if len(self._frames) < batch_size and not self._closed:
                return []
            batch = [self._frames.popleft() for _ in range(min(batch_size, len(self._frames)))]
            self._changed.notify_all()
            return batch

    def close(self) -> None:
        """No more frames: a blocked ``put`` returns, ``take`` drains what is left, then gives ``[]``."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
