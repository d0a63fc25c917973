#!/usr/bin/env bash
# Runs the Deferred benchmark (deft, KJ promises, and the std::vector<std::function> floor, in one
# run) with repetitions, and prints the medians. ./bazelw installs KJ (libcapnp-dev) if missing.
#
#   bench/deferred.sh [--repetitions N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repetitions=5
[[ "${1:-}" == "--repetitions" ]] && repetitions="$2"
./bazelw build --config=opt //bench:deferred_benchmark >&2
./bazel-bin/bench/deferred_benchmark \
  --benchmark_repetitions="$repetitions" \
  --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.3 |
  grep -E '^Benchmark|_median'
