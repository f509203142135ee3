"""Issue 25's figures for ``benchmarks/library.py``, each printed next to the code before it
(``library_baseline``) measured in the same run:

- first row of a 100,000-file folder with the model loaded, unknown files and known files;
- re-opening 100,000 indexed photos (core + the results table) and scrolling it;
- 10,000 lookups on a 1,000,000-file index, opening it, bytes per photo;
- what watching 10,000 folders costs (and the periodic scan that replaces it past the inotify limit).
"""

from __future__ import annotations

import io
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import library_baseline as baseline
import numpy as np
from PIL import Image

from resnet_desktop.core.images import discover
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library.identity import FileStat
from resnet_desktop.core.library.incremental import IndexedRun
from resnet_desktop.core.library.index import BackboneIdentity, LibraryIndex, ModelIdentity
from resnet_desktop.core.library.sessions import reopen_folder

SCORES = (
    '[["tabby", 281, 0.5], ["tiger cat", 282, 0.2], ["Egyptian cat", 285, 0.1], ["lynx", 287, 0.05], '
    '["fox", 277, 0.01]]'
)


def _synthetic_identity(arch: str) -> ModelIdentity:
    """A model row with its backbone (index migration 3: results and embeddings hang off a backbone)."""
    backbone = BackboneIdentity(arch, "synthetic", "{}", "fp32", f"{arch} synthetic")
    return ModelIdentity(arch, "synthetic", "{}", f"{arch} synthetic", "-", "fp32", backbone)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 140, 200)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def make_tiny_folder(folder: Path, count: int, per_folder: int = 1000) -> list[Path]:
    """``count`` distinct tiny JPEGs (one picture, a different trailer after its end: other bytes, other
    sizes) in sub-folders of ``per_folder``."""
    data = _jpeg()
    paths = []
    for i in range(count):
        sub = folder / f"d{i // per_folder:04d}"
        if i % per_folder == 0:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"p{i:07d}.jpg"
        path.write_bytes(data + b"\0" * (i % 997) + str(i).encode())
        paths.append(path)
    return paths


def _store_known(index: LibraryIndex, model_id: int, paths: list[Path]) -> None:
    """Index rows for ``paths`` as if they had been classified (a 100,000-photo run takes hours here)."""
    score = tuple(ClassScore(label, idx, p) for label, idx, p in [("tabby", 281, 0.5), ("tiger cat", 282, 0.2)])
    for start in range(0, len(paths), 5000):
        items = [(FileStat.of(p), None, Prediction(p, score)) for p in paths[start : start + 5000]]
        index.store(model_id, 2, items)


def _first(generator: Iterator[object]) -> tuple[float, float]:
    """(wall, CPU) seconds until the first row."""
    return baseline.timed_cpu(lambda: next(generator))


def first_row(work: Path, count: int, threads: int) -> None:
    import torch

    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.zoo import load_model

    torch.set_num_threads(threads)
    folder = work / "big"
    started = time.perf_counter()
    paths = make_tiny_folder(folder, count)
    print(f"\n-- first row of a {count:,}-file folder (made in {time.perf_counter() - started:.0f} s), model loaded")
    loaded = load_model("resnet18", "random")
    identity = ModelIdentity.of(loaded, "fp32")  # the engine runs fp32 here
    engine = Engine(loaded, "cpu", batch_size=8)
    rows: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    for case in ("unknown", "known"):
        times: list[tuple[float, float]] = []
        for which in ("before", "now"):
            with LibraryIndex(work / f"first-{case}-{which}.sqlite3") as index:
                if case == "known":
                    _store_known(index, index.model_id(identity), paths)
                run = IndexedRun(engine, index, identity, topk=2)
                generator = (
                    baseline.classify(run, discover([folder]))
                    if which == "before"
                    else run.classify(discover([folder]))
                )
                times.append(_first(generator))
                generator.close()
        rows[case] = (times[0], times[1])
    for case, ((before, before_cpu), (now, now_cpu)) in rows.items():
        print(f"first row, {case} files: before {before:7.3f} s ({before_cpu:.3f} s CPU)   "
              f"now {now:6.3f} s ({now_cpu:.3f} s CPU)   ({before / now:.0f}x)")  # fmt: skip
    with LibraryIndex(work / "first-known-now.sqlite3") as index:
        run = IndexedRun(engine, index, identity, topk=2)
        all_now = baseline.timed(lambda: sum(1 for _ in run.classify(discover([folder]))))
        run = IndexedRun(engine, index, identity, topk=2)
        all_before = baseline.timed(lambda: sum(1 for _ in baseline.classify(run, discover([folder]))))
    print(f"all {count:,} known files from the index: before {all_before:.2f} s   now {all_now:.2f} s")


