#!/usr/bin/env python3
"""Runs a README code block as a test: the block that starts with START (a line prefix), with
`build/release/tspemu` replaced by the built binary and `topologies/` by the source tree's.

usage: run_readme_block.py README TSPEMU SOURCE_DIR WORK_DIR START
Prints the block's output; exit code: the block's (bash -e).
"""
import pathlib
import subprocess
import sys

readme, tspemu, src, work, start = sys.argv[1:6]
text = pathlib.Path(readme).read_text()
begin = text.index(start)
block = text[begin:text.index("```", begin)]
block = block.replace("build/release/tspemu", tspemu).replace("topologies/", f"{src}/topologies/")
work_dir = pathlib.Path(work)
work_dir.mkdir(parents=True, exist_ok=True)
result = subprocess.run(["bash", "-e", "-c", block], cwd=work_dir, capture_output=True, text=True)
sys.stdout.write(result.stdout)
sys.stderr.write(result.stderr)
sys.exit(result.returncode)
