"""Training on several processes: the world a training process lives in, and launching one.

Processes are started by ``torchrun`` (one machine: ``--standalone``; several: a c10d rendezvous),
which sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in every process's environment. Nothing here
assumes one machine: the device is chosen by ``LOCAL_RANK``, the share of the data by ``RANK`` and
``WORLD_SIZE``, and only rank 0 touches files that a resumed run needs (it reads the checkpoint
and sends it to the others).

Read top to bottom:

1. ``World``: rank, size and device of this process, and the few collectives training uses
   (sum, gather of row shards, broadcast from rank 0). A world of size 1 does no communication.
2. ``training_world``: the world from torchrun's environment (gloo on CPU, nccl on GPU), with a
   timeout on every collective; an error in this process becomes one line naming its rank.
3. ``launch``: run ``python -m <module> <args>`` in ``nproc`` processes on this machine, exactly as
   ``torchrun --standalone --nproc-per-node <nproc> -m <module> <args>`` does, and turn the failure of
   any process into one line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import signal
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import Tensor

from motioninr.device import resolve_device
from motioninr.errors import MotionINRError, SettingsError
from motioninr.settings import require

DEFAULT_TIMEOUT = timedelta(minutes=10)
WORLD_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
NOT_AVAILABLE = "<N/A>"  # torchrun's error_file of a process that recorded no error
CONSEQUENCE = "motioninr_consequence"  # marks a recorded error caused by another process's failure


class ProcessGroupError(MotionINRError):
    """A collective operation failed: another training process stopped, or one timed out."""


@dataclass(frozen=True)
class ParallelSettings:
    """How many training processes the ``train`` stage starts on this machine (``params.yaml: train.nproc``).

    ``nproc > 1`` runs the stage under ``torchrun --standalone --nproc-per-node nproc`` (one
    process per GPU with ``device: auto`` on a GPU machine, else CPU processes). A stage started
    by ``torchrun`` itself (several machines) uses torchrun's world and ignores ``nproc``.
    """

    nproc: int = 1

    def validate(self, where: str = "train") -> None:
        require(self.nproc >= 1, f"{where}.nproc", self.nproc, "an integer >= 1 (processes on this machine)")


# ----------------------------------------------------------------------------- 1. the world

@dataclass(frozen=True)
class World:
    """This process's place among ``size`` training processes (``rank`` 0 .. size - 1).

    Collectives are no-ops in a world of size 1, so code written against a ``World`` runs
    unchanged in one process.
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that reads and writes files."""
        return self.rank == 0

    def bounds(self, n: int, rank: int | None = None) -> tuple[int, int]:
        """The rows ``[start, stop)`` of ``n`` owned by ``rank`` (default: this process); sizes differ by <= 1."""
        r = self.rank if rank is None else rank
        return n * r // self.size, n * (r + 1) // self.size

    def _collective(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - whatever the backend raises, the cause is another process
            detail = re.sub(r"^\[[^\]]*\]\s*", "", " ".join(str(exc).split()))  # without the source location
            detail = detail if len(detail) <= 120 else detail[:117] + "..."
            raise ProcessGroupError(f"{what} failed: another training process stopped or did not answer in time "
                                    f"({detail})") from None

    def all_reduce_(self, tensor: Tensor) -> Tensor:
        """Sum ``tensor`` over all processes, in place; every process gets the same result."""
        if self.size > 1:
            self._collective("all-reduce", dist.all_reduce, tensor)
        return tensor

    def gather_rows(self, shard: Tensor, n: int) -> Tensor:
        """The full ``(n, ...)`` tensor from every process's ``shard`` of rows ``bounds(n)``; on every process."""
        if self.size == 1:
            return shard
        sizes = [b - a for a, b in (self.bounds(n, r) for r in range(self.size))]
        padded = shard.new_zeros((max(sizes), *shard.shape[1:]))
        padded[:len(shard)] = shard
        parts = [torch.empty_like(padded) for _ in range(self.size)]
        self._collective("gather", dist.all_gather, parts, padded.contiguous())
        return torch.cat([p[:k] for p, k in zip(parts, sizes)])

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` (any picklable value, tensors included) on every process."""
        if self.size == 1:
            return obj
        box = [obj if self.is_main else None]
        device = self.device if self.device.type == "cuda" else None
        self._collective("broadcast", dist.broadcast_object_list, box, 0, device=device)
        return box[0]


# ----------------------------------------------------------------------------- 2. starting a world

def in_launched_world() -> bool:
    """True in a process started by torchrun (its environment names a world)."""
    return all(name in os.environ for name in WORLD_ENV)


def process_device(name: str, local_rank: int, where: str = "device") -> torch.device:
    """The device of the process with ``local_rank`` on its machine: ``auto``/``cuda`` -> ``cuda:<local_rank>``."""
    device = resolve_device(name, where)
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise SettingsError(f"{where}: got {name!r}, expected auto, cpu or cuda when training on several processes")
    if device.index is not None:
        raise SettingsError(f"{where}: got {name!r}, expected auto, cpu or cuda when training on several processes "
                            "(each process uses the GPU of its local rank)")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise SettingsError(f"{where}: the process of local rank {local_rank} needs a GPU of its own but this machine "
                            f"has {count}; start at most {count} processes per machine (train.nproc, or torchrun "
                            "--nproc-per-node), or train on the CPU")
    return torch.device("cuda", local_rank)


def record_error(message: str, consequence: bool = False) -> None:
    """Leave ``message`` where torchrun's agent looks for a worker's error (``TORCHELASTIC_ERROR_FILE``).

    ``consequence``: the error only says that another process failed (see :func:`launch`).
    """
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path:
        return
    info = {"py_callstack": "", "timestamp": str(int(time.time())), CONSEQUENCE: str(consequence).lower()}
    data = {"message": {"message": message, "extraInfo": info}}
    with contextlib.suppress(OSError):
        Path(path).write_text(json.dumps(data))


@contextlib.contextmanager
def training_world(device: str = "auto", where: str = "device",
                   timeout: timedelta = DEFAULT_TIMEOUT) -> Iterator[World]:
    """The world of this process: from torchrun's environment, else a world of size 1 on ``device``.

    In a world of several processes, each uses ``cuda:<LOCAL_RANK>`` (nccl) when ``device`` resolves
    to a GPU, else the CPU (gloo); every collective gives up after ``timeout``. A
    :class:`~motioninr.errors.MotionINRError` raised inside becomes the same error prefixed with
    ``rank <r>:`` and is recorded for torchrun; the process group is closed on the way out.
    """
    size = int(os.environ.get("WORLD_SIZE", "1")) if in_launched_world() else 1
    if size == 1:
        yield World(device=resolve_device(device, where))
        return
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    try:
        dev = process_device(device, local_rank, where)
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        backend = "nccl" if dev.type == "cuda" else "gloo"
        World(rank, size)._collective("joining the other training processes", dist.init_process_group,
                                      backend, timeout=timeout, rank=rank, world_size=size)
        yield World(rank, size, local_rank, dev)
    except ProcessGroupError as exc:  # a consequence of another process's failure, not a cause
        record_error(f"error: rank {rank}: {exc}", consequence=True)
        raise ProcessGroupError(f"rank {rank}: {exc}") from None
    except MotionINRError as exc:
        message = f"rank {rank}: {exc}"
        record_error(f"error: {message}")
        try:
            error = type(exc)(message)
        except TypeError:  # a subclass with another constructor
            error = MotionINRError(message)
        raise error from None
    except Exception as exc:
        record_error(f"rank {rank}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


# ----------------------------------------------------------------------------- 3. launching

def _extra_info(failure) -> dict:
    message = failure.error_file_data.get("message")
    return message.get("extraInfo", {}) if isinstance(message, dict) else {}


class TrainingProcessError(MotionINRError):
    """A process started by :func:`launch` failed."""


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _import_root(module: str) -> str:
    """The folder from which ``module`` is imported here, so that the started processes import the same code."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise MotionINRError(f"{module}: module not found; run from the project folder")
    path = Path(spec.origin).resolve()
    for _ in module.split("."):
        path = path.parent
    if Path(spec.origin).name == "__init__.py":
        path = path.parent
    return str(path)


def launch(nproc: int, module: str, args: list[str]) -> int:
    """Run ``python -m module *args`` in ``nproc`` processes on this machine under torchrun (standalone).

    Same as ``torchrun --standalone --nproc-per-node nproc -m module *args``. When a process fails,
    torchrun stops the others. Returns 0 when every process succeeded, 1 when a process failed
    after printing its error (and recording it for torchrun, see :func:`training_world`); raises
    :class:`TrainingProcessError` naming the rank when a process was killed or crashed without a word.
    """
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    if nproc < 1:
        raise SettingsError(f"nproc: got {nproc}, expected an integer >= 1")
    options = torchrun.parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", module, *args])
    paths = [_import_root(module), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # torchrun's own log lines; failures are reported below
    try:
        with _environment(PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)),
                          OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1")):
            torchrun.run(options)
        return 0
    except ChildFailedError as exc:
        failures = exc.failures
        recorded = {r for r, f in failures.items() if f.error_file != NOT_AVAILABLE}
        if any(_extra_info(failures[r]).get(CONSEQUENCE) != "true" for r in recorded):
            return 1  # the process that failed printed its error
        silent = {r: f for r, f in failures.items() if r not in recorded}
        # torchrun stops the remaining processes with SIGTERM: those are not the cause
        causes = {r: f for r, f in silent.items() if f.exitcode != -signal.SIGTERM} or silent
        if not causes:
            return 1  # every process printed that it lost the others
        said = [f"rank {r} " + (f"was stopped by signal {f.signal_name()}" if f.exitcode < 0
                                else f"exited with status {f.exitcode}") for r, f in sorted(causes.items())]
        raise TrainingProcessError(f"training process of {', '.join(said)} (see the output above)") from None
    finally:
        logging.disable(disabled)
