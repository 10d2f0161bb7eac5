"""Says what Rasa's training is doing while it runs, with the seconds since it started.

`rasa train` writes to .data/logs/train.log, and a first training takes minutes. This follows
that log from another thread and turns its few meaningful lines (checking the data, starting
and finishing each component, components reused from the cache, the policy's epochs) into
one short line each, plus a reminder of what is still running when the log is quiet for a
while, so a terminal and a CI log both show where training is without Rasa's full output.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

POLL_SECONDS = 1.0
# How long the log may stay quiet before the reader is told what is still running.
QUIET_SECONDS = 30.0

_VALIDATING = re.compile(r"Started validating domain and training data")
# The first component to run loads the spaCy pipeline; then every training example is
# tokenised, tagged and embedded before the first component trains (a minute or more).
_PREPARING = re.compile(r"Trying to load SpaCy model")
_SAVED = re.compile(r"Your Rasa model is trained and saved")
_STARTED = re.compile(r"Starting to train component '([^']+)'")
_FINISHED = re.compile(r"Finished training component '([^']+)'")
_RESTORED = re.compile(r"Restored component '([^']+)' from cache")
# tqdm's bar, rewritten in place with carriage returns: "Epochs:  35%|###   | 14/40 [...]".
_EPOCH = re.compile(r"Epochs:.*?\|\s*(\d+)/(\d+)")
PREPARING = "preparing the training examples (spaCy pipeline, sentence embeddings)"
NEXT_STEP = "preparing the next component"


class TrainingProgress:
    """A context manager around a training run that writes to ``log_path``."""

    def __init__(self, log_path: Path, say: Callable[[str], None]) -> None:
        self.log_path = log_path
        self.say = say
        self.started = time.monotonic()
        self._last_said = self.started
        self._offset = 0
        self._partial = ""
        self._running: list[str] = []
        self._activity: str | None = None
        self._component_started: dict[str, float] = {}
        self._epoch: tuple[int, int] | None = None
        self._restored: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="training-progress", daemon=True)

    def __enter__(self) -> TrainingProgress:
        # The previous run's log must not be read as this one's.
        self.log_path.unlink(missing_ok=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._read_new()
        self._say_restored()

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._read_new()
            if self._activity and time.monotonic() - self._last_said >= QUIET_SECONDS:
                self._tell(f"still {self._activity}{self._epoch_note()}", remember=False)

    def _read_new(self) -> None:
        try:
            with self.log_path.open("r", errors="replace") as log:
                log.seek(self._offset)
                chunk = log.read()
                self._offset = log.tell()
        except FileNotFoundError:
            return
        pieces = re.split(r"[\r\n]", self._partial + chunk)
        self._partial = pieces.pop()
        for line in pieces:
            self._line(line)
        # tqdm puts its carriage return before each update, so the latest epoch is the
        # unfinished last line.
        if found := _EPOCH.search(self._partial):
            self._epoch = (int(found.group(1)), int(found.group(2)))

    def _line(self, line: str) -> None:
        if _VALIDATING.search(line):
            self._tell("checking the domain and training data")
        elif _PREPARING.search(line):
            if self._activity != PREPARING:
                self._tell(PREPARING)
        elif _SAVED.search(line):
            self._activity = None
        elif found := _STARTED.search(line):
            name = found.group(1)
            self._running.append(name)
            self._component_started[name] = time.monotonic()
            self._epoch = None
            self._tell(f"training {name}")
        elif found := _FINISHED.search(line):
            name = found.group(1)
            if name in self._running:
                self._running.remove(name)
            took = time.monotonic() - self._component_started.pop(name, self.started)
            self._epoch = None
            self._tell(f"trained {name} ({took:.0f} s)", remember=False)
            self._activity = f"training {self._running[-1]}" if self._running else NEXT_STEP
        elif found := _RESTORED.search(line):
            self._restored.append(found.group(1))
        elif found := _EPOCH.search(line):
            self._epoch = (int(found.group(1)), int(found.group(2)))

    def _say_restored(self) -> None:
        # Rasa restores many components at once: one line for all of them, said before
        # whatever comes next.
        if self._restored:
            names = ", ".join(dict.fromkeys(self._restored))
            self._restored = []
            self._say(f"reused from the last training: {names}")

    def _epoch_note(self) -> str:
        return f" (epoch {self._epoch[0]}/{self._epoch[1]})" if self._epoch else ""

    def _tell(self, what: str, remember: bool = True) -> None:
        """Says ``what``; remembered as what is going on unless it is a step's end."""
        self._say_restored()
        self._say(what)
        if remember:
            self._activity = what

    def _say(self, what: str) -> None:
        now = time.monotonic()
        self._last_said = now
        self.say(f"  {now - self.started:4.0f} s  {what}")
