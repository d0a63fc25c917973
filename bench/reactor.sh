#!/usr/bin/env bash
# Reactor benchmarks against libuv and Boost.Asio, same machine, same run; medians of N runs.
#
#   bench/reactor.sh [--runs N] [--seconds S]
#
# 1. Timers (bench/timers.cc): CPU per timer for 1,000,000 dense timers, the cancel cost, and
#    100,000 sparse timers over 1 s; deft vs libuv vs Asio.
# 2. Echo: bench/echo_load keeps 100 connections doing 64-byte ping-pong for S seconds against
#    deft's examples/echo_server and against a libuv echo server (bench/uv_echo_server.c), one at
#    a time on loopback; reports messages/s and the server's CPU per 100,000 messages.
# 3. Micro (bench/reactor_benchmark.cc): callFromThread throughput, an idle loop iteration.
#
# ./bazelw installs the peers (libuv1-dev, libboost-dev) when missing. Servers are started and
# stopped here, on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=3
seconds=5
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--seconds S]" >&2; exit 2 ;;
  esac
done

./bazelw build --config=opt //bench:timers //bench:echo_load //bench:uv_echo_server \
  //bench:reactor_benchmark //examples:echo_server >&2
bin=bazel-bin

. bench/lib.sh

echo "== Timers: CPU ns per timer (schedule + fire), median of $runs"
printf "%-6s %12s %12s %12s %12s\n" impl dense cancel cancel_op sparse
for impl in deft libuv asio; do
  dense=() cancel=() cancelop=() sparse=()
  for ((i = 0; i < runs; i++)); do
    dense+=("$("$bin/bench/timers" --impl=$impl --mode=dense | sed 's/.*ns_per_timer=\([0-9]*\).*/\1/')")
    line="$("$bin/bench/timers" --impl=$impl --mode=cancel)"
    cancel+=("$(sed 's/.*ns_per_timer=\([0-9]*\).*/\1/' <<<"$line")")
    cancelop+=("$(sed 's/.*cancel_ns=\([0-9]*\).*/\1/' <<<"$line")")
    sparse+=("$("$bin/bench/timers" --impl=$impl --mode=sparse | sed 's/.*ns_per_timer=\([0-9]*\).*/\1/')")
  done
  printf "%-6s %12s %12s %12s %12s\n" "$impl" "$(median 0 "${dense[@]}")" "$(median 0 "${cancel[@]}")" \
    "$(median 0 "${cancelop[@]}")" "$(median 0 "${sparse[@]}")"
done


echo
echo "== Echo: 100 connections, 64-byte ping-pong, ${seconds}s, median of $runs"
printf "%-6s %14s %26s\n" server "messages/s" "server CPU s per 100k msgs"
for server in deft libuv; do
  rates=() cpus=()
  for ((i = 0; i < runs; i++)); do
    port=$(free_port)
    if [[ $server == deft ]]; then
      "$bin/examples/echo_server" --port="$port" >/dev/null &
    else
      "$bin/bench/uv_echo_server" "$port" >/dev/null &
    fi
    pid=$!
    sleep 0.3
    before=$(cpu_ticks "$pid")
    out=$("$bin/bench/echo_load" --port="$port" --connections=100 --seconds="$seconds" --size=64)
    after=$(cpu_ticks "$pid")
    kill -INT "$pid"
    wait "$pid" || true
    messages=$(sed 's/.*messages=\([0-9]*\).*/\1/' <<<"$out")
    rates+=("$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$out")")
    cpus+=("$(python3 -c "print(($after - $before) / $ticks / $messages * 100000)")")
  done
  printf "%-6s %14s %26s\n" "$server" "$(median 0 "${rates[@]}")" "$(median 3 "${cpus[@]}")"
done

echo
echo "== Micro: callFromThread and an idle iteration (Google Benchmark medians)"
"$bin/bench/reactor_benchmark" --benchmark_repetitions="$runs" --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.3 2>/dev/null | grep -E '^Benchmark|_median'
