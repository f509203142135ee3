"""Every command names its model the same way: ``--model``/``--weights`` parsed through ``ModelRef``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from resnet_desktop.cli import COMMANDS, build_parser, main
from resnet_desktop.cli.common import model_ref, model_refs
from resnet_desktop.core.models import export
from resnet_desktop.core.models.ref import ModelRef
from tests.helpers import save_random_weights

#: The fewest other arguments each command needs to parse.
REQUIRED = {
    "classify": ["photo.jpg"],
    "explain": ["photo.jpg", "--output", "cam.png"],
    "finetune": ["folder", "--output", "m.safetensors"],
    "evaluate": ["folder"],
    "bench": [],
    "organize": ["photos", "--into", "sorted"],
    "export": ["--output", "m.onnx"],
    "similar": ["photo.jpg"],
    "duplicates": ["folder"],
    "teach": ["--output", "v.safetensors"],
    "library": ["add", "folder"],
}
#: Commands that run no model of the person's choosing (a label set remembers its base model).
NO_MODEL = {"labels": ["list"], "review": []}


def _names() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def _ref(args: argparse.Namespace) -> ModelRef:
    refs = model_refs(args) if isinstance(args.model, list) else [model_ref(args)]
    assert len(refs) == 1
    return refs[0]


def test_every_command_is_covered() -> None:
    assert _names() == sorted({**REQUIRED, **NO_MODEL}) and len(COMMANDS) == len(REQUIRED) + len(NO_MODEL)


@pytest.mark.parametrize("command", sorted(NO_MODEL))
def test_commands_without_a_model_refuse_model_options(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, *NO_MODEL[command], "--model", "resnet18"])
    assert "unrecognized arguments: --model resnet18" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(REQUIRED))
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--model", "resnet18", "--weights", "w/mine.pth"], ModelRef("resnet18", file=Path("w/mine.pth"))),
        (["--weights", "w/mine.pth"], ModelRef(file=Path("w/mine.pth"))),
        (["--model", "resnet34", "--weights", "random"], ModelRef("resnet34", "random")),
        (["--model", "resnet50:IMAGENET1K_V1"], ModelRef("resnet50", "IMAGENET1K_V1")),
        (["--model", "w/pets.safetensors"], ModelRef(file=Path("w/pets.safetensors"))),
    ],
)
def test_model_and_weights_parse_identically_in_every_command(
    command: str, options: list[str], expected: ModelRef
) -> None:
    args = build_parser().parse_args([command, *REQUIRED[command], *options])
    if command == "export":
        from resnet_desktop.cli.export import _merge_alias

        _merge_alias(args)
    assert _ref(args) == expected


def test_export_keeps_the_positional_model_as_an_alias(capsys: pytest.CaptureFixture[str]) -> None:
    from resnet_desktop.cli.export import _merge_alias

    args = build_parser().parse_args(["export", "resnet18", "--weights", "random", "--output", "m.onnx"])
    _merge_alias(args)
    assert model_ref(args) == ModelRef("resnet18", "random")
    assert main(["export", "resnet18", "--model", "resnet34", "--output", "m.onnx"]) == 2
    assert "give the model once: either MODEL (resnet18) or --model (resnet34)" in capsys.readouterr().err


def test_export_with_model_and_weights_options(tmp_path: Path, resnet18_weights: Path) -> None:
    out = tmp_path / "m.onnx"
    assert main(["export", "--model", "resnet18", "--weights", str(resnet18_weights), "--output", str(out)]) == 0
    assert export.read_onnx_info(out).arch == "resnet18"


def test_classify_a_weights_file_of_another_resnet_without_model(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    weights = save_random_weights(tmp_path / "resnet34-random.pth", "resnet34")
    assert main(["classify", "--no-index", "--weights", str(weights), "--format", "json", str(sample_photos[0])]) == 0
    captured = capsys.readouterr()
    assert "Model: resnet34 from resnet34-random.pth" in captured.err
    assert '"predictions"' in captured.out


def test_a_contradicting_model_is_refused_in_one_line(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    weights = save_random_weights(tmp_path / "resnet34-random.pth", "resnet34")
    code = main(["classify", "--no-index", "--model", "resnet18", "--weights", str(weights), str(sample_photos[0])])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "these are resnet34 weights, but the chosen architecture is resnet18" in err


def test_bench_takes_weights_for_every_model_without_its_own() -> None:
    args = build_parser().parse_args(
        ["bench", "--model", "resnet18", "--model", "resnet34:IMAGENET1K_V1", "--weights", "random"]
    )
    assert model_refs(args) == [ModelRef("resnet18", "random"), ModelRef("resnet34", "IMAGENET1K_V1")]
