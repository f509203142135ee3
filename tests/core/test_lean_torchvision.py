"""torchvision without torch's compiler stack: 147 MB and a second less in every process that runs a model.

Each check runs in a fresh interpreter: this test process has long imported torch._dynamo itself.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_torchvision_comes_without_dynamo_and_dynamo_still_works_when_asked_for() -> None:
    out = run_python(
        """
        import sys
        import resnet_desktop.core
        import torch, torchvision
        heavy = [name for name in ("torch._dynamo", "sympy", "triton") if name in sys.modules]
        assert not heavy, heavy
        roi_align = sys.modules["torchvision.ops.roi_align"]
        assert "_dynamo" not in torch.__dict__ and type(roi_align.__loader__).__name__ != "_LeanLoader"
        assert roi_align.__builtins__["__import__"]("math").sqrt(4) == 2  # its later imports pass through
        boxes = torch.tensor([[0, 0.0, 0.0, 4.0, 4.0]])
        assert torchvision.ops.roi_align(torch.rand(1, 3, 8, 8), boxes, 2).shape == (1, 3, 2, 2)
        assert "torch._dynamo" not in sys.modules
        # roi_align's one use of dynamo goes to the real function, imported on that call
        assert sys.modules["torchvision.ops.roi_align"].is_compile_supported("cpu") in (True, False)
        import torch._dynamo
        assert hasattr(torch._dynamo, "optimize") and torch._dynamo.__file__.endswith("__init__.py")
        assert torch.compile(lambda a: a + 1, backend="eager")(torch.ones(2)).tolist() == [2.0, 2.0]
        print("ok")
        """
    )
    assert out.strip().endswith("ok")


def test_nothing_is_stood_in_when_dynamo_is_already_imported() -> None:
    out = run_python(
        """
        import sys
        import torch._dynamo
        import resnet_desktop.core
        import torchvision
        from torch._dynamo.utils import is_compile_supported
        assert sys.modules["torchvision.ops.roi_align"].is_compile_supported is is_compile_supported
        print("ok")
        """
    )
    assert out.strip().endswith("ok")


def test_another_thread_importing_dynamo_meanwhile_gets_the_real_package(tmp_path: Path) -> None:
    """Nothing stands in for dynamo in sys.modules, even while the lean module's body runs."""
    body = tmp_path / "lean_body.py"
    body.write_text(
        textwrap.dedent(
            """
            import threading
            from torch._dynamo.utils import is_compile_supported
            seen = {}

            def other_thread():
                import torch._dynamo
                seen["real"] = hasattr(torch._dynamo, "optimize")

            worker = threading.Thread(target=other_thread)
            worker.start()
            worker.join()
            """
        )
    )
    out = run_python(
        f"""
        import importlib.machinery, importlib.util, sys
        from resnet_desktop.core.lean_torchvision import _LeanLoader
        assert "torch._dynamo" not in sys.modules
        loader = importlib.machinery.SourceFileLoader("lean_body", {str(body)!r})
        spec = importlib.util.spec_from_loader("lean_body", _LeanLoader(loader))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.is_compile_supported.__module__ == "resnet_desktop.core.lean_torchvision"
        print("real:", module.seen["real"])
        """
    )
    assert "real: True" in out


def test_feature_maps_grad_cam_and_the_model_lab_never_import_the_compiler_stack(tmp_path: Path) -> None:
    """The app's torch work: each of these once imported torch._dynamo (meta-device shape passes,
    torch.utils.flop_counter), which stays resident for good."""
    samples = sorted((REPO_ROOT / "assets" / "samples").glob("*.jpg"))
    for name in ("tabby", "golden retriever"):
        (tmp_path / name).mkdir()
        for sample in samples[:2]:
            (tmp_path / name / sample.name).write_bytes(sample.read_bytes())
    out = run_python(
        f"""
        import sys, threading
        from pathlib import Path
        from resnet_desktop.core.evaluate import api as evaluate
        from resnet_desktop.core.explain import api as explain
        from resnet_desktop.core.models.ref import ModelRef, load

        loaded = load(ModelRef.parse("resnet18", "random"))
        prepared = explain.prepare(loaded, Path({str(samples[0])!r}), "", threading.Event(), 64 << 20)
        cam = explain.compute_cam(loaded, prepared.cache, None, "layer4", threading.Event())
        events = list(evaluate.evaluate_models(
            [ModelRef.parse("resnet18", "random")], Path({str(tmp_path)!r}), device="cpu", latency_repeats=1,
            preloaded={{ModelRef.parse("resnet18", "random"): loaded}},
        ))
        rows = [event for event in events if type(event).__name__ == "ComparisonRow"]
        assert len(prepared.layers) > 50 and cam.class_index >= 0 and rows and rows[0].gflops > 1.8, rows
        heavy = [name for name in ("torch._dynamo", "sympy") if name in sys.modules]
        print("heavy:", heavy)
        """
    )
    assert "heavy: []" in out


def test_teach_pays_the_optimizers_one_time_import_when_warmed_up_not_in_the_first_fit() -> None:
    out = run_python(
        """
        import sys
        from resnet_desktop.core.teach import api
        import torch
        assert "torch._dynamo" not in sys.modules
        api.warm_up_learning()  # what the teach room runs on its worker once a set is shown
        print("dynamo after warm-up:", "torch._dynamo" in sys.modules)
        """
    )
    assert "dynamo after warm-up: True" in out
