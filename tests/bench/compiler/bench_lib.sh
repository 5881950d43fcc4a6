# Shared by the compiler benchmark scripts (sourced, not run): results go to $RESULTS.

# say TEXT: print a line and append it to $RESULTS.
say() { echo "$*" | tee -a "$RESULTS"; }

# json FILE KEY: a top-level value of a JSON report ("" if absent or unreadable).
json() {
  python3 -c 'import json,sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except Exception:
    v = ""
print(v)' "$1" "$2"
}
