"""A movable clock for the local stack: `CCHC_LOCAL_CLOCK_FILE` names a file holding a number of seconds that
every process loading the app (the API, the workers) adds to the real time in `runtime.now()`. A driver such as
bench/rehearsal.py writes the file to live through days of a campaign in minutes; a missing or empty file means
no shift. Local only: nothing on AWS sets the variable."""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path


class FileClock:
    """`now()` = real UTC time + the offset in the file, re-read only when the file changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._offset = 0.0

    def offset(self) -> float:
        try:
            stat = os.stat(self.path)
        except OSError:
            return 0.0
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    text = self.path.read_text(encoding="ascii").strip()
                    self._offset = float(text) if text else 0.0
                except (OSError, ValueError):
                    return self._offset
                self._stamp = stamp
            return self._offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset())


def set_offset(path: str | Path, seconds: float) -> None:
    """Move the clock of every process reading `path` (written atomically)."""
    target = Path(path)
    temp = target.with_name(target.name + ".tmp")
    temp.write_text(f"{seconds:.3f}\n", encoding="ascii")
    os.replace(temp, target)


def install_from_environment() -> FileClock | None:
    """Point the app's runtime at the file clock when CCHC_LOCAL_CLOCK_FILE is set."""
    path = os.environ.get("CCHC_LOCAL_CLOCK_FILE")
    if not path:
        return None
    from chalicelib.runtime import runtime

    clock = FileClock(path)
    runtime.now = clock.now  # type: ignore[method-assign]
    return clock
