"""Logging for workflow scripts: everything to the rule's log file, user errors as one line."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from monkeys.errors import MonkeysError


@contextmanager
def logged(log_path: str) -> Iterator[None]:
    """Send logging and stderr to `log_path`; a MonkeysError exits 1 with its message only."""
    with open(log_path, "w") as fh:
        sys.stderr = fh
        logging.basicConfig(
            stream=fh, level=logging.INFO, force=True, format="%(asctime)s %(levelname)s %(message)s"
        )
        try:
            yield
        except MonkeysError as exc:
            print(f"error: {exc}", file=fh)
            sys.__stderr__.write(f"error: {exc}\n")  # type: ignore[union-attr]
            raise SystemExit(1) from None
        except BaseException:
            traceback.print_exc(file=fh)
            raise
        finally:
            fh.flush()
            sys.stderr = sys.__stderr__
