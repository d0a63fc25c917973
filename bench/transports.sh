#!/usr/bin/env bash
# The reactor's other transports against libuv, same machine, same run; medians of N runs, the
# peers taking turns within each run so that drift of a noisy machine hits both.
#
#   bench/transports.sh [--runs N] [--seconds S] [--only udp|unix|spawn]
#
# 1. UDP echo: bench/udp_load keeps 100 sockets x 4 datagrams of 64 bytes in flight against
#    examples/udp_echo and against a libuv server (bench/uv_udp_echo_server.c: recvmmsg batches,
#    uv_udp_try_send). Datagrams/s, and the server's CPU per 100,000 datagrams.
# 2. Unix-socket echo: bench/echo_load --unix, 100 connections of 64-byte ping-pong, against
#    examples/echo_server --unix and bench/uv_echo_server unix:PATH (uv_pipe). Messages/s and the
#    server's CPU per 100,000 messages.
# 3. Spawn and reap 1,000 children, 16 at once (bench/spawn_bench.cc vs bench/uv_spawn_bench.c):
#    /bin/true on /dev/null, and /bin/echo writing 100 bytes into a pipe the parent reads. Wall
#    time per child, and CPU per child of the parent and of the whole tree.
#
# ./bazelw installs libuv1-dev when missing. Every server is started and stopped here, on
# 127.0.0.1 or a Unix socket in a temporary directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=5
seconds=5
only=
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--seconds S] [--only udp|unix|spawn]" >&2; exit 2 ;;
  esac
done
wanted() { [[ -z $only || $only == "$1" ]]; }

./bazelw build --config=opt //bench:udp_load //bench:uv_udp_echo_server //bench:echo_load \
  //bench:uv_echo_server //bench:spawn_bench //bench:uv_spawn_bench //examples:udp_echo \
  //examples:echo_server >&2
bin=bazel-bin
. bench/lib.sh
dir=$(mktemp -d /tmp/deft-bench-XXXXXX)
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

# serve KIND IMPL: starts the server, sets pid and target (the load client's address flag).
serve() {
  rm -f "$dir"/echo.sock*
  local port
  port=$(free_port)
  case "$1/$2" in
    udp/deft) "$bin/examples/udp_echo" --port="$port" >/dev/null & target="--port=$port" ;;
    udp/libuv) "$bin/bench/uv_udp_echo_server" "$port" >/dev/null & target="--port=$port" ;;
    unix/deft) "$bin/examples/echo_server" --unix="$dir/echo.sock" >/dev/null & target="--unix=$dir/echo.sock" ;;
    unix/libuv) "$bin/bench/uv_echo_server" "unix:$dir/echo.sock" >/dev/null & target="--unix=$dir/echo.sock" ;;
  esac
  pid=$!
  sleep 0.3
}

# load KIND IMPL: one timed run; appends to rate_IMPL and cpu_IMPL.
load() {
  serve "$1" "$2"
  local before after out messages
  before=$(cpu_ticks "$pid")
  if [[ $1 == udp ]]; then
    out=$("$bin/bench/udp_load" "$target" --sockets=100 --window=4 --seconds="$seconds" --size=64)
  else
    out=$("$bin/bench/echo_load" "$target" --connections=100 --seconds="$seconds" --size=64)
  fi
  after=$(cpu_ticks "$pid")
  kill -INT "$pid"
  wait "$pid" || true
  pid=
  messages=$(field messages "$out")
  eval "rate_$2+=($(field rate "$out"))"
  eval "cpu_$2+=($(python3 -c "print(($after - $before) / $ticks / $messages * 100000)"))"
}

for kind in udp unix; do
  wanted "$kind" || continue
  rate_deft=() cpu_deft=() rate_libuv=() cpu_libuv=()
  for ((i = 0; i < runs; i++)); do
    load "$kind" deft
    load "$kind" libuv
  done
  echo
  if [[ $kind == udp ]]; then
    echo "== UDP echo: 100 sockets x 4 in flight, 64-byte datagrams, ${seconds}s, median of $runs"
  else
    echo "== Unix-socket echo: 100 connections, 64-byte ping-pong, ${seconds}s, median of $runs"
  fi
  printf "%-6s %14s %28s\n" server "per second" "server CPU s per 100k"
  printf "%-6s %14s %28s\n" deft "$(median 0 "${rate_deft[@]}")" "$(median 3 "${cpu_deft[@]}")"
  printf "%-6s %14s %28s\n" libuv "$(median 0 "${rate_libuv[@]}")" "$(median 3 "${cpu_libuv[@]}")"
done

for mode in true output; do
  wanted spawn || continue
  declare -A wall=() self=() tree=()
  for impl in deft libuv; do wall[$impl]="" self[$impl]="" tree[$impl]=""; done
  # 1,000 children: the seconds of a run are its milliseconds per child.
  for ((i = 0; i < runs; i++)); do
    for impl in deft libuv; do
      program="$bin/bench/spawn_bench"
      [[ $impl == libuv ]] && program="$bin/bench/uv_spawn_bench"
      out=$("$program" --children=1000 --mode="$mode")
      wall[$impl]+=" $(field seconds "$out")"
      self[$impl]+=" $(field cpu_self "$out")"
      tree[$impl]+=" $(python3 -c "print($(field cpu_self "$out") + $(field cpu_children "$out"))")"
    done
  done
  echo
  echo "== Spawn and reap 1,000 children ($mode), 16 at once, median of $runs (ms per child)"
  printf "%-6s %10s %16s %16s\n" impl wall "parent CPU" "tree CPU"
  for impl in deft libuv; do
    # shellcheck disable=SC2086
    printf "%-6s %10s %16s %16s\n" "$impl" "$(median 3 ${wall[$impl]})" \
      "$(median 3 ${self[$impl]})" "$(median 3 ${tree[$impl]})"
  done
done
