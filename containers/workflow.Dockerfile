# The monkeys workflow image: Python 3.11, the library and its pinned dependencies
# (llama.cpp compiled once at build time). Every Snakemake job can run in it with
# `--sdm apptainer` (config key `container`).
#
#   docker build -f containers/workflow.Dockerfile -t monkeys-workflow:0.1.0 .
#
# BASE_IMAGE must provide python3.11 with venv and a C/C++ toolchain; override it
# where no registry is reachable (e.g. an image imported from a debootstrap rootfs).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
RUN if command -v apt-get >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
      && rm -rf /var/lib/apt/lists/*; fi
WORKDIR /opt/monkeys
COPY pyproject.toml README.md ./
COPY src ./src
COPY config ./config
RUN python3 -m venv /opt/venv && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" /opt/venv/bin/pip install --no-cache-dir -e .
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
