"""The scorer interface: every backend turns (prompt, completion) pairs into scores.

A score is a float, higher is better; `-inf` means "never prefer this sample"
(e.g. an empty completion under a log-likelihood scorer). A backend yields the
scores of whole problems as they finish (`score_groups`), so the stage can keep
each finished problem in a part file and a killed shard resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from monkeys.errors import MonkeysError

T = TypeVar("T")

# `analysis.score` values that need no scorer: the samples' own score, their mean log-probability.
BUILTIN_SCORES = ("none", "mean_logprob")


class ScoringError(MonkeysError, RuntimeError):
    """A scorer could not be set up or used; the message names the scorer and what to fix."""


@dataclass(frozen=True)
class ScoreRequest:
    """One sample to score: its problem's prompt and its completion."""

    problem_id: str
    sample_index: int
    prompt: str
    completion: str


@dataclass(frozen=True)
class Score:
    """A sample's score and the wall time spent on it."""

    score: float
    wall_s: float


@dataclass(frozen=True)
class ScorerInfo:
    """What produced the scores, for the job's log."""

    backend: str
    scorer: str
    details: dict[str, Any] = field(default_factory=dict)


class Scorer(Protocol):
    """A backend that scores samples."""

    info: ScorerInfo

    def score_groups(self, groups: Sequence[Sequence[ScoreRequest]]) -> Iterator[tuple[int, list[Score]]]:
        """(group position, scores in request order) for every group, as groups finish."""
        ...


def render(template: str, prompt: str, completion: str) -> str:
    """`template` with {{prompt}} and {{completion}} replaced (no other placeholder syntax, so
    braces in code are left alone)."""
    return template.replace("{{prompt}}", prompt).replace("{{completion}}", completion)


def run_groups(
    groups: Sequence[Sequence[T]], work: Callable[[T], Score], *, max_concurrency: int, name: str = "scorer"
) -> Iterator[tuple[int, list[Score]]]:
    """Apply `work` to every item with up to `max_concurrency` calls in flight; yield each
    group's results (in item order) as soon as all of its items are done.

    The first exception raised by `work` stops the run (queued work is cancelled) and
    propagates, after the groups finished before it were yielded.
    """
    pending = {position: len(group) for position, group in enumerate(groups)}
    results: dict[int, dict[int, Score]] = {position: {} for position in pending}
    for position, group in enumerate(groups):
        if not group:
            yield position, []
    queue = iter([(p, i) for p, group in enumerate(groups) for i in range(len(group))])
    pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix=name)
    running: dict[Future, tuple[int, int]] = {}

    def submit_next() -> None:
        item = next(queue, None)
        if item is not None:
            running[pool.submit(work, groups[item[0]][item[1]])] = item

    try:
        for _ in range(max_concurrency):
            submit_next()
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f]):
                position, index = running.pop(future)
                results[position][index] = future.result()
                pending[position] -= 1
                submit_next()
                if pending[position] == 0:
                    finished = results.pop(position)
                    yield position, [finished[i] for i in range(len(groups[position]))]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
