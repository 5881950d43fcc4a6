#!/usr/bin/env python3
"""The docs stand alone: every repository path the docs and the code's comments cite exists, and
nothing cites a file outside the repository (the design notes the project started from).

usage: check_docs.py REPO_ROOT
Checks README.md, docs/, programs/, topologies/, cluster/, launch/, cmake/, tests/ and src/:
  - a token that starts with a top-level directory (docs/x.md, src/chip/engine.hpp,
    topologies/rack.toml, ...) must name an existing file or directory;
  - a source-relative path in src/ (chip/engine.hpp, net/mpi_transport.hpp, ...) must exist under
    src/;
  - no file may cite DESIGN.md, tsp-facts.md, toolchain.md, isa-design.md, /work/ or ../shared.
Placeholders are skipped: a path containing <, >, *, {, }, $ or %, and paths under build trees.
Exit 0 if all hold, else 1 with one `file:line: problem` per finding.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1]).resolve()
TOP = ("docs", "programs", "topologies", "cluster", "launch", "tests", "src", "cmake")
LAYERS = ("common", "isa", "chip", "topo", "net", "clock", "compiler", "model", "runtime", "cli")
TOP_RE = re.compile(r"(?<![\w./-])((?:%s)/[\w./<>*{}$%%-]*[\w>*}])" % "|".join(TOP))
LAYER_RE = re.compile(r"(?<![\w./-])((?:%s)/[\w/]+\.(?:hpp|cpp))\b" % "|".join(LAYERS))
FORBIDDEN = re.compile(r"DESIGN\.md|tsp-facts|toolchain\.md|isa-design|(?<![\w$}])/work/|\.\./shared")
TEXT = (".md", ".hpp", ".cpp", ".h", ".txt", ".cmake", ".toml", ".tsa", ".sh", ".sbatch", ".py", "")
SKIP_DIRS = ("build", ".git", "tests/docs")


def files():
    for name in ("README.md", "CMakeLists.txt"):
        if (ROOT / name).exists():
            yield ROOT / name
    for top in TOP:
        for p in sorted((ROOT / top).rglob("*")):
            rel = p.relative_to(ROOT).as_posix()
            if not p.is_file() or any(rel == d or rel.startswith(d + "/") for d in SKIP_DIRS):
                continue
            if p.suffix in TEXT or p.parent.name in ("launch", "slurm", "local-slurm"):
                yield p


def placeholder(token):
    return any(c in token for c in "<>*{}$%") or token.endswith("/")


problems = []
for path in files():
    try:
        text = path.read_text()
    except (UnicodeDecodeError, OSError):
        continue
    rel = path.relative_to(ROOT).as_posix()
    for number, line in enumerate(text.splitlines(), 1):
        if FORBIDDEN.search(line) and rel != "tests/docs/check_docs.py":
            problems.append(f"{rel}:{number}: cites a file outside the repository: {line.strip()}")
        for token in TOP_RE.findall(line):
            token = token.rstrip(".,;:)")
            if placeholder(token) or "build/" in token:
                continue
            if not (ROOT / token).exists():
                problems.append(f"{rel}:{number}: '{token}' does not exist")
        if rel.startswith("src/") or rel.startswith("docs/"):
            for token in LAYER_RE.findall(line):
                if not (ROOT / "src" / token).exists() and not (ROOT / token).exists():
                    problems.append(f"{rel}:{number}: 'src/{token}' does not exist")

for p in problems:
    print(p)
print(f"check_docs: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
