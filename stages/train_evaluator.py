"""Stage ``train-evaluator``: the action-recognition feature extractor used by every metric (``params.yaml: evaluate``).

With ``evaluate.classifier: null`` the Action2Motion GRU classifier is trained on
the processed training split and scored on held-out motions; with a pretrained
file (our evaluator.pt or an Action2Motion .tar) it is validated against the
dataset and converted. Either way the result is ``models/evaluator.pt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import typer

from motioninr.data.dataset import load_meta, load_split
from motioninr.device import resolve_device
from motioninr.errors import exit_on_error
from motioninr.evaluation import EvaluateSettings, fit_and_score, load_classifier, save_classifier
from motioninr.evaluation.training import score_pretrained
from motioninr.io import save_json
from motioninr.progress import Progress
from motioninr.settings import from_mapping
from stages.common import read_params, section

app = typer.Typer(add_completion=False)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'evaluate')."),
    processed: Path = typer.Option(Path("data/processed"), help="Processed dataset folder."),
    out: Path = typer.Option(Path("models/evaluator.pt"), help="Evaluator checkpoint to write."),
    metrics: Path = typer.Option(Path("metrics/evaluator.json"), help="Held-out accuracy report to write."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Train (or validate a pretrained) GRU action classifier and save it as the evaluator."""
    with exit_on_error(debug):
        settings = from_mapping(EvaluateSettings, section(read_params(params), "evaluate"), "evaluate")
        torch.set_num_threads(settings.threads)
        meta = load_meta(processed)
        class_names = list(meta["class_names"])
        train = load_split(processed, "train")
        test = load_split(processed, "test") if (processed / "test.npz").is_file() else None
        device = resolve_device(settings.device, "evaluate.device")
        if settings.classifier is None:
            with Progress(settings.train.epochs, "train-evaluator", unit="epochs") as progress:
                clf, report = fit_and_score(train, test, len(class_names), settings.train, device,
                                            lambda epoch, loss: progress.update(epoch, f"loss {loss:.4f}"))
            source = "trained"
        else:
            clf = load_classifier(settings.classifier, train.num_joints, len(class_names), device)
            report = score_pretrained(clf, train, test, len(class_names))
            source = f"pretrained: {settings.classifier}"
            if report["heldout_accuracy"] < 2.0 / len(class_names):
                print(f"warning: {settings.classifier} scores {report['heldout_accuracy']:.3f} on the {report['heldout']}, "
                      "near chance: its class order may differ from the dataset's", file=sys.stderr)
        per_class = dict(zip(class_names, (round(a, 4) for a in report.pop("heldout_per_class_accuracy"))))
        save_classifier(out, clf.cpu(), class_names=class_names, joint_names=list(meta["joint_names"]),
                        source=source, heldout_accuracy=report["heldout_accuracy"], heldout=report["heldout"])
        numbers = {k: round(v, 6) if isinstance(v, float) else v for k, v in report.items() if k != "seconds"}
        save_json(metrics, {**numbers, "source": source})
    typer.echo(f"evaluator ({source}): held-out accuracy {report['heldout_accuracy']:.3f} on the {report['heldout']} "
               f"({report['heldout_sequences']} motions) -> {out}")
    typer.echo("  per class: " + ", ".join(f"{k} {v:.2f}" for k, v in per_class.items()))


if __name__ == "__main__":
    app()
