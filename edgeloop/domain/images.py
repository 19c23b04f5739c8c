"""Images as the core sees them: where frames come from, what a model's image input asks for, the bounds.

An image model's manifest has one input of type ``image`` (:class:`ImageSpec`: size,
channels, layout, dtype, normalisation, resize mode). Frames reach the core as decoded
``H x W x C`` uint8 RGB arrays (a camera worker's, or an upload the decoder turned into
one); :class:`ImageSource` says whose they are. Pixels never leave the site: an insight
carries what the model derived (classes, scores) and the source's camera id, nothing else.

Refusals name the image: :class:`ImageProblem` (its index in the request, the file name
for an upload, what is wrong), all of a request's in one :class:`InvalidImages`; nothing
of a refused request is recorded. Pure: dataclasses only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

ImageSourceKind = Literal["upload", "camera"]
ImageLayout = Literal["NCHW", "NHWC"]
ImageDtype = Literal["float32", "uint8"]
# stretch: scale to width x height (the aspect may change); center_crop: cut the largest centred
# region of the model's aspect, then scale it.
ResizeMode = Literal["stretch", "center_crop"]
IMAGE_LAYOUTS: tuple[ImageLayout, ...] = ("NCHW", "NHWC")
RESIZE_MODES: tuple[ResizeMode, ...] = ("stretch", "center_crop")
IMAGE_CHANNELS = (1, 3)  # grey or RGB; frames arrive RGB and are turned grey for a 1-channel model

# What an image may be refused for; the web layer picks the status from it (scoring_app/errors.py).
ProblemKind = Literal[
    "too_large", "unsupported_type", "undecodable", "too_many_pixels", "bad_frame", "too_many"
]


@dataclass(frozen=True, slots=True)
class ImageSource:
    """Whose frames these are: a camera of this site, or files an operator or a machine uploaded.

    The site is the scoring service's own (one service per site). ``camera_id`` goes with
    every insight; ``file_names`` only into the answer (a file name may name a person).
    """

    kind: ImageSourceKind
    camera_id: str | None = None
    file_names: tuple[str, ...] = ()

    @classmethod
    def camera(cls, camera_id: str) -> ImageSource:
        return cls("camera", camera_id=camera_id)

    @classmethod
    def upload(cls, file_names: Sequence[str]) -> ImageSource:
        return cls("upload", file_names=tuple(file_names))

    def __post_init__(self) -> None:
        if self.kind == "camera" and not self.camera_id:
            raise ValueError("a camera source needs its camera_id")
        if self.kind == "upload" and self.camera_id is not None:
            raise ValueError("an upload has no camera_id")

    def file_name(self, index: int) -> str | None:
        return self.file_names[index] if index < len(self.file_names) else None

    def context(self) -> dict[str, str]:
        """What each insight of these frames says about where it came from (never a file name)."""
        if self.camera_id is None:
            return {"source": self.kind}
        return {"source": self.kind, "camera_id": self.camera_id}


@dataclass(frozen=True, slots=True)
class UploadedImage:
    """One uploaded file, as it came: its name, the content type it was sent with, its bytes."""

    file_name: str
    content_type: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Normalisation:
    """``(pixel * scale - mean[c]) / std[c]`` per channel ``c`` (one value: every channel)."""

    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    def to_dict(self) -> dict[str, object]:
        return {"scale": self.scale, "mean": list(self.mean), "std": list(self.std)}


IDENTITY = Normalisation(1.0, (0.0,), (1.0,))


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """A model's image input: the tensor it takes (``[N, C, H, W]`` or ``[N, H, W, C]`` of ``dtype``)."""

    width: int
    height: int
    channels: int = 3
    layout: ImageLayout = "NCHW"
    dtype: ImageDtype = "float32"
    normalisation: Normalisation = field(default_factory=Normalisation)  # float32 only; uint8 is raw
    resize: ResizeMode = "stretch"

    @property
    def tensor_shape(self) -> tuple[int, int, int]:
        """One image's shape in the tensor (without the batch axis)."""
        if self.layout == "NCHW":
            return (self.channels, self.height, self.width)
        return (self.height, self.width, self.channels)

    def to_dict(self) -> dict[str, object]:
        return {
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "layout": self.layout,
            "dtype": self.dtype,
            "normalisation": None if self.dtype == "uint8" else self.normalisation.to_dict(),
            "resize": self.resize,
        }


@dataclass(frozen=True, slots=True)
class ImageBounds:
    """What one request may bring: files, bytes per file, pixels per image (before any resize)."""

    max_images: int = 32
    max_bytes: int = 4 * 1024 * 1024
    max_pixels: int = 4096 * 4096


@dataclass(frozen=True, slots=True)
class ImageProblem:
    """One image refused: its index in the request, its file name (an upload's), what is wrong."""

    index: int | None
    file_name: str | None
    kind: ProblemKind
    message: str


class ImageRefused(ValueError):
    """One file the decoder will not turn into a frame (the caller names the file and its index)."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind: ProblemKind = kind
        self.message = message


class InvalidImages(ValueError):
    """A request's images refused as a whole; nothing of the request was recorded."""

    def __init__(self, problems: Sequence[ImageProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(_described(problem) for problem in self.problems))


class NotAnImageModel(ValueError):
    """The model served now takes rows, not images."""


def _described(problem: ImageProblem) -> str:
    where = "" if problem.index is None else f"image {problem.index}"
    if problem.file_name is not None:
        where += f" ({problem.file_name!r})"
    return f"{where}: {problem.message}" if where else problem.message
