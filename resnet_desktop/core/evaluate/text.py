"""Plain-text tables of evaluation reports, comparisons and speed results (the CLI's ``table`` format)."""

from __future__ import annotations

from collections.abc import Sequence

from resnet_desktop.core.evaluate.records import (
    COLUMNS,
    SPEED_HEADER,
    ComparisonRow,
    SpeedResult,
    cell_text,
    speed_cells,
    v1_pairs,
)
from resnet_desktop.core.evaluate.report import EvaluationReport

#: Wider matrices are left out of the text report (the JSON has them whole).
MAX_TEXT_COLUMNS = 12


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ", left: int = 1) -> list[str]:
    """The first ``left`` columns (and a last "path" column) left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lefts = {i for i in range(left)} | ({len(header) - 1} if header[-1] == "path" else set())

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i in lefts else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return (indent + "  ".join(parts)).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def report_text(report: EvaluationReport, *, top_losses: int = 10) -> str:
    """The whole report as text, most important first."""
    model = report.model
    lines = [
        f"Model: {model['source']}" + (f" on {model['device']}" if model.get("device") else ""),
        f"Folder: {report.folder} ({report.scored} images in {len(report.rows)} "
        f"{'class' if len(report.rows) == 1 else 'classes'}; {len(report.failed)} could not be read)",
        "",
        f"Top-1 accuracy: {_pct(report.top1)}",
    ]
    top5 = f"Top-5 accuracy: {_pct(report.top5)}"
    if report.top5_k < 5:
        top5 += f" (top-{report.top5_k}: the model has {report.top5_k} classes)"
    lines += [
        top5,
        f"Calibration: expected calibration error {report.ece:.3f} ({len(report.calibration.bins)} bins)",
        f"Suggested confidence threshold: {report.suggested_threshold:.2f} ({report.suggested_reason})",
        "",
        "Per class:",
    ]
    rows = [[s.name, _pct(s.precision), _pct(s.recall), _pct(s.f1), str(s.support)] for s in report.per_class]
    for name, avg in report.averages.items():
        rows.append([f"({name} average)", _pct(avg["precision"]), _pct(avg["recall"]), _pct(avg["f1"]), ""])
    lines += table(["class", "precision", "recall", "F1", "images"], rows)
    lines.append("")
    if len(report.columns) <= MAX_TEXT_COLUMNS:
        lines.append("Confusion matrix (rows: true class, columns: predicted):")
        lines += table(
            ["", *report.columns],
            [[r, *map(str, m)] for r, m in zip(report.rows, report.confusion.tolist(), strict=True)],
        )
    else:
        lines.append(f"Confusion matrix: {len(report.columns)} columns, left out here (see --format json).")
    if report.most_confused:
        lines += ["", "Most confused (true -> predicted: images):"]
        lines += [f"  {t} -> {p}: {c}" for t, p, c in report.most_confused]
    wrong = report.confidently_wrong[:top_losses]
    lines += ["", "Most confidently wrong (the mistakes with the highest loss):"]
    if not wrong:
        mistakes = sum(not r.correct for r in report.images)
        lines.append(
            "  None: every image was classified correctly."
            if not mistakes
            else f"  None among the {len(report.top_losses)} highest losses ({mistakes} mistakes in all)."
        )
    loss_rows = []
    for i in wrong:
        r = report.images[i]
        predicted = report.columns[r.pred] if report.column_indices[r.pred] is not None else f"{r.pred_index} (other)"
        loss_rows.append([f"{r.loss:.2f}", report.rows[r.true], predicted, _pct(r.confidence), str(r.path)])
    if loss_rows:
        lines += table(["loss", "true", "predicted", "confidence", "path"], loss_rows, left=0)
    lines += ["", "Reliability (confidence bin: images, mean confidence, accuracy):"]
    lines += table(
        ["bin", "images", "confidence", "accuracy"],
        [
            [f"{b.lower:.2f}-{b.upper:.2f}", str(b.count), _pct(b.confidence), _pct(b.accuracy)]
            for b in report.calibration.bins
            if b.count
        ],
    )
    lines += ["", "Threshold sweep (keep photos whose confidence is at least the threshold):"]
    lines += table(
        ["threshold", "kept", "share kept", "accuracy"],
        [[f"{r.threshold:.2f}", str(r.kept), _pct(r.share_kept), _pct(r.accuracy)] for r in report.sweep],
    )
    if report.unmatched:
        lines += ["", "Folders not evaluated (they match no class of the model; use --map):"]
        lines += [f"  {u['folder']!r} ({u['images']} images): {u['reason']}" for u in report.unmatched]
    if report.failed:
        lines += ["", f"{len(report.failed)} file(s) could not be read:"]
        lines += [f"  {p}: {e}" for p, e in report.failed]
    for note in report.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines) + "\n"


def comparison_text(rows: Sequence[ComparisonRow]) -> str:
    header = [title for _key, title in COLUMNS]
    body = [[cell_text(r, key) for key, _title in COLUMNS] for r in rows]
    return "\n".join(["Comparison (same folder, same device):", *table(header, body)]) + "\n"


def speed_text(results: Sequence[SpeedResult]) -> str:
    """The bench table, the ratio to the first model (the run's baseline), and v1 vs v1.5 lines."""
    header = list(SPEED_HEADER)
    body = speed_cells(results)
    lines = []
    if results:
        lines.append(f"Device: {results[0].device}, batch {results[0].batch_size} (images/s), batch 1 (latency)")
    lines += table(header, body, left=2)
    for v1, v15 in v1_pairs(results):
        if v15.images_per_second > 0 and v1.images_per_second > 0:
            lines.append(
                f"{v1.label} vs {v15.label}: v1.5 runs at {v15.images_per_second / v1.images_per_second:.2f}x v1's "
                f"images/s, {v15.latency_p50_ms / v1.latency_p50_ms:.2f}x its batch-1 latency "
                f"(published: v1.5 about 5% slower, +0.5% top-1)"
            )
    notes = sorted({r.note for r in results if r.note})
    lines += [f"Note: {n}" for n in notes]
    return "\n".join(lines) + "\n"
