"""``classify PATH... --cluster ray://HOST:PORT|auto|local --output results.parquet``.

The classify command hands its files to ``core.cluster``: the same model options, ``--topk``,
``--batch-size`` and ``--threads`` (CPU threads per actor); the results go to a folder of
Parquet parts, resumed when the same command runs again. Ray is imported only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_desktop.cli.common import Exit, LiveLine, load_cli_model, warning

if TYPE_CHECKING:
    from resnet_desktop.core.cluster.api import JobReport
    from resnet_desktop.core.inference.records import Progress
    from resnet_desktop.core.models.ref import LoadedModel

CLUSTER_HELP = (
    "run on a Ray cluster: ray://HOST:PORT (the head's client port), auto (the cluster this machine "
    "belongs to, or RAY_ADDRESS) or local (Ray on this machine); needs --output FILE.parquet and "
    "pip install 'resnet-desktop[cluster]'; an existing --output is resumed"
)


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", default=None, metavar="ADDRESS", help=CLUSTER_HELP)


class ClusterProgress(LiveLine):
    """Rows written so far, on a terminal; silent otherwise."""

    def __call__(self, progress: Progress) -> None:
        total = progress.total or 0
        rate = f"{progress.images_per_second:.1f} images/s"
        self.show(f"{progress.done}/{total} files written  {progress.failed} failed  {rate}")


def run_cluster(args: argparse.Namespace) -> int:
    """Classify ``args.paths`` on the cluster named by ``args.cluster`` into ``args.output``."""
    from resnet_desktop.core.cluster.api import check_address, require_ray
    from resnet_desktop.core.errors import SettingsError

    require_ray()  # before anything slow: say how to install Ray
    address = check_address(args.cluster)
    output: Path | None = args.output
    if output is None or output.suffix.lower() != ".parquet":
        raise SettingsError("--cluster writes Parquet: give --output FILE.parquet (a folder of parts)")
    if args.force:
        raise SettingsError(
            "--force does not apply to --cluster: an existing --output is resumed; "
            "choose another name (or remove it) to start over"
        )

    from resnet_desktop.core.cluster.api import JobSettings, run_cluster_job

    loaded = load_cli_model(args)
    settings = JobSettings(topk=args.topk, batch_size=args.batch_size, cpus_per_actor=args.threads)
    err = sys.stderr
    print(f"Model: {loaded.source}; cluster: {address}", file=err)
    bar = ClusterProgress(err)
    written: list[JobReport] = []

    def started(report: JobReport) -> None:
        written.append(report)
        skipped = f"; {report.skipped} already in {output}, skipped" if report.skipped else ""
        print(
            f"Cluster: {report.nodes} node(s), resnet-desktop versions match; {report.total} files{skipped}", file=err
        )

    try:
        report = run_cluster_job(address, args.paths, output, loaded, settings, progress=bar, on_start=started)
    except KeyboardInterrupt:
        bar.clear()
        done = written[0].done if written else 0
        print(
            f"Interrupted: the cluster job was stopped; {done} files are in {output} "
            "(complete parts are kept). Run the same command again to resume.",
            file=err,
        )
        return Exit.INTERRUPTED
    bar.clear()
    if report.total == 0:
        print("No image files found in the given paths.", file=err)
        return Exit.SOME_FAILED
    rate = report.done / report.elapsed_s if report.elapsed_s > 0 else 0.0
    print(
        f"Classified {report.done - report.failed} of {report.done} files on the cluster in "
        f"{report.elapsed_s:.1f} s ({rate:.1f} files/s); results in {output}.",
        file=err,
    )
    if report.failed:
        print(f"{report.failed} file(s) could not be classified (see the 'error' column).", file=err)
    if not args.no_index:
        store_in_index(output, loaded, args.topk)
    return Exit.SOME_FAILED if report.failed else Exit.OK


def store_in_index(output: Path, loaded: LoadedModel, topk: int) -> None:
    """The job's rows into the library index (as a local run would have stored them); a warning if it cannot."""
    import sqlite3

    from resnet_desktop.core.cluster.api import store_in_index as store
    from resnet_desktop.core.errors import ResNetDesktopError

    try:
        counts = store(output, loaded, topk)
    except (ResNetDesktopError, sqlite3.Error, OSError) as exc:
        warning("classify", f"the results were not added to the library index: {exc}")
        return
    if counts is None:
        return
    left = []
    if counts.not_here:
        left.append(f"{counts.not_here} not found on this machine")
    if counts.changed:
        left.append(f"{counts.changed} changed since the cluster read them")
    extra = f" ({'; '.join(left)}: left out)" if left else ""
    print(f"Library index: {counts.stored} results stored{extra}.", file=sys.stderr)
