"""The run's journal: append-only JSON lines, one event a line, flushed and fsync'd per event.

A crash leaves every event written before it readable; the reader tolerates a torn last line
(a write the crash cut short). Reports are written with :func:`write_atomic`, so a reader never
sees a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

from pydantic import ValidationError

from sloverify._exceptions import InputError
from sloverify.engine.events import EVENT, Event

JOURNAL = "journal.jsonl"


class Journal:
    """Appends events to ``path`` (created if missing), durably, one line each."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, event: Event) -> None:
        """Write one event and fsync it before returning."""
        line = event.model_dump_json().encode() + b"\n"
        os.write(self._fd, line)
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_journal(path: Path) -> tuple[Event, ...]:
    """Every event of a journal; a torn last line is dropped, damage elsewhere is an error."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{path}: no journal here; give a run folder that `chaos run` wrote"
        ) from None
    lines = data.split(b"\n")
    events: list[Event] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(EVENT.validate_json(line))
        except ValidationError as exc:
            if number == len(lines):  # no newline after it: the write a crash cut short
                break
            raise InputError(
                f"{path}:{number}: not a journal event: {exc.errors()[0]['msg']}"
            ) from None
    return tuple(events)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
