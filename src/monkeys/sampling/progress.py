"""Progress of one sampling shard: problems done, samples/s, tokens/s and ETA, logged as it goes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Counts finished problems and logs a line at most every `interval_s` (and at the end).

    Rates count only what this run sampled (problems resumed from part files are
    done but not timed), so the ETA holds for the rest of the shard.
    """

    def __init__(
        self,
        label: str,
        problems: int,
        samples: int,
        *,
        resumed_problems: int = 0,
        resumed_samples: int = 0,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label
        self.problems = problems
        self.samples = samples
        self.resumed_problems = resumed_problems
        self.done_problems = resumed_problems
        self.done_samples = resumed_samples
        self.new_samples = 0
        self.new_tokens = 0
        self.interval_s = interval_s
        self._clock = clock
        self._started = clock()
        self._logged = self._started - interval_s  # the first update logs

    def rates(self) -> tuple[float, float]:
        """(samples/s, completion tokens/s) of this run so far."""
        elapsed = max(self._clock() - self._started, 1e-9)
        return self.new_samples / elapsed, self.new_tokens / elapsed

    def line(self) -> str:
        samples_s, tokens_s = self.rates()
        left = self.samples - self.done_samples
        eta = _duration(left / samples_s) if samples_s > 0 else "?"
        resumed = f" ({self.resumed_problems} resumed)" if self.resumed_problems else ""
        return (
            f"{self.label}: problems {self.done_problems}/{self.problems}{resumed}, "
            f"samples {self.done_samples}/{self.samples}, {samples_s:.2f} samples/s, "
            f"{tokens_s:.1f} tokens/s, elapsed {_duration(self._clock() - self._started)}, "
            f"ETA {eta}"
        )

    def update(self, samples: int, completion_tokens: int) -> None:
        """One more problem finished with `samples` samples and `completion_tokens` tokens."""
        self.done_problems += 1
        self.done_samples += samples
        self.new_samples += samples
        self.new_tokens += completion_tokens
        now = self._clock()
        if now - self._logged >= self.interval_s or self.done_problems == self.problems:
            self._logged = now
            log.info("%s", self.line())
