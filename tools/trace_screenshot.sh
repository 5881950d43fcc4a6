#!/usr/bin/env bash
# Opens a `tspemu run|compile --trace` file in a real trace viewer, headless, checks that the viewer
# parsed it (speedscope titles its page "<file> - speedscope" once a profile has loaded; a file it
# cannot import leaves the title alone) and saves a screenshot: speedscope (npm package
# `speedscope`, which reads the Chrome trace-event format) in Debian's chromium. For machines without a display (CI, cluster login nodes); on a desktop open
# the trace in https://ui.perfetto.dev or chrome://tracing instead.
#
#   tools/trace_screenshot.sh TRACE.json OUT.png
#
# Exit 0: loaded and saved; 1: the viewer did not load it; 2: usage or a missing tool (77 when
# chromium is not installed, so a CTest test skips). Needs `chromium` (apt-get install chromium)
# and node/npm; fetches speedscope 1.25.0 from the npm
# registry into ${TSPEMU_SPEEDSCOPE_DIR:-$HOME/.cache/tspemu/speedscope} on first use. Traces of
# more than ~100 MB do not fit the viewer's command-line loader: use --trace-cycles FIRST:LAST.
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 TRACE.json OUT.png" >&2
  exit 2
fi
trace=$(realpath "$1")
out=$(realpath -m "$2")
[[ -f "$trace" ]] || { echo "$0: error: $1: no such file" >&2; exit 2; }
command -v chromium >/dev/null || { echo "$0: chromium is not installed (apt-get install chromium)" >&2; exit 77; }
dir=${TSPEMU_SPEEDSCOPE_DIR:-$HOME/.cache/tspemu/speedscope}
if [[ ! -f "$dir/package/dist/release/index.html" ]]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent speedscope@1.25.0 >/dev/null && tar xzf speedscope-1.25.0.tgz)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# speedscope's own CLI does the same: the profile, base64, handed to its page by a script file.
node -e '
const fs = require("fs");
const b64 = fs.readFileSync(process.argv[1]).toString("base64");
fs.writeFileSync(process.argv[2], "speedscope.loadFileFromBase64(" + JSON.stringify(require("path").basename(process.argv[1])) + ", " + JSON.stringify(b64) + ")");
' "$trace" "$work/profile.js"
url="file://$dir/package/dist/release/index.html#localProfilePath=$work/profile.js"
flags=(--headless=new --no-sandbox --disable-gpu --allow-file-access-from-files
  --window-size=1600,1000 --virtual-time-budget=15000)
name=$(basename "$trace")
title=$(timeout 120 chromium "${flags[@]}" --user-data-dir="$work/dom" --dump-dom "$url" 2>/dev/null |
  grep -o '<title>[^<]*</title>' || true)
if [[ "$title" != "<title>$name - speedscope</title>" ]]; then
  echo "$0: error: the viewer did not load $1 (page title: ${title:-none})" >&2
  exit 1
fi
timeout 120 chromium "${flags[@]}" --user-data-dir="$work/shot" --screenshot="$out" "$url" \
  >"$work/chromium.log" 2>&1 || { cat "$work/chromium.log" >&2; exit 1; }
[[ -s "$out" ]] || { echo "$0: error: no screenshot written" >&2; exit 1; }
echo "loaded in speedscope ($title); wrote $out"