def reopen(work: Path, count: int, old_rows: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QTableView

    from resnet_desktop.gui.classify.results_model import ResultsFilter, ResultsModel

    app = QApplication.instance() or QApplication([])
    folder = work / "big"
    if not folder.exists():
        make_tiny_folder(folder, count)
    print(f"\n-- re-opening {count:,} indexed photos")
    with LibraryIndex(work / "reopen.sqlite3") as index:
        model_id = index.model_id(_synthetic_identity("resnet18"))
        _store_known(index, model_id, sorted(folder.rglob("*.jpg"))[:count])
        before_s, before_cpu = baseline.timed_cpu(lambda: baseline.reopen_folder_before(index, folder))
        started, cpu = time.perf_counter(), time.process_time()
        reopened = reopen_folder(index, folder)
        core_s, core_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"reading {count:,} rows back from the index (reopen_folder): before {before_s:.2f} s "
          f"({before_cpu:.2f} s CPU)   now {core_s:.2f} s ({core_cpu:.2f} s CPU)")  # fmt: skip
    rows = reopened.rows
    timings: dict[tuple[str, int], float] = {}
    cpus: dict[tuple[str, int], float] = {}
    for which, n in (("before", old_rows), ("now", old_rows), ("now", len(rows))):
        model = ResultsModel()
        proxy = ResultsFilter()
        proxy.setSourceModel(model)
        view = QTableView()
        view.setModel(proxy)
        view.resize(900, 700)
        view.show()
        started, cpu = time.perf_counter(), time.process_time()
        if which == "before":
            baseline.append_predictions(model, rows[:n], "resnet18 random")
        else:
            model.append_predictions(rows[:n], "resnet18 random")
        app.processEvents()
        timings[(which, n)] = time.perf_counter() - started
        cpus[(which, n)] = time.process_time() - cpu
        if n == len(rows) and which == "now":
            paints = []
            for position in np.linspace(0, n - 1, 25).astype(int):
                started = time.perf_counter()
                view.scrollTo(proxy.index(int(position), 1))
                view.viewport().repaint()
                paints.append(time.perf_counter() - started)
            print(f"scrolling the {n:,}-row table: 25 jumps, slowest repaint {max(paints) * 1000:.1f} ms, "
                  f"median {sorted(paints)[12] * 1000:.1f} ms")  # fmt: skip
        view.close()
    before, now_small = timings[("before", old_rows)], timings[("now", old_rows)]
    print(f"table, {old_rows:,} rows: before {before:.2f} s   now {now_small:.3f} s   ({before / now_small:.0f}x); "
          f"the old way grows with the square of the rows")  # fmt: skip
    table_s, table_cpu = timings[("now", len(rows))], cpus[("now", len(rows))]
    print(f"table, {len(rows):,} rows now: {table_s:.2f} s ({table_cpu:.2f} s CPU); re-open in all "
          f"{core_s + table_s:.2f} s ({core_cpu + table_cpu:.2f} s CPU; target <= 5 s)")  # fmt: skip


