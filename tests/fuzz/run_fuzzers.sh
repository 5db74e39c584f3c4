#!/usr/bin/env bash
# run_fuzzers.sh BUILD_DIR SECONDS - runs every fuzz target for SECONDS each on a scratch copy of
# its seed corpus. A crash fails the run and leaves the reproducer (crash-*) and its log here.
set -euo pipefail
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
status=0
for target in "$build"/tests/fuzz/fuzz_*; do
  [[ -x $target ]] || continue
  name=$(basename "$target")
  reader=${name#fuzz_}
  mkdir -p "$scratch/$reader"
  log="$scratch/$name.log"
  if "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
       -artifact_prefix="$PWD/$name-" "$scratch/$reader" "$here/corpus/$reader" > "$log" 2>&1; then
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+')
    echo "$name: ${runs:-?} executions in ${seconds} s, no crash"
  else
    echo "$name: FAILED"; tail -60 "$log"; status=1
  fi
done
rm -rf "$scratch"
exit $status
