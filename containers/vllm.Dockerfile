# The monkeys image for GPU sampling with vLLM: the workflow image plus the `vllm`
# extra (vLLM and the CUDA build of PyTorch it pins; several GB). It runs every rule,
# so it can serve as the one `container` of a run whose models use `backend: vllm`:
#
#   docker build -f containers/vllm.Dockerfile -t monkeys-vllm:0.1.0 .
#   apptainer build monkeys-vllm.sif docker-daemon://monkeys-vllm:0.1.0
#   snakemake --profile slurm --sdm apptainer --config container=$PWD/monkeys-vllm.sif
#
# The GPU comes from the host: `docker run --gpus all`, or apptainer's `--nv` (see
# slurm/config.yaml, apptainer-args). Model weights are not baked in: mount a model
# directory and use `weights: {path: /models/NAME}`, or set HF_HOME to a shared cache
# for `weights: {hf: ORG/NAME}` (and HF_HUB_OFFLINE=1 on nodes without internet).
#
# BASE_IMAGE must provide python3.11 with venv and a C/C++ toolchain can be installed
# (llama-cpp-python, a base dependency, compiles at build time).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG VLLM_VERSION=0.33.0
RUN if command -v apt-get >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
      && rm -rf /var/lib/apt/lists/*; fi
WORKDIR /opt/monkeys
COPY pyproject.toml README.md ./
COPY src ./src
COPY config ./config
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -e ".[vllm]" "vllm==${VLLM_VERSION}"
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