def big_index(work: Path, count: int, lookups: int, embedded: int) -> None:
    print(f"\n-- an index of {count:,} files: {lookups:,} lookups, opening it, bytes per photo")
    path = work / "million.sqlite3"
    real = make_tiny_folder(work / "looked-up", lookups)
    with LibraryIndex(path) as index:
        model_id = index.model_id(_synthetic_identity("resnet50"))
    started = time.perf_counter()
    db = sqlite3.connect(path)
    stats = {i * (count // lookups): FileStat.of(p) for i, p in enumerate(real)}

    def files() -> Iterator[tuple[object, ...]]:
        for i in range(count):
            stat = stats.get(i)
            if stat is not None:
                yield (i + 1, stat.path, stat.size, stat.mtime_ns, stat.inode, f"{i:064x}", 0.0, "")
            else:
                yield (i + 1, f"/photos/{i // 1000:04d}/IMG_{i:07d}.jpg", 100_000 + i, i, i, f"{i:064x}", 0.0, "")

    db.executemany(
        "INSERT INTO files(id, path, size, mtime_ns, inode, sha256, seen, taken) VALUES (?,?,?,?,?,?,?,?)", files()
    )
    db.executemany(
        "INSERT INTO results(file_id, model_id, topk, scores, error, updated) VALUES (?, ?, 5, ?, NULL, 0)",
        ((i + 1, model_id, SCORES) for i in range(count)),
    )
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size
    print(f"built in {time.perf_counter() - started:.0f} s: {size / 2**20:.0f} MB, {size / count:.0f} bytes per photo "
          f"(path, stat, hash, date taken, top-5 result; no embedding)")  # fmt: skip
    open_before = min(baseline.timed(lambda: baseline.open_index(path).close()) for _ in range(3))
    open_now = min(baseline.timed(lambda: LibraryIndex(path).close()) for _ in range(3))
    print(
        f"opening it: before {open_before:.2f} s (quick_check)   now {open_now:.3f} s   ({open_before / open_now:.0f}x)"
    )
    random.shuffle(real)
    with LibraryIndex(path) as index:
        runs: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
        for _round in range(3):  # alternated, best of 3: the machine is shared
            runs["before"].append(
                baseline.timed_cpu(lambda: [baseline.lookup(index, FileStat.of(p), model_id, 5) for p in real])
            )
            runs["now"].append(
                baseline.timed_cpu(lambda: index.lookup_many([FileStat.of(p) for p in real], model_id, 5, real))
            )
        hits = sum(h is not None for h in index.lookup_many([FileStat.of(p) for p in real], model_id, 5))
    (before, before_cpu), (now, now_cpu) = min(runs["before"]), min(runs["now"])
    print(f"{lookups:,} lookups (stat + index, {hits:,} found), best of 3: before {before:.2f} s "
          f"({before_cpu:.2f} s CPU)   now {now:.2f} s ({now_cpu:.2f} s CPU; target <= 1 s)")  # fmt: skip
    _bytes_with_embeddings(work, embedded)


def _bytes_with_embeddings(work: Path, count: int) -> None:
    path = work / "embedded.sqlite3"
    rng = np.random.default_rng(0)
    with LibraryIndex(path) as index:
        model_id = index.model_id(_synthetic_identity("resnet50"))
        scores = tuple(ClassScore(f"class {i}", i, 0.1) for i in range(5))
        for start in range(0, count, 2000):
            items = [
                (FileStat(f"/photos/{i // 1000:04d}/IMG_{i:07d}.jpg", 100_000 + i, i, i), f"{i:064x}",
                 Prediction(Path("x"), scores, embedding=np.abs(rng.normal(size=2048)).astype(np.float32)))
                for i in range(start, min(count, start + 2000))
            ]  # fmt: skip
            index.store(model_id, 5, items)
        index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    print(f"with a 2048-d float16 embedding: {size / count:,.0f} bytes per photo ({count:,} photos, "
          f"{size / 2**20:.0f} MB); 1,000,000 photos ~ {size / count * 1e6 / 2**30:.1f} GiB")  # fmt: skip


def _inotify_watches() -> int:
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify":
                total += Path(f"/proc/self/fdinfo/{fd}").read_text().count("inotify wd:")
        except OSError:
            continue
    return total


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def watch_cost(work: Path, folders: int) -> None:
    from resnet_desktop.core.library.scan import walk
    from resnet_desktop.core.library.watch import FolderWatcher

    print(f"\n-- watching {folders:,} folders (one photo each)")
    root = work / "tree"
    side = int(folders**0.5)
    data = _jpeg()
    leaves = []
    for a in range(side):
        for b in range(folders // side):
            leaf = root / f"a{a:03d}" / f"b{b:03d}"
            leaf.mkdir(parents=True)
            (leaf / "p.jpg").write_bytes(data)
            leaves.append(leaf)
    seen = threading.Event()
    watcher = FolderWatcher(lambda _folder: seen.set())
    watcher.start()
    rss, cpu = _rss_mb(), sum(os.times()[:2])
    started = time.perf_counter()
    notice = watcher.watch(root)
    setup = time.perf_counter() - started
    if notice:
        print(f"could not watch: {notice}")
    watches = _inotify_watches()
    print(f"recursive watch set up in {setup:.2f} s; {watches:,} inotify watches (limit "
          f"{Path('/proc/sys/fs/inotify/max_user_watches').read_text().strip()}); "
          f"RSS +{_rss_mb() - rss:.0f} MB")  # fmt: skip
    idle_cpu = sum(os.times()[:2])
    time.sleep(5)
    print(f"idle for 5 s: {sum(os.times()[:2]) - idle_cpu:.3f} s CPU (the watcher blocks in read())")
    delays = []
    for leaf in random.sample(leaves, 20):
        seen.clear()
        started = time.perf_counter()
        (leaf / "new.jpg").write_bytes(data)
        if seen.wait(5):
            delays.append(time.perf_counter() - started)
    watcher.stop()
    print(f"a new photo in a random folder seen after {np.median(delays) * 1000:.1f} ms (median of {len(delays)}), "
          f"setting up took {sum(os.times()[:2]) - cpu:.2f} s CPU")  # fmt: skip
    started = time.perf_counter()
    found = walk(root)
    print(f"the periodic scan that replaces watching past the limit: {len(found.photos):,} photos in "
          f"{time.perf_counter() - started:.2f} s per scan")  # fmt: skip
