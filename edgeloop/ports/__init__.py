"""Ports: what the core needs from the outside world, as structural types, one module per area.

Adapters in ``edgeloop.adapters`` implement these for one technology each
(Azure Storage, SQLite, onnxruntime, ...); the composition roots in
``edgeloop.bootstrap`` pick and wire them. Nothing here imports Azure or web code.

``edge`` (outbox, queue uplink, model), ``cameras`` (streams, frame scoring), ``cloud`` (blobs,
events, the global store, the reporting sink), ``feedback_loop`` (registry, trainers, champion
source), ``rollouts`` (the staged rollout's plan and pointer), ``frames`` (frames kept on site,
the upload audit) and ``operations`` (held messages);
everything is imported from here: ``from edgeloop.ports import Outbox``.
"""

from __future__ import annotations

# Re-exported (``X as X``) so port users can import them from here.
from edgeloop.domain.champion import ChampionPointer as ChampionPointer
from edgeloop.domain.counter_stats import HourlyRate as HourlyRate
from edgeloop.domain.counter_stats import SiteStats as SiteStats
from edgeloop.domain.held_messages import HeldMessage as HeldMessage
from edgeloop.domain.insights_view import InsightPage as InsightPage
from edgeloop.domain.insights_view import InsightQuery as InsightQuery
from edgeloop.domain.insights_view import StoredInsight as StoredInsight
from edgeloop.domain.manifest import ModelManifest as ModelManifest
from edgeloop.domain.model_stats import ModelHour as ModelHour
from edgeloop.domain.model_stats import ModelStats as ModelStats
from edgeloop.domain.promotion import DataCounts as DataCounts
from edgeloop.domain.records import Record as Record
from edgeloop.domain.retraining_data import Comparison as Comparison
from edgeloop.domain.retraining_data import LabelledRow as LabelledRow
from edgeloop.domain.retraining_data import RetrainRequest as RetrainRequest
from edgeloop.domain.retraining_data import TrainedModel as TrainedModel
from edgeloop.domain.retraining_data import TrainingFailed as TrainingFailed
from edgeloop.domain.validation import FeatureColumns as FeatureColumns
from edgeloop.observability.tracing import Tracer as Tracer
from edgeloop.ports.cameras import CameraConnector as CameraConnector
from edgeloop.ports.cameras import CameraStream as CameraStream
from edgeloop.ports.cameras import CameraUnavailable as CameraUnavailable
from edgeloop.ports.cameras import FrameScorer as FrameScorer
from edgeloop.ports.cameras import VideoFrame as VideoFrame
from edgeloop.ports.cloud import BlobStore as BlobStore
from edgeloop.ports.cloud import DeliveryLedger as DeliveryLedger
from edgeloop.ports.cloud import EventPublisher as EventPublisher
from edgeloop.ports.cloud import InsightStore as InsightStore
from edgeloop.ports.cloud import LakeInsights as LakeInsights
from edgeloop.ports.cloud import LakeTable as LakeTable
from edgeloop.ports.cloud import RowSink as RowSink
from edgeloop.ports.cloud import SiteBlobRefused as SiteBlobRefused
from edgeloop.ports.edge import ClaimedEntry as ClaimedEntry
from edgeloop.ports.edge import ImageDecoder as ImageDecoder
from edgeloop.ports.edge import ImageScoringModel as ImageScoringModel
from edgeloop.ports.edge import Outbox as Outbox
from edgeloop.ports.edge import OutboxError as OutboxError
from edgeloop.ports.edge import OutboxFull as OutboxFull
from edgeloop.ports.edge import OutboxReader as OutboxReader
from edgeloop.ports.edge import OutboxUnavailable as OutboxUnavailable
from edgeloop.ports.edge import QueueSender as QueueSender
from edgeloop.ports.edge import QueueUnavailable as QueueUnavailable
from edgeloop.ports.edge import ScoringModel as ScoringModel
from edgeloop.ports.feedback_loop import BlobReader as BlobReader
from edgeloop.ports.feedback_loop import ChallengerTrainer as ChallengerTrainer
from edgeloop.ports.feedback_loop import ChampionSource as ChampionSource
from edgeloop.ports.feedback_loop import DriftTriggerLedger as DriftTriggerLedger
from edgeloop.ports.feedback_loop import ModelRegistry as ModelRegistry
from edgeloop.ports.feedback_loop import PointerLedger as PointerLedger
from edgeloop.ports.feedback_loop import RegistryConflict as RegistryConflict
from edgeloop.ports.feedback_loop import ShadowPointers as ShadowPointers
from edgeloop.ports.feedback_loop import SourceUnavailable as SourceUnavailable
from edgeloop.ports.feedback_loop import Trainer as Trainer
from edgeloop.ports.feedback_loop import TrainingData as TrainingData
from edgeloop.ports.feedback_loop import VersionExists as VersionExists
from edgeloop.ports.frames import FrameDecision as FrameDecision
from edgeloop.ports.frames import FrameEncoder as FrameEncoder
from edgeloop.ports.frames import FrameStore as FrameStore
from edgeloop.ports.frames import FrameTooLarge as FrameTooLarge
from edgeloop.ports.frames import FrameUploadLog as FrameUploadLog
from edgeloop.ports.frames import PendingFrame as PendingFrame
from edgeloop.ports.operations import HeldMessages as HeldMessages
from edgeloop.ports.rollouts import RolloutRegistry as RolloutRegistry
from edgeloop.ports.rollouts import RolloutSource as RolloutSource
from edgeloop.wire.claim_check import BlobWrittenEvent as BlobWrittenEvent
