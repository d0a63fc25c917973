#!/usr/bin/env bash
# The README's echo server, run as written: it listens on port 8000, echoes what a client sends,
# and a SIGINT stops it cleanly (exit 0 from main, as `reactor().run()` returns).
#
#   echo_server_test.sh path/to/echo_server
set -euo pipefail
server="$1"

"$server" &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT

# Wait for the port (the binary prints nothing).
for _ in $(seq 100); do
  if exec 3<>/dev/tcp/127.0.0.1/8000; then break; fi 2>/dev/null
  kill -0 $pid 2>/dev/null || { echo "FAIL: the echo server exited before listening"; exit 1; }
  sleep 0.05
done

printf 'hello, deft\n' >&3
IFS= read -r -t 5 reply <&3 || { echo "FAIL: no echo within 5 s"; exit 1; }
exec 3>&-
if [[ "$reply" != "hello, deft" ]]; then
  echo "FAIL: echoed '$reply'"
  exit 1
fi
echo "ok: echoed '$reply'"

kill -INT $pid
code=0
wait $pid || code=$?
if [[ $code -ne 0 ]]; then
  echo "FAIL: after SIGINT the server exited with $code, not 0"
  exit 1
fi
echo "ok: SIGINT stopped it, exit 0"
