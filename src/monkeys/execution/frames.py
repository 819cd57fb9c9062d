"""Frames between a fork server and its pool: 4-byte big-endian length, then a JSON body.

Standard library only (the fork server runs on any Python >= 3.11 that can import this
package)."""

from __future__ import annotations

import json
import os
import selectors
import struct
import time
from typing import Any

_HEADER = struct.Struct(">I")


def encode_frame(obj: Any) -> bytes:
    """One frame: 4-byte big-endian length, then the JSON body."""
    body = json.dumps(obj).encode()
    return _HEADER.pack(len(body)) + body


def write_frame(fd: int, obj: Any) -> None:
    """Write one frame to a raw fd, all of it."""
    view = memoryview(encode_frame(obj))
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    buf = bytearray()
    poller = None
    if deadline is not None:
        poller = selectors.DefaultSelector()
        poller.register(fd, selectors.EVENT_READ)
    try:
        while len(buf) < n:
            if poller is not None:
                remaining = deadline - time.monotonic()  # type: ignore[operator]
                if remaining <= 0:
                    raise TimeoutError("no complete frame before the deadline")
                if not poller.select(remaining):
                    continue
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise EOFError(f"end of stream after {len(buf)} of {n} bytes")
            buf += chunk
    finally:
        if poller is not None:
            poller.close()
    return bytes(buf)


def read_frame(fd: int, deadline: float | None = None) -> Any | None:
    """Read one frame from a raw fd; None on a clean end of stream before a frame starts.

    Raises EOFError on a stream cut mid-frame and TimeoutError past `deadline` (time.monotonic).
    """
    try:
        header = _read_exact(fd, _HEADER.size, deadline)
    except EOFError as exc:
        if str(exc).startswith("end of stream after 0 "):
            return None
        raise
    (length,) = _HEADER.unpack(header)
    return json.loads(_read_exact(fd, length, deadline))


class FrameReader:
    """Incremental frame parser for non-blocking readers: feed bytes, take complete frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buf += data
        frames = []
        while len(self._buf) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buf)
            if len(self._buf) < _HEADER.size + length:
                break
            frames.append(json.loads(bytes(self._buf[_HEADER.size : _HEADER.size + length])))
            del self._buf[: _HEADER.size + length]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)
