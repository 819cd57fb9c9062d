# The monkeys sandbox image: a Python 3 (>= 3.11) for the execution engine to run candidate
# programs in, with no network tools and nothing else. The isolation levels `docker` and
# `podman` run a whole execution shard in ONE container of it (`monkeys.execution.relay`,
# started with no network, a read-only root, a small /tmp, memory and pids limits).
#
#   docker build -f containers/sandbox.Dockerfile -t monkeys-sandbox:0.1.0 src
#
# (the build context is `src/`). BASE_IMAGE needs python3 >= 3.11 or apt-get; where no registry
# is reachable, import one from a debootstrap rootfs (what CI does, tests/test_isolation.py):
#
#   debootstrap --variant=minbase --include=python3 bookworm rootfs
#   tar -C rootfs -c . | docker import - monkeys-base:bookworm
#   docker build -f containers/sandbox.Dockerfile --build-arg BASE_IMAGE=monkeys-base:bookworm \
#       -t monkeys-sandbox:0.1.0 src
#
# At run time the workflow binds its own src/monkeys read-only over /opt/monkeys/monkeys, so
# verdicts come from exactly the engine code the workflow hashes; the copy baked in here makes
# the image usable on its own.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY monkeys /opt/monkeys/monkeys
RUN (command -v python3 >/dev/null \
        || (apt-get update && apt-get install -y --no-install-recommends python3 \
            && rm -rf /var/lib/apt/lists/*)) \
    && python3 -c "import sys; assert sys.version_info >= (3, 11), sys.version" \
    && PYTHONPATH=/opt/monkeys python3 -s -P -c "import monkeys.execution.relay" \
    && getent passwd nobody >/dev/null \
    && find /opt/monkeys -name __pycache__ -prune -exec rm -rf {} +
ENV PYTHONPATH=/opt/monkeys PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0 LANG=C.UTF-8
ENTRYPOINT ["python3", "-s", "-P", "-m", "monkeys.execution.relay"]
