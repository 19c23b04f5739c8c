# syntax=docker/dockerfile:1
# Edgeloop Azure Functions app (root function_app.py + host.json) on the official Functions
# Python base image. One image serves both roles; EDGELOOP_ROLE picks which blueprints
# function_app.py registers (`edge` on a site, `cloud` in Azure).
# Build from the repository root:
#   docker build -f infra/docker/functions.Dockerfile --build-arg EDGELOOP_ROLE=edge \
#     -t edgeloop/functions-edge:0.1.0 .

# Pinned by tag: the 4.x host with Python 3.11. Production builds should pin the digest too.
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

ARG EDGELOOP_ROLE=edge
# The host listens on 8080 so it can run as a non-root user (no port below 1024).
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=python \
    EDGELOOP_ROLE=${EDGELOOP_ROLE} \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ASPNETCORE_URLS=http://+:8080

WORKDIR /tmp/edgeloop-src
# The project is installed as a package into the image's Python, where the Functions Python
# worker finds it; its dependencies come from the lock (every transitive version, hashed).
COPY requirements/images.lock requirements/images.lock
RUN pip install --no-compile --require-hashes -r requirements/images.lock
COPY pyproject.toml README.md ./
COPY edgeloop/ edgeloop/
COPY scoring_app/ scoring_app/
COPY functions/ functions/
RUN pip install --no-compile --no-deps . \
    && rm -rf /tmp/edgeloop-src

WORKDIR /home/site/wwwroot
COPY function_app.py host.json ./
# The default compliance policy; a site with its own mounts it over this path.
COPY policies/ policies/
ENV EDGELOOP_COMPLIANCE_POLICY=/home/site/wwwroot/policies/compliance.yaml

# A fixed numeric uid so Kubernetes `runAsNonRoot` can verify it.
RUN groupadd --system --gid 10001 edgeloop \
    && useradd --system --uid 10001 --gid edgeloop --no-create-home --shell /usr/sbin/nologin edgeloop
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: the edge role runs only the queue-triggered function and serves no HTTP
# route worth probing; the orchestrator watches the process (see infra/k8s/base).
HEALTHCHECK NONE
