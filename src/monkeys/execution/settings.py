"""The sandbox's settings from the config's `execution` section, and what a job's log says
about the fork servers that ran it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from monkeys.execution.isolation import Isolation
from monkeys.execution.sandbox import Limits


def limits_from(execution: Mapping[str, Any]) -> tuple[Limits, Limits]:
    """(limits for the `test` suite, limits for the `plus_test` suite) from the config section."""
    limits = Limits(
        timeout_s=float(execution["timeout_s"]),
        memory_mb=int(execution["memory_mb"]),
        file_size_mb=int(execution.get("file_size_mb", 16)),
        max_processes=int(execution.get("max_processes", 16)),
    )
    plus = execution.get("plus_timeout_s")
    return limits, (replace(limits, timeout_s=float(plus)) if plus else limits)


def isolation_from(execution: Mapping[str, Any]) -> Isolation:
    """The isolation level and its settings from the config section."""
    return Isolation(
        level=str(execution.get("isolation", "process")),
        image=str(execution.get("image", Isolation.image)),
        disk_mb=int(execution.get("disk_mb", 64)),
    )


def describe_servers(report: list[dict[str, Any]]) -> str:
    """One line on the fork servers' ready frames: what isolation each achieved."""
    if not report:
        return "no fork servers started"
    iso = [r.get("isolation") or {} for r in report]
    return (
        f"{len(report)} fork server(s), python {report[0].get('python')}, "
        f"own uid: {all(r.get('drops_to') for r in report)}, "
        f"no network: {all(i.get('network') for i in iso)}, "
        f"read-only filesystem: {all(i.get('filesystem') for i in iso)}"
        + (f" ({iso[0].get('why')})" if iso[0].get("why") else "")
        + f", CPUs per server: {[r.get('cpus') for r in report]}, "
        f"CPUs locked: {all(r.get('cpu_lock') for r in report)}, "
        f"candidates' system calls refused: {_refused_by_all(report)}"
    )


def _refused_by_all(report: list[dict[str, Any]]) -> str:
    """What every fork server's seccomp filter refuses, in order
    (monkeys.execution.seccomp.FILTER_DEFENCES)."""
    lists = [r.get("seccomp") or [] for r in report]
    common = [name for name in lists[0] if all(name in other for other in lists[1:])]
    return "; ".join(common) or "none"
