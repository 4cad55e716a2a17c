#!/usr/bin/env python3
"""Side-by-side result check: lifetimes 0.11.3 summary_data_from_transaction_data against
`patronage summary` on the same Parquet log (rows with is_return dropped on both sides).

    ~/peers-venv/bin/python benches/peers/compare_lifetimes.py FILE.parquet PATH/TO/patronage [W]

Without W: daily purchases, time in days (lifetimes freq="D"). With W: weekly purchases
and weeks (lifetimes freq="W"). Prints the largest difference per column.
"""
import sys, json, warnings, subprocess
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
warnings.simplefilter("ignore")
path = sys.argv[1]
df = pd.read_parquet(path, columns=["customer_id", "timestamp", "amount", "is_return"])
df = df.loc[~df["is_return"], ["customer_id", "timestamp", "amount"]]
end = df["timestamp"].max().date().isoformat()
lt = summary_data_from_transaction_data(df, "customer_id", "timestamp", monetary_value_col="amount", freq=sys.argv[3] if len(sys.argv) > 3 else "D")
out = subprocess.run([sys.argv[2], "summary", path, *(["--time-unit", "week", "--purchase-unit", "week"] if len(sys.argv) > 3 else ["--time-unit", "day"]), "--returns", "exclude",
                      "--observation-end", end, "-o", "/tmp/ours.parquet"], capture_output=True, text=True)
print(out.stderr.strip())
ours = pd.read_parquet("/tmp/ours.parquet").set_index("customer_id")
j = lt.join(ours, rsuffix="_ours", how="outer")
print("customers lifetimes", len(lt), "ours", len(ours), "joined", len(j))
for c in ["frequency", "recency", "T", "monetary_value"]:
    d = (j[c] - j[c + "_ours"]).abs()
    print(c, "max abs diff", d.max(), "n > 1e-9:", int((d > 1e-9).sum()))
