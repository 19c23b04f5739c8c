# syntax=docker/dockerfile:1
# Edge scoring app (FastAPI + onnxruntime): `python -m scoring_app` on port 8000.
# Build from the repository root:
#   docker build -f infra/docker/scoring.Dockerfile -t edgeloop/scoring:0.1.0 .
# A site with an NVIDIA GPU or Intel OpenVINO devices: --build-arg ONNXRUNTIME=gpu (or openvino),
# then SCORING_EXECUTION_PROVIDERS names the providers (docs/acceleration.md).
# The model bundle, the model-delivery cache and the SQLite outbox live on volumes, never in the
# image: models are delivered per site (the cache holds the verified ones, served after a restart
# even offline), and the outbox must survive the container (nothing accepted is lost).

# --- build stage: a virtualenv with the project and its pinned dependencies -------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, every transitive version and hash from the lock, so code edits reuse this layer.
COPY requirements/images.lock requirements/images-gpu.lock requirements/images-openvino.lock requirements/
RUN /opt/venv/bin/pip install --no-compile --require-hashes -r requirements/images.lock
# The onnxruntime build (docs/acceleration.md): cpu (the default); gpu (onnxruntime-gpu: the CUDA and
# TensorRT providers, CUDA and cuDNN from PyPI's wheels); openvino (onnxruntime-openvino). The other
# builds replace the CPU one (they install the same module); their locks hold every other version
# of images.lock unchanged, so --no-deps adds only the build and what it brings.
ARG ONNXRUNTIME=cpu
RUN case "$ONNXRUNTIME" in \
      cpu) ;; \
      gpu|openvino) /opt/venv/bin/pip uninstall --yes onnxruntime \
        && /opt/venv/bin/pip install --no-compile --no-deps --require-hashes \
           -r "requirements/images-$ONNXRUNTIME.lock" ;; \
      *) echo "ONNXRUNTIME=$ONNXRUNTIME: cpu, gpu or openvino" >&2; exit 1 ;; \
    esac
COPY pyproject.toml README.md ./
COPY edgeloop/ edgeloop/
COPY scoring_app/ scoring_app/
COPY functions/ functions/
RUN /opt/venv/bin/pip install --no-compile --no-deps . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# --- runtime stage: no compilers, no pip cache, no source tree ----------------------------
FROM python:3.11-slim-bookworm
# SCORING_API_KEY_FILE is a path, not a secret: outside Kubernetes the app keeps its generated
# key there, on the persistent volume (in Kubernetes SCORING_API_KEY comes from a Secret).
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SCORING_HOST=0.0.0.0 \
    SCORING_PORT=8000 \
    SCORING_MODEL_DIR=/var/lib/edgeloop/models/current \
    SCORING_MODEL_CACHE_DIR=/var/lib/edgeloop/model-cache \
    SCORING_OUTBOX_PATH=/var/lib/edgeloop/outbox/outbox.sqlite3 \
    SCORING_API_KEY_FILE=/var/lib/edgeloop/outbox/scoring-api-key \
    EDGELOOP_COMPLIANCE_POLICY=/opt/edgeloop/policies/compliance.yaml
# A fixed numeric uid/gid so Kubernetes `runAsNonRoot` can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 edgeloop \
    && useradd --system --uid 10001 --gid edgeloop --no-create-home --shell /usr/sbin/nologin edgeloop \
    && mkdir -p /var/lib/edgeloop/models /var/lib/edgeloop/model-cache /var/lib/edgeloop/outbox \
       /var/lib/edgeloop/frames \
    && chown -R 10001:10001 /var/lib/edgeloop/model-cache /var/lib/edgeloop/outbox /var/lib/edgeloop/frames
COPY --from=build /opt/venv /opt/venv
# The compliance policy: its `frames` section decides which kept frames may leave (docs/frames.md).
COPY policies/compliance.yaml /opt/edgeloop/policies/compliance.yaml
VOLUME ["/var/lib/edgeloop/models", "/var/lib/edgeloop/model-cache", "/var/lib/edgeloop/outbox", \
        "/var/lib/edgeloop/frames"]
USER 10001:10001
WORKDIR /var/lib/edgeloop
EXPOSE 8000
# Python, not curl: the slim image has no curl, and adding it only for this widens the image.
# urlopen raises on any non-2xx answer or timeout, so the exit code is the health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["python", "-m", "scoring_app"]
