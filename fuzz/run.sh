#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECS seconds (default 60) and prints executions per target.
# Needs a nightly toolchain (rustup toolchain install nightly) and cargo-fuzz
# (cargo install cargo-fuzz). New corpus entries go to target/fuzz-corpus/<target>, not to the
# committed seeds; a crash is written to fuzz/artifacts/<target>/ and fails the run: minimize it,
# fix the bug, and commit the input under fuzz/regressions/<target>/.
set -u
cd "$(dirname "$0")"
secs=${FUZZ_SECS:-60}
targets=${FUZZ_TARGETS:-"resp cluster_shards cluster_slots cluster_nodes redirect options url"}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "make fuzz needs nightly Rust and cargo-fuzz: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
    exit 2
fi
cargo +nightly fuzz build -O || exit 1
rc=0
summary=""
for t in $targets; do
    scratch=../target/fuzz-corpus/$t
    mkdir -p "$scratch" "artifacts/$t"
    log=../target/fuzz-$t.log
    cargo +nightly fuzz run -O "$t" "$scratch" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=1024 -artifact_prefix="artifacts/$t/" >"$log" 2>&1
    status=$?
    runs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1)
    crashes=$(find "artifacts/$t" -type f | wc -l)
    summary+="$t: ${runs:-no summary (exit $status)}, crash inputs in fuzz/artifacts/$t: $crashes"$'\n'
    [ "$status" -eq 0 ] && [ "$crashes" -eq 0 ] || rc=1
done
printf '%s' "$summary"
exit $rc
