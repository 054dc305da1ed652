"""Settings: non-finite numbers are refused for every float setting, and the check stage validates every section."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from motioninr.errors import SettingsError
from stages.check import SECTIONS, app, check_params

ROOT = Path(__file__).resolve().parents[1]
NON_FINITE = [".inf", "-.inf", ".nan", "inf", "nan", "1e400", "-1e400", "1.0e+400"]


def _params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def _float_settings() -> list[str]:
    """Dotted names of every float setting of every section, found from the settings dataclasses."""
    from motioninr.codes import ResampleSettings
    from motioninr.data.loaders import SourceSettings
    from motioninr.data.prepare import PrepareSettings
    from motioninr.evaluation import EvaluateSettings
    from motioninr.gallery import GallerySettings
    from motioninr.generation import GenerateSettings
    from motioninr.gmm import GMMSettings
    from motioninr.model.model import ModelSettings
    from motioninr.model.train import TrainSettings
    from motioninr.render import RenderSettings

    classes = {"data": [SourceSettings, PrepareSettings], "model": [ModelSettings], "train": [TrainSettings],
               "evaluate": [EvaluateSettings], "resample": [ResampleSettings], "gmm": [GMMSettings],
               "generate": [GenerateSettings], "render": [GallerySettings, RenderSettings]}
    names = []

    def walk(cls, prefix):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp):
                walk(tp, f"{prefix}.{f.name}")
            elif tp is float or (typing.get_origin(tp) in (typing.Union, types.UnionType) and float in typing.get_args(tp)):
                names.append(f"{prefix}.{f.name}")

    for section, found in classes.items():
        for cls in found:
            walk(cls, section)
    return names


FLOATS = _float_settings()


def test_the_float_settings_are_found():
    assert {"train.lr_decoder", "gmm.tol", "gmm.reg_covar", "gmm.guard", "model.time_base",
            "data.test_fraction", "render.azimuth"} <= set(FLOATS)


@pytest.mark.parametrize("name", FLOATS)
def test_every_float_setting_refuses_non_finite_numbers(name):
    for text in NON_FINITE:
        params = _params()
        node = params
        *head, last = name.split(".")
        for key in head:
            node = node.setdefault(key, {})
        node[last] = yaml.safe_load(f"x: {text}")["x"]  # as params.yaml would give it
        with pytest.raises(SettingsError) as exc:
            check_params(params)
        message = str(exc.value)
        assert message.startswith(f"{name}: got ") and message.endswith("expected a finite number"), (text, message)


def test_committed_params_pass_and_every_section_is_known():
    assert sorted(check_params(_params())) == sorted(_params())
    assert set(_params()) == set(SECTIONS), "a params.yaml section without a check in stages/check.py"


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.update(gmn={"components": 3}), "error: gmn: unknown section of params.yaml; expected sections data, model"),
    (lambda p: p["gmm"].update(tol=float("inf")), "error: gmm.tol: got inf, expected a finite number"),
    (lambda p: p["gmm"].update(components=0), "error: gmm.components: got 0, expected an integer >= 1"),
    (lambda p: p["render"].update(dpi="high"), "error: render.dpi: got 'high', expected an integer"),
    (lambda p: p["data"].update(source="generic", path="/nonexistent"),
     "error: data.path: got '/nonexistent', which does not exist; expected the raw generic dataset (folder or file) "
     "for data.source 'generic'"),
    (lambda p: p["evaluate"].update(classifier="nowhere.tar"), "error: evaluate.classifier: got 'nowhere.tar', which is not a file"),
])
def test_check_stage_stops_on_any_bad_section_in_one_line(tmp_path, edit, message):
    params = _params()
    edit(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = tmp_path / "checked.txt"
    res = CliRunner().invoke(app, ["--params", str(tmp_path / "params.yaml"), "--out", str(out)])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), res.output
    assert not out.exists()


def test_check_output_does_not_depend_on_the_values(tmp_path):
    outputs = []
    for components in (3, 15):
        params = _params()
        params["gmm"]["components"] = components
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        res = CliRunner().invoke(app, ["--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "c.txt")])
        assert res.exit_code == 0, res.output
        outputs.append((tmp_path / "c.txt").read_bytes())
    assert outputs[0] == outputs[1]
