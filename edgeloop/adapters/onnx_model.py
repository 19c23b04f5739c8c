"""The ``ScoringModel`` port on onnxruntime, driven entirely by the bundle's manifest.

Loading verifies every file's sha256 against the manifest and checks that the
graph's inputs and outputs are the ones the manifest maps, so a wrong or
tampered bundle fails at start-up, not on the first request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from edgeloop.domain.execution_providers import CPU_ONLY, ProviderChoice, choose_providers
from edgeloop.domain.manifest import ManifestError, ModelManifest, OnnxInputSpec, load_manifest
from edgeloop.domain.validation import FeatureColumns

_NUMPY_DTYPES: dict[str, Any] = {
    "float32": np.float32,
    "float64": np.float64,
    "string": object,
    "uint8": np.uint8,
}
# onnxruntime's load errors are plain Exception subclasses; these are the ones a bad file raises.
_LOAD_ERRORS = (
    ort_errors.Fail,
    ort_errors.InvalidArgument,
    ort_errors.InvalidGraph,
    ort_errors.InvalidProtobuf,
    ort_errors.NoSuchFile,
    ort_errors.NotImplemented,
    ort_errors.RuntimeException,
)
_ORT_TYPES = {
    "float32": "tensor(float)",
    "float64": "tensor(double)",
    "string": "tensor(string)",
    "uint8": "tensor(uint8)",
}

_CUDA_PROVIDERS = {"CUDAExecutionProvider", "TensorrtExecutionProvider"}

logger = logging.getLogger(__name__)


class BundleError(RuntimeError):
    """A model bundle that cannot be used; the message names the file or field."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_bundle_files(bundle_dir: Path, manifest: ModelManifest) -> None:
    """Raise :class:`BundleError` naming the first file that is absent or differs from its sha256."""
    for file_name, expected in manifest.files.items():
        path = bundle_dir / file_name
        if not path.is_file():
            raise BundleError(f"{file_name}: listed in the manifest but missing from {bundle_dir}")
        actual = file_sha256(path)
        if actual != expected:
            raise BundleError(f"{file_name}: sha256 {actual} does not match the manifest ({expected})")


@dataclass(frozen=True, slots=True)
class _OutputPick:
    name: str  # manifest output name
    index: int  # position in the session's requested outputs
    column: int | None


def execution_providers(
    requested: Sequence[str], options: Mapping[str, Mapping[str, str]] | None = None
) -> ProviderChoice:
    """The site's provider list checked against this onnxruntime build (ProviderChoiceError on a
    name onnxruntime does not know); each known one the build lacks is logged as passed over."""
    choice = choose_providers(
        requested, known=ort.get_all_providers(), available=ort.get_available_providers(), options=options
    )
    if _CUDA_PROVIDERS & set(choice.providers):
        # The gpu image's CUDA and cuDNN come as PyPI wheels, which the CUDA provider finds only
        # once onnxruntime has loaded them (its documented step for onnxruntime-gpu[cuda,cudnn]).
        ort.preload_dlls()
    for name in choice.passed_over:
        logger.warning(
            "execution provider %s is not in this onnxruntime build (it has %s): falling back to %s",
            name,
            ", ".join(ort.get_available_providers()),
            choice.providers[0],
        )
    return choice


