#!/usr/bin/env python3
"""A whole graph-output dump is its shards joined along the split axis.

usage: check_dump_join.py WHOLE ROWS SHARD_ROW_BYTES SHARD...
WHOLE holds ROWS rows; row r is shard 0's row r, then shard 1's row r, ... (a [ROWS, N] tensor
split along axis 1, each shard's rows SHARD_ROW_BYTES long). Prints "dump join: ok" or exits 1.
"""
import sys

whole = open(sys.argv[1], "rb").read()
rows, row_bytes = int(sys.argv[2]), int(sys.argv[3])
shards = [open(p, "rb").read() for p in sys.argv[4:]]
joined = b"".join(s[r * row_bytes:(r + 1) * row_bytes] for r in range(rows) for s in shards)
if whole != joined or any(len(s) != rows * row_bytes for s in shards):
    print(f"dump join: the whole dump ({len(whole)} bytes) is not its shards joined along axis 1")
    sys.exit(1)
print("dump join: ok")
