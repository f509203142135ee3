"""Run one classification job on a Ray cluster, writing results as they arrive (client side).

``run_job`` connects, checks versions, ships the model (``ray.put`` of its weights), starts the
driver actor and writes each batch of rows it hands back as one atomic Parquet part on the client:
the output lands where the person asked even when the cluster is remote, and a run stopped at any
moment keeps every part already written. ``cancel`` (or Ctrl+C in the caller) kills the driver,
which takes the actor pool with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_desktop.core.cluster import manifest as manifest_mod
from resnet_desktop.core.cluster import results
from resnet_desktop.core.cluster.connect import ClusterError, check_versions, connect, disconnect
from resnet_desktop.core.cluster.pipeline import Driver, JobSettings, package_model
from resnet_desktop.core.inference.records import Progress


@dataclass
class JobReport:
    """What a job did: files in the input, skipped as already done, classified now, failed now."""

    output: Path
    model_id: str
    total: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    parts: int = 0
    finished: bool = False
    elapsed_s: float = 0.0
    nodes: int = 0


def run_job(
    address: str,
    paths: Iterable[str | Path],
    output: str | Path,
    loaded: Any,
    settings: JobSettings | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[JobReport], None] | None = None,
    cancel: threading.Event | None = None,
) -> JobReport:
    """Classify ``paths`` with ``loaded`` on the cluster at ``address`` into ``output`` (a folder).

    Returns when the job is finished, or stopped by ``cancel`` (``report.finished`` is False); a
    ``KeyboardInterrupt`` stops the job the same way and propagates. Raises ``ClusterError``.
    """
    settings = settings or JobSettings()
    output = Path(output)
    package = package_model(loaded)
    report = JobReport(output=output, model_id=package.model_id)
    manifest_mod.done_paths(output, package.model_id)  # refuse a wrong --output before connecting
    ray = connect(address)
    driver = None
    try:
        report.nodes = len(check_versions(ray))  # before walking a big archive: fail fast
        manifest = manifest_mod.build(paths, output, package.model_id)
        report.total, report.skipped = manifest.total, manifest.already_done
        if on_start is not None:
            on_start(report)
        if manifest.table.num_rows == 0:
            report.finished = True
            return report
        writer = results.PartWriter(output)
        started = time.perf_counter()
        package_ref = [ray.put(package)]
        remote_driver = ray.remote(num_cpus=0, max_concurrency=4)(Driver)
        driver = remote_driver.remote(manifest.table, package_ref, settings)
        while cancel is None or not cancel.is_set():
            kind, item = ray.get(driver.next.remote())
            if kind == "wait":
                continue
            if kind == "done":
                report.finished = True
                break
            if kind == "error":
                raise ClusterError(f"the cluster job failed: {item}")
            writer.write(item)
            report.parts = writer.count
            report.done += item.num_rows
            report.failed += item.num_rows - item.column("error").null_count
            report.elapsed_s = time.perf_counter() - started
            if progress is not None:
                rate = report.done / report.elapsed_s if report.elapsed_s > 0 else 0.0
                progress(
                    Progress(
                        done=report.done,
                        failed=report.failed,
                        total=manifest.table.num_rows,
                        images_per_second=rate,
                        elapsed_s=report.elapsed_s,
                    )
                )
        report.elapsed_s = time.perf_counter() - started
        return report
    finally:
        if driver is not None:
            _stop(ray, driver)
        disconnect(ray)


def _stop(ray: Any, driver: Any) -> None:
    """Kill the driver actor; the Ray Data pipeline and its actor pool die with their owner."""
    try:
        ray.kill(driver)
    except Exception:  # noqa: BLE001 - already gone
        pass