class OnnxModel:
    """A verified bundle with one ``InferenceSession``; ``predict`` feeds columns per ``onnx_inputs``."""

    def __init__(self, manifest: ModelManifest, sha256: str, session: ort.InferenceSession) -> None:
        self.manifest = manifest
        self.sha256 = sha256
        self._session = session
        # What the session really runs on: onnxruntime drops a provider that fails to start.
        self.execution_providers = tuple(session.get_providers())
        self._onnx_inputs = manifest.onnx_inputs
        self._requested = sorted({spec.name for spec in manifest.onnx_outputs})
        self._picks = tuple(
            _OutputPick(spec.output, self._requested.index(spec.name), spec.column)
            for spec in manifest.onnx_outputs
        )
        # A detection's three outputs stay tensors (a row of candidates per image), flattened per row.
        self._tensors = frozenset(
            manifest.task.prediction_outputs if manifest.task.kind == "detection" else ()
        )
        _check_graph(manifest, session)

    @classmethod
    def load(
        cls,
        bundle_dir: Path,
        *,
        intra_op_threads: int = 1,
        inter_op_threads: int = 1,
        providers: ProviderChoice = CPU_ONLY,
    ) -> OnnxModel:
        try:
            manifest = load_manifest(bundle_dir)
        except ManifestError as exc:
            raise BundleError(f"{bundle_dir / 'manifest.json'}: {exc}") from exc
        verify_bundle_files(bundle_dir, manifest)
        model_path = bundle_dir / manifest.model_file
        options = ort.SessionOptions()
        # Small models, many short requests: one thread per session and sequential execution
        # avoid thread-pool wake-up costs; the service scales out with workers instead.
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT warns about unused initializers otherwise
        try:
            session = ort.InferenceSession(
                str(model_path),
                sess_options=options,
                providers=list(providers.providers),
                provider_options=[providers.options_of(name) for name in providers.providers],
            )
        except _LOAD_ERRORS as exc:
            raise BundleError(f"{manifest.model_file}: onnxruntime cannot load it: {exc}") from exc
        model = cls(manifest, manifest.files[manifest.model_file], session)
        missing = [name for name in providers.providers if name not in model.execution_providers]
        if missing:  # available in the build, yet it did not start (no device, no driver, bad option)
            logger.warning(
                "%s: execution provider %s did not start; the session runs on %s",
                manifest.model_file,
                ", ".join(missing),
                ", ".join(model.execution_providers),
            )
        return model

    def predict(self, columns: FeatureColumns) -> dict[str, npt.NDArray[np.float64]]:
        n_rows = columns.n_rows
        if n_rows == 0:
            return {name: np.empty(0, dtype=np.float64) for name in self.manifest.output_names}
        feeds = {spec.name: _feed(spec, columns) for spec in self._onnx_inputs}
        return self._run(feeds, n_rows)

    def predict_images(self, batch: npt.NDArray[Any]) -> dict[str, npt.NDArray[np.float64]]:
        """One graph call on an image model's input tensor (``[n, *ImageSpec.tensor_shape]``)."""
        n_rows = int(batch.shape[0])
        if n_rows == 0:
            return {name: np.empty(0, dtype=np.float64) for name in self.manifest.output_names}
        return self._run({self._onnx_inputs[0].name: batch}, n_rows)

    def _run(self, feeds: dict[str, npt.NDArray[Any]], n_rows: int) -> dict[str, npt.NDArray[np.float64]]:
        results = self._session.run(self._requested, feeds)
        outputs: dict[str, npt.NDArray[np.float64]] = {}
        for pick in self._picks:
            value = np.asarray(results[pick.index])
            if pick.column is not None:
                value = value.reshape(n_rows, -1)[:, pick.column]
            shape = (n_rows, -1) if pick.name in self._tensors else (n_rows,)
            outputs[pick.name] = value.reshape(shape).astype(np.float64)
        return outputs


def _feed(spec: OnnxInputSpec, columns: FeatureColumns) -> npt.NDArray[Any]:
    dtype = _NUMPY_DTYPES[spec.dtype]
    if len(spec.features) == 1:
        return np.asarray(columns.column(spec.features[0]), dtype=dtype).reshape(-1, 1)
    stacked = np.empty((columns.n_rows, len(spec.features)), dtype=dtype)
    for index, feature in enumerate(spec.features):
        stacked[:, index] = columns.column(feature)
    return stacked


def _check_graph(manifest: ModelManifest, session: ort.InferenceSession) -> None:
    """The graph must take exactly the manifest's ONNX inputs and produce its mapped outputs."""
    graph_inputs = {node.name: node for node in session.get_inputs()}
    expected = {spec.name: spec for spec in manifest.onnx_inputs}
    if set(graph_inputs) != set(expected):
        raise BundleError(
            f"{manifest.model_file}: graph inputs {sorted(graph_inputs)} do not match "
            f"manifest onnx_inputs {sorted(expected)}"
        )
    for name, spec in expected.items():
        node = graph_inputs[name]
        if node.type != _ORT_TYPES[spec.dtype]:
            raise BundleError(
                f"{manifest.model_file}: input {name!r} is {node.type}, manifest says {spec.dtype}"
            )
        image = manifest.input(spec.features[0]).image
        if image is not None:
            _check_image_shape(manifest.model_file, name, list(node.shape), image.tensor_shape)
            continue
        width = node.shape[1] if len(node.shape) == 2 else None
        if isinstance(width, int) and width != len(spec.features):
            raise BundleError(
                f"{manifest.model_file}: input {name!r} has {width} columns, "
                f"manifest maps {len(spec.features)}"
            )
    graph_outputs = {node.name for node in session.get_outputs()}
    for output in manifest.onnx_outputs:
        if output.name not in graph_outputs:
            raise BundleError(
                f"{manifest.model_file}: graph has no output {output.name!r} (for {output.output!r})"
            )


def _check_image_shape(model_file: str, name: str, shape: list[Any], expected: tuple[int, int, int]) -> None:
    """An image input is 4-D; its fixed dimensions (a name or None: any) are the manifest's."""
    fixed = [(got, want) for got, want in zip(shape[1:], expected, strict=False) if isinstance(got, int)]
    if len(shape) != 4 or any(got != want for got, want in fixed):
        raise BundleError(
            f"{model_file}: image input {name!r} has shape {shape}, "
            f"manifest says [N, {', '.join(map(str, expected))}]"
        )
