"""Progress of long work: a rich bar with an ETA on a terminal, a plain line every few seconds elsewhere.

Under ``dvc repro`` in a scheduler's log (no terminal) a live bar would be noise, and silence for
an hour looks like a hang; there the display prints one line such as
``evaluate: 7/20 replications (35%), 0:01:10 elapsed, eta 0:02:10`` at most every ``every``
seconds, and a last line when the work took at least that long.

    for r in track(range(20), "evaluate", unit="replications"):
        ...

or, where the loop lives elsewhere, ``with Progress(total, "train") as p: ... p.advance()``.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, TypeVar

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress as _RichProgress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

T = TypeVar("T")
EVERY_SECONDS = 5.0  # between plain progress lines when not on a terminal


def clock_text(seconds: float) -> str:
    """``H:MM:SS`` of a duration in seconds."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Progress of ``total`` steps of ``description`` (a context manager).

    console: where to draw (default: stderr). On a terminal a live rich bar; otherwise a line
             every ``every`` seconds of the ``clock`` (monotonic seconds; replaceable for tests).
    """

    def __init__(self, total: int, description: str, *, unit: str = "", console: Console | None = None,
                 every: float = EVERY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.total, self.description, self.unit = int(total), description, unit
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self.every, self.clock = float(every), clock
        self.completed, self.text = 0, ""
        self.bar = _RichProgress(
            TextColumn(f"[bold]{description}[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn(unit), TextColumn("{task.fields[text]}"), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn(), console=self.console, disable=not self.live,
        )
        self.task = None

    def __enter__(self) -> "Progress":
        self.start = self.last = self.clock()
        self.printed = False
        self.bar.start()
        self.task = self.bar.add_task(self.description, total=self.total, text="")
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()
        if not self.live and exc[0] is None and self.clock() - self.start >= self.every:
            self.console.print(self.line(), highlight=False, markup=False, soft_wrap=True)

    def line(self) -> str:
        """The plain progress line: done/total, percentage, elapsed time, ETA and the latest text."""
        elapsed = self.clock() - self.start
        unit = f" {self.unit}" if self.unit else ""
        parts = [f"{self.description}: {self.completed}/{self.total}{unit}"]
        if self.total > 0:
            parts[0] += f" ({100 * self.completed / self.total:.0f}%)"
        parts.append(f"{clock_text(elapsed)} elapsed")
        if 0 < self.completed < self.total:
            parts.append(f"eta {clock_text(elapsed * (self.total - self.completed) / self.completed)}")
        return ", ".join(parts) + (f"  {self.text}" if self.text else "")

    def update(self, completed: int, text: str | None = None, *, restart: bool = False) -> None:
        """Set the number of steps done (and the text shown after the bar).

        restart: the steps so far were done earlier (a resumed run); the clock restarts so the ETA
        only counts the work done now.
        """
        self.completed = int(completed)
        if text is not None:
            self.text = text
        if restart:
            self.start = self.last = self.clock()
            self.bar.reset(self.task, completed=self.completed, text=self.text)
            return
        self.bar.update(self.task, completed=self.completed, text=self.text)
        now = self.clock()
        if not self.live and now - self.last >= self.every and self.completed < self.total:
            self.last = now
            self.console.print(self.line(), highlight=False, markup=False, soft_wrap=True)

    def advance(self, steps: int = 1, text: str | None = None) -> None:
        self.update(self.completed + steps, text)

    def log(self, message: str) -> None:
        """Print a message above the bar (or as a plain line)."""
        self.console.print(message, highlight=False, markup=False, soft_wrap=True)


def track(items: Iterable[T], description: str, *, total: int | None = None, unit: str = "",
          console: Console | None = None, every: float = EVERY_SECONDS,
          clock: Callable[[], float] = time.monotonic) -> Iterator[T]:
    """Yield ``items`` while showing their progress (``total`` defaults to ``len(items)``)."""
    if total is None:
        items = list(items) if not hasattr(items, "__len__") else items
        total = len(items)  # type: ignore[arg-type]
    with Progress(total, description, unit=unit, console=console, every=every, clock=clock) as progress:
        for item in items:
            yield item
            progress.advance()
