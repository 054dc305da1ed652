"""The training display: :class:`motioninr.progress.Progress` over epochs, showing the latest losses.

On a terminal it is a live bar with an ETA; otherwise (logs, CI) a plain line every few seconds.
"""

from __future__ import annotations

from rich.console import Console

from motioninr.progress import EVERY_SECONDS, Progress


def describe(record: dict) -> str:
    """One line of an epoch record: pass, loss, reconstruction, KLs and position error."""
    return (f"{record['pass']:<7} loss {record['loss']:.4g}  recon {record['recon']:.4g}  "
            f"kl {record['kl_seq']:.3g}/{record['kl_act']:.3g}  mpjpe {record['mpjpe_cm']:.2f} cm")


class TrainingProgress(Progress):
    """Use as a context manager; call :meth:`update` with each epoch record (``fit``'s ``on_epoch``)."""

    def __init__(self, epochs: int, console: Console | None = None, every: float = EVERY_SECONDS, **kwargs):
        super().__init__(epochs, "train", unit="epochs", console=console, every=every, **kwargs)
        self.epochs = epochs

    def update(self, record: dict, restored: bool = False) -> None:  # type: ignore[override]
        """Show epoch ``record``; ``restored``: it was trained before a resume (restarts the ETA clock)."""
        super().update(record["epoch"], describe(record), restart=restored)
