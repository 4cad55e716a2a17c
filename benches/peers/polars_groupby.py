#!/usr/bin/env python3
"""Baseline for docs/benchmarks.md: a bare polars lazy group-by over a transaction Parquet
file (first day, last day, distinct days, spend per customer), the least work any
per-customer summary must do. Prints one JSON line with the wall time of the query.

    python3 benches/peers/polars_groupby.py FILE.parquet
"""
import json
import sys
import time

import polars as pl

path = sys.argv[1]
t = time.perf_counter()
day = pl.col("timestamp").dt.date()
out = (
    pl.scan_parquet(path)
    .select("customer_id", "timestamp", "amount")
    .group_by("customer_id")
    .agg(
        day.min().alias("first"),
        day.max().alias("last"),
        day.n_unique().alias("days"),
        pl.col("amount").sum().alias("spend"),
    )
    .collect()
)
print(json.dumps({"customers": out.height, "seconds": round(time.perf_counter() - t, 3)}))
