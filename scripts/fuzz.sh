#!/usr/bin/env bash
# Runs every fuzz target (proptest; cargo-fuzz needs a nightly toolchain CI does not have)
# for longer than CI does and prints, per target, the executions, the time and the failures.
# Usage: bash scripts/fuzz.sh [CASES]   (default 20000 cases per target)
set -uo pipefail
cd "$(dirname "$0")/.."
cases="${1:-20000}"
cargo build --release --locked --tests -p plansync-shared -p plansync-server >/dev/null 2>&1 || {
    echo "build failed: run cargo build --release --tests to see why" >&2
    exit 1
}
printf '| target | executions | seconds | executions/s | failures |\n|---|---:|---:|---:|---:|\n'
failures=0
for spec in \
    "plansync-shared sync::tests::fuzz_arbitrary_bytes_never_panic_the_decoder" \
    "plansync-shared sync::tests::fuzz_arbitrary_cbor_maps_never_panic_the_decoder" \
    "plansync-shared sync::tests::fuzz_sync_core_fed_arbitrary_message_sequences_never_panics_and_stores_only_valid_changes" \
    "plansync-server tests::fuzz_every_http_body_gets_a_clear_answer_never_a_5xx" \
    "plansync-server spreadsheet::tests::fuzz_tracker_import_reads_any_csv_or_xlsx_bytes_within_limits_never_panicking" \
    "plansync-server spreadsheet::tests::fuzz_tracker_import_reads_workbooks_with_cells_anywhere_within_limits"; do
    set -- $spec
    start=$(date +%s.%N)
    if PROPTEST_CASES="$cases" cargo test --release --locked -q -p "$1" --lib -- --exact "$2" >/tmp/plansync-fuzz.log 2>&1; then
        failed=0
    else
        failed=1
        failures=$((failures + 1))
        tail -20 /tmp/plansync-fuzz.log >&2
    fi
    end=$(date +%s.%N)
    awk -v n="$2" -v c="$cases" -v s="$start" -v e="$end" -v f="$failed" \
        'BEGIN { t = e - s; printf "| %s | %d | %.1f | %.0f | %d |\n", n, c, t, c / t, f }'
done
exit "$failures"
