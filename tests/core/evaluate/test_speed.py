"""Speed measurement: every field filled, FLOPs as torchvision publishes them, v1 cheaper than v1.5."""

from __future__ import annotations

import threading

import pytest

from resnet_desktop.core.errors import CancelledError, WeightsError
from resnet_desktop.core.evaluate import records, speed
from resnet_desktop.core.models import zoo
from resnet_desktop.core.models.ref import ModelRef


def test_bench_measures_a_model_with_random_weights_when_none_are_here() -> None:
    events = list(speed.bench([ModelRef.parse("resnet18")], "cpu", batch_size=2, batches=1, repeats=3))
    assert isinstance(events[0], speed.BenchProgress) and events[0].label == "resnet18"
    result = events[1]
    assert isinstance(result, speed.SpeedResult)
    assert result.random_weights and "speed does not depend on the values" in result.note
    assert result.batch_size == 2 and result.images_per_second > 0 and result.load_s > 0
    assert 0 < result.latency_p50_ms <= result.latency_p95_ms
    assert result.params == zoo.get_weights_info("resnet18").num_params
    assert result.gflops == pytest.approx(zoo.get_weights_info("resnet18").gflops, abs=1e-3)
    # Published figures of the entry the architecture would load by default.
    assert (result.published_entry, result.published_acc1) == ("IMAGENET1K_V1", 69.758)
    assert result.peak_memory_mb is None or result.peak_memory_mb >= 0


def test_v1_has_fewer_flops_same_parameters_and_says_why() -> None:
    v1 = zoo.load_model("resnet50-v1", "random")
    v15 = zoo.load_model("resnet50", "random")
    assert speed.gflops(v15) == pytest.approx(zoo.get_weights_info("resnet50").gflops, abs=1e-3)
    assert speed.gflops(v1) < speed.gflops(v15)
    assert speed.parameters(v1.model) == speed.parameters(v15.model)
    assert speed._published(v1) == (None, None, None)


def test_ratios_and_v1_pairs() -> None:
    def result(arch: str, rate: float) -> speed.SpeedResult:
        return speed.SpeedResult(
            arch, arch, "random", True, "cpu", 8, 1.0, rate, 1, 1, None, 1, 1.0, None, None, None, None
        )

    results = [result("resnet18", 10.0), result("resnet50", 4.0), result("resnet50-v1", 5.0)]
    assert records.ratios(results) == [1.0, 0.4, 0.5]
    assert [(a.arch, b.arch) for a, b in records.v1_pairs(results)] == [("resnet50-v1", "resnet50")]


def test_cancel_and_bad_choices() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        list(speed.bench([ModelRef.parse("resnet18")], "cpu", cancel=cancel))
    with pytest.raises(WeightsError, match="unknown model 'vgg16'"):
        ModelRef.parse("vgg16")
