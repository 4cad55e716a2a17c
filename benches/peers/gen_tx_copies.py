#!/usr/bin/env python3
"""Makes a large transaction log for the out-of-core benchmark in docs/benchmarks.md:
COPIES copies of a transaction Parquet file, one after the other, with the customer ids
of copy k suffixed `_k` (so every copy has its own customers) and the order ids offset
per copy (so orders stay distinct). Reads and writes one row group at a time, so memory
stays at a few row groups whatever the output size.

    python3 benches/peers/gen_tx_copies.py IN.parquet OUT.parquet [COPIES=10]

From tx_1e7.parquet (10,011,257 rows, 3,499,304 customers) with 10 copies:
100,112,570 rows, 34,993,040 customers.
"""
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

src, dst = sys.argv[1], sys.argv[2]
copies = int(sys.argv[3]) if len(sys.argv) > 3 else 10
f = pq.ParquetFile(src)
max_order = pc.max(f.read(columns=["order_id"])["order_id"]).as_py() or 0
writer = None
for k in range(copies):
    for g in range(f.metadata.num_row_groups):
        t = f.read_row_group(g)
        cols = {}
        for name in t.column_names:
            c = t[name]
            if name == "customer_id":
                c = pc.binary_join_element_wise(c, pa.scalar(f"{k}"), "_")
            elif name == "order_id":
                c = pc.add(c, pa.scalar(k * (max_order + 1), c.type))
            cols[name] = c
        t = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(dst, t.schema, compression="snappy")
        writer.write_table(t)
writer.close()
print(pq.ParquetFile(dst).metadata.num_rows, "rows")
