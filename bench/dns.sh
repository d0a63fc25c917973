#!/usr/bin/env bash
# DNS: deft's CaresResolver against raw c-ares with poll(), 10,000 names from a local dnsmasq
# (started and stopped here, on 127.0.0.1 only), with 200 and with 50 queries in flight.
# Medians of N runs: names/s and CPU microseconds per lookup.
#
#   bench/dns.sh [--runs N]     (15 by default: single runs here vary by ±20%)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=15
[[ "${1:-}" == "--runs" ]] && runs="$2"
./bazelw build --config=opt //bench:dns_resolve >&2
work=$(mktemp -d)
trap 'kill "$dnsmasq_pid" 2>/dev/null; rm -rf "$work"' EXIT
for ((i = 0; i < 10000; i++)); do echo "10.$((i / 65536)).$((i / 256 % 256)).$((i % 256)) name$i.test"; done >"$work/hosts"
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address=127.0.0.1 --port="$port" --addn-hosts="$work/hosts" --local=/test/ \
  --user=root --pid-file= --log-facility=/dev/null &
dnsmasq_pid=$!
sleep 0.5
. bench/lib.sh
printf "%-6s %10s %12s %20s\n" impl in_flight names/s cpu_us_per_lookup
# Runs alternate deft, c-ares, deft, ... so drift in dnsmasq or the machine hits both alike.
for inflight in 200 50; do
  deft_rates=() deft_cpus=() cares_rates=() cares_cpus=()
  for ((r = 0; r < runs; r++)); do
    for impl in deft cares; do
      line=$(bazel-bin/bench/dns_resolve --impl=$impl --server=127.0.0.1:$port --count=10000 --in-flight=$inflight)
      rate="$(sed 's/.*names_per_s=\([0-9]*\).*/\1/' <<<"$line")"
      cpu="$(sed 's/.*cpu_us_per_lookup=\([0-9.]*\).*/\1/' <<<"$line")"
      if [[ $impl == deft ]]; then deft_rates+=("$rate") deft_cpus+=("$cpu"); else cares_rates+=("$rate") cares_cpus+=("$cpu"); fi
    done
  done
  printf "%-6s %10s %12.0f %20.2f\n" deft "$inflight" "$(median 0 "${deft_rates[@]}")" "$(median 2 "${deft_cpus[@]}")"
  printf "%-6s %10s %12.0f %20.2f\n" cares "$inflight" "$(median 0 "${cares_rates[@]}")" "$(median 2 "${cares_cpus[@]}")"
done
