"""Frame labelling: operators see the frames kept on site and say what each one really shows.

Contract. ``for_labelling`` lists the newest kept frames first, without their bytes (at
most ``limit``); ``frame`` gives one with its bytes. ``label`` records an operator's label
for one kept frame as feedback on the frame's insight, through the site's
``FeedbackService``: checked as any feedback (a class of the model serving now; the insight
scored on this site), then committed to the outbox, so it travels to the cloud like any
other label and a retraining joins it to the insight. A detection model's frame takes one
verdict per detection its insight holds, then any missed boxes (the feedback use case reads
the label against the insight's detections, as a retraining does). A frame no longer kept
raises :class:`UnknownFrame`; a bad label, ``InvalidInput`` naming the field; nothing is
recorded then.
"""

from __future__ import annotations

from edgeloop.domain.frames import KeptFrame, StoredFrame
from edgeloop.domain.records import Label
from edgeloop.ports import FrameStore
from edgeloop.service_layer.feedback import FeedbackItem, FeedbackReceipt, FeedbackService


class UnknownFrame(LookupError):
    """A frame id the store does not keep (never kept, or expired since)."""


class FrameLabelling:
    def __init__(self, store: FrameStore, feedback: FeedbackService) -> None:
        self._store = store
        self._feedback = feedback

    def for_labelling(self, limit: int) -> list[StoredFrame]:
        return self._store.list_for_labelling(limit)

    def frame(self, frame_id: str) -> KeptFrame:
        """The kept frame with its bytes (to show it); UnknownFrame when it is not kept."""
        kept = self._store.get(frame_id)
        if kept is None:
            raise UnknownFrame(f"frame {frame_id} is not kept on this site")
        return kept

    def label(self, frame_id: str, label: Label) -> tuple[str, FeedbackReceipt]:
        """The frame's insight id, and the receipt of the feedback recorded on it."""
        insight_id = self.frame(frame_id).origin.insight_id
        return insight_id, self._feedback.record([FeedbackItem(insight_id, label)])
