#!/usr/bin/env bash
# The HTTP server against nginx: wrk with 100 connections for S seconds fetching a 1 KiB body,
# from deft's examples/web_server (/bytes/1024) and from nginx (one worker, a 1 KiB file), one
# after the other on loopback, N runs each; then the parser alone (Google Benchmark).
#
#   bench/http_server.sh [--runs N] [--seconds S]
#
# Prints medians: requests/s and the server's CPU seconds per 1,000 requests (from
# /proc/PID/stat: deft's one process, nginx's one worker). Installs wrk and nginx-light (Debian)
# when missing; starts and stops both servers itself, on 127.0.0.1. nginx runs a master and one
# worker, access log off, keepalive_requests raised so neither server re-opens connections
# during the run.
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

bench/install_peers.sh wrk nginx-light
./bazelw build --config=opt //examples:web_server //bench:http_parser_benchmark >&2
bin=bazel-bin

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
head -c 1024 /dev/zero | tr '\0' 'x' >"$work/1k"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[2:]]; print(f"{statistics.median(v):.{sys.argv[1]}f}")' "$@"; }

start_server() {  # $1 = deft|nginx, $2 = port; sets pid and url
  if [[ $1 == deft ]]; then
    "$bin/examples/web_server" --port="$2" >/dev/null &
    pid=$!
    url="http://127.0.0.1:$2/bytes/1024"
  else
    cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/error.log;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$2; root $work; }
}
CONF
    nginx -p "$work" -c "$work/nginx.conf" &
    master=$!
    url="http://127.0.0.1:$2/1k"
  fi
  for _ in $(seq 50); do
    if curl -sf -o /dev/null "$url"; then
      # nginx's CPU is its worker's; stopping the master stops both.
      [[ $1 == nginx ]] && pid=$(pgrep -P "$master") && stop=$master
      [[ $1 == deft ]] && stop=$pid
      return 0
    fi
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  exit 1
}

echo "== HTTP server: wrk -t1 -c100 -d${seconds}s, 1 KiB body, median of $runs"
printf "%-6s %12s %28s\n" server "requests/s" "server CPU s per 1k requests"
for server in deft nginx; do
  rates=() cpus=()
  for ((i = 0; i < runs; i++)); do
    port=$(free_port)
    start_server "$server" "$port"
    before=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c100 -d"${seconds}s" "$url")
    after=$(cpu_ticks "$pid")
    kill -TERM "$stop"
    wait "$stop" 2>/dev/null || true
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    rates+=("$(awk '/Requests\/sec/ {print $2}' <<<"$out")")
    cpus+=("$(python3 -c "print(($after - $before) / $ticks / $requests * 1000)")")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$out" >&2; fi
  done
  printf "%-6s %12s %28s\n" "$server" "$(median 0 "${rates[@]}")" "$(median 4 "${cpus[@]}")"
done

echo
echo "== Parser alone (Google Benchmark, median of $runs repetitions)"
"$bin/bench/http_parser_benchmark" --benchmark_repetitions="$runs" \
  --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median|Benchmark"
