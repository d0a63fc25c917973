#!/usr/bin/env bash
# TLS on loopback, deft against its peers in the same run, with an ECDSA P-256 and an RSA-2048
# certificate from a throw-away CA:
#   client, keep-alive:  5,000 fetches of a 1 KiB file from nginx (one worker), 50 in flight:
#                        deft's Agent against libcurl multi;
#   client, handshakes:  1,000 fetches each on a new connection ("Connection: close"), 20 in
#                        flight: the same pair, each as it does by default (deft resumes TLS
#                        sessions); and deft with resumption off (a full handshake each time);
#   server:              wrk -t1 -c100 over https for S seconds, 1 KiB: deft's web_server
#                        (--cert/--key) against nginx.
#
#   bench/tls.sh [--runs N] [--seconds S]
#
# Prints medians of N runs, run round by round: requests/s and CPU seconds per 1,000 requests
# (the client's own for the client rows; the server process's, or nginx's worker's, for the
# server rows). Installs wrk, nginx-light, libcurl4-openssl-dev and openssl when missing.
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
bench/install_peers.sh wrk nginx-light libcurl4-openssl-dev openssl
./bazelw build --config=opt //examples:web_server //bench:http_client_load //bench:curl_multi_load >&2
bin=bazel-bin

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
head -c 1024 /dev/zero | tr '\0' 'x' >"$work/1k"
make_test_certificates "$work"

stop_nginx() {
  kill -TERM "$nginx_master"
  wait "$nginx_master" 2>/dev/null || true
}

server_run() {  # deft|nginx KIND: one wrk run; prints "rate=R cpu_per_1k=C"
  local port stop pid url
  port=$(free_port)
  if [[ $1 == deft ]]; then
    "$bin/examples/web_server" --port="$port" --cert="$work/$2.pem" --key="$work/$2.key" >/dev/null &
    stop=$!
    pid=$stop
    url="https://127.0.0.1:$port/bytes/1024"
  else
    start_nginx "$work" "$port" off "$work/$2.pem" "$work/$2.key"
    stop=$nginx_master
    url="https://127.0.0.1:$port/1k"
  fi
  for _ in $(seq 50); do curl -sf --cacert "$work/ca.pem" -o /dev/null "$url" && break; sleep 0.1; done
  [[ $1 == nginx ]] && pid=$(pgrep -P "$stop")
  local before after out requests
  before=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c100 -d"${seconds}s" "$url")
  after=$(cpu_ticks "$pid")
  kill -TERM "$stop"
  wait "$stop" 2>/dev/null || true
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$out" >&2; fi
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  python3 -c "print(f'rate={$(awk '/Requests\/sec/ {print $2}' <<<"$out")} cpu_per_1k={($after - $before) / $ticks / $requests * 1000:.4f}')"
}

for kind in ecdsa rsa; do
  declare -A rates=() cpus=()
  rows=(keepalive-deft keepalive-libcurl handshake-deft handshake-deft-full handshake-libcurl
        server-deft server-nginx)
  for ((i = 0; i < runs; i++)); do
    port=$(free_port)
    start_nginx "$work" "$port" off "$work/$kind.pem" "$work/$kind.key"
    url="https://127.0.0.1:$port/1k"
    for _ in $(seq 50); do curl -sf --cacert "$work/ca.pem" -o /dev/null "$url" && break; sleep 0.1; done
    for row in "${rows[@]}"; do
      case $row in
        keepalive-deft) out=$("$bin/bench/http_client_load" --url="$url" --requests=5000 --in-flight=50 --cacert="$work/ca.pem") ;;
        keepalive-libcurl) out=$("$bin/bench/curl_multi_load" "$url" 5000 50 "$work/ca.pem") ;;
        handshake-deft) out=$("$bin/bench/http_client_load" --url="$url" --requests=1000 --in-flight=20 --cacert="$work/ca.pem" --close=true) ;;
        handshake-deft-full) out=$("$bin/bench/http_client_load" --url="$url" --requests=1000 --in-flight=20 --cacert="$work/ca.pem" --close=true --resume=false) ;;
        handshake-libcurl) out=$("$bin/bench/curl_multi_load" "$url" 1000 20 "$work/ca.pem" close) ;;
        server-deft) stop_nginx; out=$(server_run deft "$kind") ;;
        server-nginx) out=$(server_run nginx "$kind") ;;
      esac
      rates[$row]+=" $(field rate "$out")"
      cpus[$row]+=" $(field cpu_per_1k "$out")"
    done
  done
  echo "== TLS, $kind certificate, median of $runs"
  printf "%-20s %12s %24s\n" "" "requests/s" "CPU s per 1k requests"
  for row in "${rows[@]}"; do
    # shellcheck disable=SC2086  # the lists split into their runs
    printf "%-20s %12s %24s\n" "$row" "$(median 0 ${rates[$row]})" "$(median 4 ${cpus[$row]})"
  done
  echo
done
