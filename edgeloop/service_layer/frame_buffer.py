"""The sampled frames between a camera's reader and its scorer: bounded, one per camera.

A live camera cannot wait: when scoring lags, the oldest frame is pushed out (the newest is
what the plant wants scored). A video file can wait: its reader blocks until there is room.
The scorer takes a full batch, or a partial one once its oldest frame has waited
``max_wait`` seconds (a slow camera still gets scored), or what is left once closed; then,
without waiting, any further full batches already there (``take_ready``: a lagging scorer
commits them together).
"""

from __future__ import annotations

import threading
import time
from collections import deque
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
        with self._changed:
            while not self._drop_oldest and len(self._frames) >= self._capacity and not self._closed:
                self._changed.wait()
            if self._closed:
                return 1
            pushed_out = 0
            if len(self._frames) >= self._capacity:
                self._frames.popleft()
                pushed_out = 1
            self._frames.append(BufferedFrame(rgb, captured_at, time.monotonic()))
            # Wake the scorer only when it has something to do: at the first frame (its max_wait
            # starts) or a full batch, not at every frame (each wake-up is a thread switch).
            if len(self._frames) == 1 or len(self._frames) >= self._wanted:
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
