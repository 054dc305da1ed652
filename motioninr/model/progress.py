"""A progress display for training: a rich bar with the latest losses and an ETA.

On a terminal it is a live bar; otherwise (logs, CI) it prints one line every tenth of the run.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)


def describe(record: dict) -> str:
    """One line of an epoch record: pass, loss, reconstruction, KLs and position error."""
    return (f"{record['pass']:<7} loss {record['loss']:.4g}  recon {record['recon']:.4g}  "
            f"kl {record['kl_seq']:.3g}/{record['kl_act']:.3g}  mpjpe {record['mpjpe_cm']:.2f} cm")


class TrainingProgress:
    """Use as a context manager; call :meth:`update` with each epoch record (``fit``'s ``on_epoch``)."""

    def __init__(self, epochs: int, console: Console | None = None):
        self.epochs = epochs
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self.every = max(1, epochs // 10)
        self.progress = Progress(
            TextColumn("[bold]train[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[losses]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=self.console, disable=not self.live,
        )
        self.task = None

    def __enter__(self) -> "TrainingProgress":
        self.progress.start()
        self.task = self.progress.add_task("epochs", total=self.epochs, losses="")
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, record: dict, restored: bool = False) -> None:
        text = describe(record)
        if restored:  # restart the clock so the ETA only counts epochs trained now
            self.progress.reset(self.task, completed=record["epoch"], losses=text)
        else:
            self.progress.update(self.task, completed=record["epoch"], losses=text)
        if not self.live and not restored and (record["epoch"] % self.every == 0 or record["epoch"] == self.epochs):
            self.console.print(f"epoch {record['epoch']}/{self.epochs}  {text}", highlight=False)

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False)
