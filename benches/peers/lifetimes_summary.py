#!/usr/bin/env python3
"""Peer for docs/benchmarks.md: lifetimes 0.11.3 summary_data_from_transaction_data on a
transaction Parquet file (daily purchases, weeks as in patronage's benchmark). Prints one
JSON line: load and summary seconds.

    ~/peers-venv/bin/python benches/peers/lifetimes_summary.py FILE.parquet
"""
import json
import sys
import time
import warnings

import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data

warnings.simplefilter("ignore")
path = sys.argv[1]
t = time.perf_counter()
df = pd.read_parquet(path, columns=["customer_id", "timestamp", "amount", "is_return"])
df = df.loc[~df["is_return"], ["customer_id", "timestamp", "amount"]]
load = time.perf_counter() - t
t = time.perf_counter()
s = summary_data_from_transaction_data(df, "customer_id", "timestamp", monetary_value_col="amount", freq="D")
summ = time.perf_counter() - t
print(json.dumps({"customers": len(s), "load": round(load, 3), "summary": round(summ, 3)}))
