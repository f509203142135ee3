"""The parts of ``benchmarks/gpu_suite.py``: what it runs on (``plan``), the runs it times
(``measure``), how close the fast path stays to the fp32 reference (``agreement``), fine-tuning
on digits (``digits``), out-of-memory halving (``oom``) and the printed table (``report``)."""
