#!/usr/bin/env bash
# Builds one libFuzzer target with clang (-fsanitize=fuzzer,address,undefined) and runs it for
# FUZZ_SECONDS (15 by default: a smoke run in the suite; longer by hand) from its committed
# seed corpus. Bazel's toolchain is g++, which has
# no libFuzzer, so this test compiles the http/ sources itself.
#
#   run_fuzzer.sh TARGET CORPUS_DIR      (from the repository root, or as a Bazel sh_test)
set -euo pipefail
target=$1
corpus=$2
root=${TEST_SRCDIR:+$TEST_SRCDIR/deft}
root=${root:-$(cd "$(dirname "$0")/../../.." && pwd)}
seconds=${FUZZ_SECONDS:-15}
work=${TEST_TMPDIR:-$(mktemp -d)}

if ! command -v clang++ >/dev/null; then
  echo "clang++ is needed for the fuzz targets (apt-get install clang)" >&2
  exit 1
fi
absl_libs=(-labsl_strings -labsl_strings_internal -labsl_str_format_internal -labsl_status
           -labsl_statusor -labsl_cord -labsl_cord_internal -labsl_cordz_info
           -labsl_cordz_functions -labsl_cordz_handle -labsl_raw_logging_internal
           -labsl_int128 -labsl_throw_delegate -labsl_base -labsl_spinlock_wait
           -labsl_synchronization -labsl_time -labsl_time_zone -labsl_stacktrace
           -labsl_symbolize -labsl_malloc_internal -labsl_debugging_internal
           -labsl_demangle_internal -labsl_exponential_biased -labsl_graphcycles_internal)
cd "$root"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I. tests/http/fuzz/"$target".cc http/headers.cc http/message.cc http/parser.cc http/url.cc \
  "${absl_libs[@]}" -o "$work/$target"

# The corpus grows in a scratch copy: the committed seeds stay as they are.
mkdir -p "$work/corpus"
cp "$corpus"/* "$work/corpus/"
"$work/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$work/corpus" 2>&1 | tail -n 15
