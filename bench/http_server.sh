#!/usr/bin/env bash
# The HTTP server against nginx and h2o: wrk with 100 connections for S seconds fetching a 1 KiB
# body, from deft's examples/web_server (/bytes/1024), from nginx (one worker, a 1 KiB file) and
# from h2o (one thread, the same file), one after the other on loopback, N runs each; then the
# parser alone (Google Benchmark).
#
#   bench/http_server.sh [--runs N] [--seconds S]
#
# Prints medians: requests/s and the server's CPU seconds per 1,000 requests (from
# /proc/PID/stat: deft's one process, nginx's one worker, h2o's one process). Installs wrk,
# nginx-light and h2o (Debian) when missing; starts and stops the servers itself, on 127.0.0.1.
# nginx runs a master and one worker (bench/lib.sh's start_nginx), h2o one thread (start_h2o).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=5
seconds=5
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--seconds S]" >&2; exit 2 ;;
  esac
done

. bench/lib.sh
bench/install_peers.sh wrk nginx-light h2o
./bazelw build --config=opt //examples:web_server //bench:http_parser_benchmark >&2
bin=bazel-bin

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
head -c 1024 /dev/zero | tr '\0' 'x' >"$work/1k"

start_server() {  # $1 = deft|nginx|h2o, $2 = port; sets url, stop (to kill) and pid (whose CPU counts)
  if [[ $1 == deft ]]; then
    "$bin/examples/web_server" --port="$2" >/dev/null &
    stop=$!
    url="http://127.0.0.1:$2/bytes/1024"
  elif [[ $1 == h2o ]]; then
    start_h2o "$work" "$2"
    stop=$h2o_pid
    url="http://127.0.0.1:$2/1k"
  else
    start_nginx "$work" "$2" off
    stop=$nginx_master
    url="http://127.0.0.1:$2/1k"
  fi
  wait_for_http "$url" || exit 1
  pid=$stop
  if [[ $1 == nginx ]]; then pid=$(pgrep -P "$stop"); fi  # nginx's CPU is its worker's
}

echo "== HTTP server: wrk -t1 -c100 -d${seconds}s, 1 KiB body, median of $runs"
servers=(deft nginx h2o)
declare -A rates cpus  # per server: its runs' figures, space-separated
# Round by round, each server once per round: a slow spell of the machine costs every server a
# run, rather than all of one server's.
for ((i = 0; i < runs; i++)); do
  for server in "${servers[@]}"; do
    port=$(free_port)
    start_server "$server" "$port"
    before=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c100 -d"${seconds}s" "$url")
    after=$(cpu_ticks "$pid")
    kill -TERM "$stop"
    wait "$stop" 2>/dev/null || true
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    rates[$server]+=" $(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    cpus[$server]+=" $(python3 -c "print(($after - $before) / $ticks / $requests * 1000)")"
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$out" >&2; fi
  done
done
printf "%-6s %12s %28s\n" server "requests/s" "server CPU s per 1k requests"
for server in "${servers[@]}"; do
  # shellcheck disable=SC2086  # the lists split into their runs
  printf "%-6s %12s %28s\n" "$server" "$(median 0 ${rates[$server]})" "$(median 4 ${cpus[$server]})"
done

echo
echo "== Parser alone (Google Benchmark, median of $runs repetitions)"
"$bin/bench/http_parser_benchmark" --benchmark_repetitions="$runs" \
  --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median|Benchmark"
