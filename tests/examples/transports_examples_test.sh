#!/usr/bin/env bash
# The examples of the reactor's other transports, run as a user runs them.
set -uo pipefail
prime_pool=$1
udp_echo=$2
echo_server=$3
fail=0
servers=()
dir=$(mktemp -d /tmp/deft-examples-XXXXXX)
trap 'kill "${servers[@]}" 2>/dev/null; rm -rf "$dir"' EXIT

# prime_pool: 78498 primes below 10^6, the same count all three ways.
out=$("$prime_pool" --limit=1000000 --chunks=4 --workers=2) || { echo "FAIL: prime_pool exited $?"; fail=1; }
echo "$out"
for way in "on the reactor thread" "deferToThread" "ProcessPool"; do
  grep -q "^$way .* 78498 primes" <<<"$out" || { echo "FAIL: $way did not count 78498"; fail=1; }
done
# Its workers run as the program itself (argv[0] its real path): none may be left.
# (Read from /proc: a minimal system has no pgrep.)
real=$(realpath "$prime_pool")
for cmdline in /proc/[0-9]*/cmdline; do
  [[ "$(tr '\0' ' ' <"$cmdline" 2>/dev/null)" == "$real " ]] &&
    { echo "FAIL: prime_pool left a worker behind: $cmdline"; fail=1; }
done

# udp_echo on a free port: a datagram comes back.
"$udp_echo" --port=0 >"$dir/udp.out" 2>&1 &
servers+=($!)
for _ in $(seq 100); do grep -q "udp echo on" "$dir/udp.out" && break; sleep 0.05; done
port=$(grep -oE '[0-9]+$' "$dir/udp.out")
reply=$(python3 - "$port" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"hello, udp", ("127.0.0.1", int(sys.argv[1])))
print(s.recvfrom(100)[0].decode())
PY
)
[[ $reply == "hello, udp" ]] && echo "ok: udp_echo" || { echo "FAIL: udp_echo answered '$reply'"; fail=1; }

# echo_server on a Unix socket.
"$echo_server" --unix="$dir/echo.sock" >"$dir/echo.out" 2>&1 &
servers+=($!)
for _ in $(seq 100); do [[ -S $dir/echo.sock ]] && break; sleep 0.05; done
reply=$(python3 - "$dir/echo.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"hello, unix")
print(s.recv(100).decode())
PY
)
[[ $reply == "hello, unix" ]] && echo "ok: echo_server --unix" || { echo "FAIL: echo_server --unix answered '$reply'"; fail=1; }
exit $fail
