#!/usr/bin/env bash
# The web client against libcurl, curl --parallel and wrk, in the same run, fetching from a local
# nginx (one worker, started and stopped here, on 127.0.0.1):
#   small: a 1 KiB file 20,000 times with 100 in flight;
#   big:   a 1 MiB file 500 times with 20 in flight.
#
#   bench/http_client.sh [--runs N]
#
# Prints medians of N runs: requests/s and the client's CPU seconds per 1,000 requests (its own
# getrusage for deft and libcurl; /proc for curl and wrk). "deft" reads each body whole
# (readBody); "deft-stream" counts it as it arrives (deliverBody), like the libcurl program's
# write callback: that is the like-for-like pair. wrk runs for 5 s at 100 (small) or
# 20 (big) connections: the practical ceiling. Installs nginx-light, wrk and curl when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=5
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
bench/install_peers.sh wrk nginx-light curl libcurl4-openssl-dev
./bazelw build --config=opt //bench:http_client_load //bench:curl_multi_load >&2
bin=bazel-bin

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
head -c 1024 /dev/zero | tr '\0' 's' >"$work/1k"
head -c $((1 << 20)) /dev/zero | tr '\0' 'b' >"$work/1m"
port=$(free_port)
start_nginx "$work" "$port" on
wait_for_http "http://127.0.0.1:$port/1k"

# curl --parallel over a config file of N identical URLs; rate and CPU from its rusage.
run_curl() {  # url requests in_flight
  local config="$work/curl.cfg"
  : >"$config"
  for ((k = 0; k < $2; k++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$1"; done >>"$config"
  python3 - "$config" "$2" "$3" <<'PY'
import resource, subprocess, sys, time
config, n, inflight = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = time.monotonic()
subprocess.run(["curl", "-s", "--no-progress-meter", "--parallel", "--parallel-max", inflight, "-K", config], check=True)
seconds = time.monotonic() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"rate={n / seconds:.0f} cpu_per_1k={(u.ru_utime + u.ru_stime) / n * 1000:.4f}")
PY
}

run_wrk() {  # url connections
  wrk -t1 -c"$2" -d5s "$1" >"$work/wrk.out" &
  local pid=$!
  sleep 0.2
  local before after
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  sleep 4.7
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo "$before")
  wait "$pid"
  local requests rate
  requests=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  rate=$requests
  python3 -c "print(f'rate=$rate cpu_per_1k={($after - $before) / $ticks / ($rate * 4.7) * 1000:.4f}')"
}

clients=(deft deft-stream libcurl-multi curl-parallel wrk)
for size in small big; do
  if [[ $size == small ]]; then url="http://127.0.0.1:$port/1k"; n=20000; c=100;
  else url="http://127.0.0.1:$port/1m"; n=500; c=20; fi
  echo "== $size file: $n requests, $c in flight, median of $runs"
  declare -A rates=() cpus=()  # per client: its runs' figures, space-separated
  # Round by round, each client once per round: a slow spell of the machine costs every client a
  # run, rather than all of one client's.
  for ((i = 0; i < runs; i++)); do
    for client in "${clients[@]}"; do
      case $client in
        deft) out=$("$bin/bench/http_client_load" --url="$url" --requests=$n --in-flight=$c) ;;
        deft-stream) out=$("$bin/bench/http_client_load" --url="$url" --requests=$n --in-flight=$c --stream=true) ;;
        libcurl-multi) out=$("$bin/bench/curl_multi_load" "$url" $n $c) ;;
        curl-parallel) out=$(run_curl "$url" $n $c) ;;
        wrk) out=$(run_wrk "$url" $c) ;;
      esac
      rates[$client]+=" $(field rate "$out")"
      cpus[$client]+=" $(field cpu_per_1k "$out")"
    done
  done
  printf "%-16s %12s %26s\n" client "requests/s" "client CPU s per 1k req"
  for client in "${clients[@]}"; do
    # shellcheck disable=SC2086  # the lists split into their runs
    printf "%-16s %12s %26s\n" "$client" "$(median 0 ${rates[$client]})" "$(median 4 ${cpus[$client]})"
  done
  echo
done
