#!/usr/bin/env bash
# getpage -Z against curl --parallel, the same command line for both, in the same run: 20,000
# small files (1 KiB each, a URL glob f[1-20000]) from a local nginx (one worker, started and
# stopped here, on 127.0.0.1), 100 in flight, every body to /dev/null.
#
#   bench/getpage_parallel.sh [--runs N] [--files N]
#
# Prints the medians of N runs (the two alternate within each round): files per second, and the
# client's CPU (user + system, from its rusage) per 1,000 files. Installs nginx-light and curl
# when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=5
files=20000
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --files) files="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--files N]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
bench/install_peers.sh nginx-light curl
./bazelw build --config=opt //examples:getpage >&2
getpage=$PWD/bazel-bin/examples/getpage

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
head -c 1024 /dev/zero | tr '\0' 's' >"$work/f1"
for ((i = 2; i <= files; i++)); do ln "$work/f1" "$work/f$i"; done
port=$(free_port)
start_nginx "$work" "$port" off
wait_for_http "http://127.0.0.1:$port/f1"

# run PROGRAM: the command line, timed; its rate and CPU from its rusage.
run() {
  /usr/bin/python3 - "$1" "$files" "http://127.0.0.1:$port/f[1-$files]" <<'PY'
import resource, subprocess, sys, time
program, n, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = time.monotonic()
# --no-progress-meter: curl 7.88 draws its parallel meter even with -s.
subprocess.run([program, "-s", "--no-progress-meter", "-Z", "--parallel-max", "100", "-o", "/dev/null", url],
               check=True)
seconds = time.monotonic() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"rate={n / seconds:.0f} cpu_per_1k={(u.ru_utime + u.ru_stime) / n * 1000:.4f}")
PY
}

declare -A rates=() cpus=()
for ((i = 0; i < runs; i++)); do
  for client in getpage curl; do
    if [[ $client == getpage ]]; then out=$(run "$getpage"); else out=$(run curl); fi
    rates[$client]+=" $(field rate "$out")"
    cpus[$client]+=" $(field cpu_per_1k "$out")"
  done
done
echo "== $files files of 1 KiB, -Z --parallel-max 100, median of $runs"
printf "%-10s %12s %26s   %s\n" client "files/s" "client CPU s per 1k files" "runs (files/s)"
for client in getpage curl; do
  # shellcheck disable=SC2086  # the lists split into their runs
  printf "%-10s %12s %26s   %s\n" "$client" "$(median 0 ${rates[$client]})" "$(median 4 ${cpus[$client]})" "${rates[$client]}"
done
