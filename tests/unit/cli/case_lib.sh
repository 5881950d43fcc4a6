# Helpers for command-line cases (sourced by tests/unit/cli/*_cases.sh). A cases file defines
# functions case_NAME; `FILE NAME` runs case_NAME in a fresh scratch directory (its current
# directory) with $TSPEMU (the executable) and $SRC (the source tree) set, and exits 0 only if
# every expectation held. CTest registers one test per case (tests/unit/cli/CMakeLists.txt).
#
#   run CMD ARGS...        run a command; its exit code, stdout and stderr are kept
#   run_sh 'SNIPPET'       the same for a bash snippet (pipes, redirections, ulimit)
#   expect_exit N          the last command exited with N
#   expect_stderr TEXT     its stderr contains TEXT (a plain substring)
#   expect_stdout TEXT     its stdout contains TEXT
#   expect_no_stderr TEXT  its stderr does not contain TEXT
#   expect_stderr_any T... its stderr contains one of the texts
#   check CMD ARGS...      a post-condition: the command must succeed (e.g. test -c /dev/null)
set -u
: "${TSPEMU:?set TSPEMU}" "${SRC:?set SRC}"
_code=0

_fail() {
  echo "FAIL: $*" >&2
  echo "--- stderr of the last command:" >&2
  cat "$_scratch/.err" >&2
  echo "--- stdout (first 4 KB):" >&2
  head -c 4096 "$_scratch/.out" >&2
  exit 1
}
run() {
  "$@" >"$_scratch/.out" 2>"$_scratch/.err"
  _code=$?
}
run_sh() {
  bash -c "$1" >"$_scratch/.out" 2>"$_scratch/.err"
  _code=$?
}
expect_exit() { [ "$_code" = "$1" ] || _fail "exit code $_code, expected $1"; }
expect_stderr() { grep -qF -- "$1" "$_scratch/.err" || _fail "stderr lacks: $1"; }
expect_no_stderr() { ! grep -qF -- "$1" "$_scratch/.err" || _fail "stderr has: $1"; }
expect_stderr_any() {
  local t
  for t in "$@"; do grep -qF -- "$t" "$_scratch/.err" && return 0; done
  _fail "stderr has none of: $*"
}
expect_stdout() { grep -qF -- "$1" "$_scratch/.out" || _fail "stdout lacks: $1"; }
check() { "$@" || _fail "post-condition failed: $*"; }

run_case() {
  local name=$1
  declare -F "case_$name" >/dev/null || { echo "no case '$name'" >&2; exit 2; }
  _scratch=$(mktemp -d "${TMPDIR:-/tmp}/tspemu_case.XXXXXX")
  trap 'chmod -R u+w "$_scratch" 2>/dev/null; rm -rf "$_scratch"' EXIT
  cd "$_scratch" || exit 2
  "case_$name"
  echo "ok: $name"
}
