import io

import pytest
from rich.console import Console

from motioninr.model.progress import TrainingProgress
from motioninr.progress import Progress, clock_text, track


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def plain_console():
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=200), out


def test_plain_lines_every_few_seconds_with_eta_when_not_on_a_terminal():
    console, out = plain_console()
    clock = FakeClock()
    seen = []
    for i in track(range(10), "evaluate", unit="replications", console=console, every=5.0, clock=clock):
        seen.append(i)
        clock.now += 2.0  # each step takes 2 s: a line after steps 3, 6 and 9 (6 s, 12 s, 18 s), then the last
    assert seen == list(range(10))
    lines = out.getvalue().splitlines()
    assert lines == [
        "evaluate: 3/10 replications (30%), 0:00:06 elapsed, eta 0:00:14",
        "evaluate: 6/10 replications (60%), 0:00:12 elapsed, eta 0:00:08",
        "evaluate: 9/10 replications (90%), 0:00:18 elapsed, eta 0:00:02",
        "evaluate: 10/10 replications (100%), 0:00:20 elapsed",
    ]
    assert "\x1b" not in out.getvalue()  # no terminal control codes in a log


def test_short_work_prints_nothing_off_a_terminal():
    console, out = plain_console()
    clock = FakeClock()
    for _ in track([1, 2, 3], "render", console=console, clock=clock):
        clock.now += 0.5
    assert out.getvalue() == ""


def test_an_error_inside_the_loop_stops_without_a_completion_line():
    console, out = plain_console()
    clock = FakeClock()
    with pytest.raises(RuntimeError):
        with Progress(4, "fit-gmm", console=console, clock=clock) as p:
            clock.now += 60
            raise RuntimeError("boom")
    assert p.completed == 0 and out.getvalue() == ""


def test_training_progress_shows_losses_and_restarts_the_clock_on_resume():
    console, out = plain_console()
    clock = FakeClock()
    record = {"pass": "decoder", "loss": 0.5, "recon": 0.4, "kl_seq": 0.01, "kl_act": 0.02, "mpjpe_cm": 3.0}
    with TrainingProgress(100, console=console, clock=clock) as progress:
        clock.now += 1000  # time spent before the resume does not count towards the ETA
        progress.update({**record, "epoch": 50}, restored=True)
        clock.now += 10
        progress.update({**record, "epoch": 60})
    first = out.getvalue().splitlines()[0]
    assert first.startswith("train: 60/100 epochs (60%), 0:00:10 elapsed, eta 0:00:07")
    assert "loss 0.5" in first and "mpjpe 3.00 cm" in first


def test_a_terminal_gets_a_live_bar_not_plain_lines():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with Progress(3, "generate", console=console) as p:
        assert p.live
        p.advance()
    assert "generate" in out.getvalue()


def test_clock_text():
    assert clock_text(0) == "0:00:00" and clock_text(3725.4) == "1:02:05"
