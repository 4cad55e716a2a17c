"""Writes the Parquet and Arrow IPC fixtures of tests/malformed_inputs.rs (pyarrow).

polars (as this crate builds it) cannot write a decimal column, a Float16 column or two
columns of one name, so these few small files are made here and committed:

- decimal.parquet / decimal.arrow: customer_id (string), date (date32), amount as
  decimal(10, 2) -- the amounts 5.00, 7.50, 3.00, 2.00;
- duplicate.parquet / duplicate.arrow: the same table with a second `amount` column;
- float16.arrow: an amount column of half floats (a type the readers refuse);
- many_types.parquet / many_types.arrow: the table plus columns of many other types;
- decimal256.parquet: amounts as a 40-digit decimal (wider than polars' 38: refused).

Run from the repository root: python3 tests/data/make_reader_fixtures.py
"""

import datetime
import decimal
import pathlib

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

OUT = pathlib.Path(__file__).parent

ids = pa.array(["007", "007", "010", "007"])
dates = pa.array(
    [datetime.date(2024, 1, 1), datetime.date(2024, 1, 9), datetime.date(2024, 1, 3),
     datetime.date(2024, 2, 1)],
    type=pa.date32(),
)
amounts = pa.array([decimal.Decimal(x) for x in ["5.00", "7.50", "3.00", "2.00"]],
                   type=pa.decimal128(10, 2))

decimal_table = pa.table({"customer_id": ids, "date": dates, "amount": amounts})
pq.write_table(decimal_table, OUT / "decimal.parquet")
feather.write_feather(decimal_table, OUT / "decimal.arrow", compression="uncompressed")

duplicate = pa.Table.from_arrays(
    [ids, dates, amounts, pa.array([1.0, 2.0, 3.0, 4.0])],
    names=["customer_id", "date", "amount", "amount"],
)
pq.write_table(duplicate, OUT / "duplicate.parquet")
feather.write_feather(duplicate, OUT / "duplicate.arrow", compression="uncompressed")

half = pa.table({"customer_id": ids, "date": dates,
                 "amount": pa.array([5.0, 7.5, 3.0, 2.0]).cast(pa.float16())})
feather.write_feather(half, OUT / "float16.arrow", compression="uncompressed")

# Columns of many types beside the three the run uses: every one must be read (or left
# unread) without a panic, and the summary must equal the plain file's.
many = pa.table({
    "customer_id": ids,
    "date": dates,
    "amount": pa.array([5.0, 7.5, 3.0, 2.0]),
    "i8": pa.array([1, 2, 3, 4], type=pa.int8()),
    "u8": pa.array([1, 2, 3, 4], type=pa.uint8()),
    "i16": pa.array([1, 2, 3, 4], type=pa.int16()),
    "u16": pa.array([1, 2, 3, 4], type=pa.uint16()),
    "t": pa.array([1, 2, 3, 4], type=pa.time64("us")),
    "d": pa.array([1, 2, 3, 4], type=pa.duration("ms")),
    "ts": pa.array([1, 2, 3, 4], type=pa.timestamp("ms", tz="Europe/Berlin")),
    "l": pa.array([[1], [2, 3], [], None], type=pa.list_(pa.int32())),
    "s": pa.array([{"a": 1}, {"a": 2}, None, {"a": 4}]),
    "cat": pa.array(["x", "y", "x", "z"]).dictionary_encode(),
})
pq.write_table(many, OUT / "many_types.parquet")
feather.write_feather(many, OUT / "many_types.arrow", compression="uncompressed")

# A decimal wider than 38 digits (polars' limit): refused, naming the column.
wide = pa.table({"customer_id": ids, "date": dates,
                 "amount": pa.array([decimal.Decimal(x) for x in ["5.00", "7.50", "3.00", "2.00"]],
                                    type=pa.decimal256(40, 2))})
pq.write_table(wide, OUT / "decimal256.parquet")
