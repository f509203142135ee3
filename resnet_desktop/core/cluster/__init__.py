"""Hand a huge batch of photos to a Ray cluster and read the results back (optional ``cluster`` extra).

``connect`` reaches the cluster and checks that it runs this version; ``job`` builds the manifest,
submits the Ray Data pipeline of ``pipeline`` and writes what comes back as Parquet parts;
``results`` reads those parts back into ``Prediction`` records. Only ``connect``, ``job`` and
``pipeline`` import Ray, and only when called, so this package imports without the extra.
"""
