#!/usr/bin/env bash
# examples:mysql_login run as a user runs it: it starts its own MariaDB, logs alice in, refuses a
# wrong password and an injection, answers while a SELECT SLEEP runs, and leaves no server or
# data directory behind when stopped.
set -uo pipefail
login=$1
fail=0
out=$(mktemp /tmp/deft-login-XXXXXX)
"$login" --port=0 >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 600); do grep -q "login server on" "$out" && break; sleep 0.1; done
cat "$out"
address=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$out" | head -1)
[[ -n $address ]] || { echo "FAIL: the server did not start"; exit 1; }
database_port=$(grep -oE 'database 127\.0\.0\.1:[0-9]+' "$out" | grep -oE '[0-9]+$')
# Its mariadbd, found through /proc (a minimal system has no pgrep).
server_pid=
for cmdline in /proc/[0-9]*/cmdline; do
  if tr '\0' ' ' <"$cmdline" 2>/dev/null | grep -q -- "mariadbd .*--port=$database_port "; then
    server_pid=$(basename "$(dirname "$cmdline")")
  fi
done
[[ -n $server_pid ]] && echo "ok: its server is process $server_pid" ||
  { echo "FAIL: no mariadbd on port $database_port"; fail=1; }

check() {  # name, expected, actual
  if [[ $2 == "$3" ]]; then echo "ok: $1"; else echo "FAIL: $1: expected '$2', got '$3'"; fail=1; fi
}
check "alice logs in" "welcome, alice <alice@example.test>" \
  "$(curl -s -d 'user=alice&password=wonderland' "$address/login")"
check "a wrong password" 401 \
  "$(curl -s -o /dev/null -w '%{http_code}' -d 'user=alice&password=guess' "$address/login")"
check "an injection stays data" 401 \
  "$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode "user=' OR 1=1 -- " \
       --data-urlencode 'password=x' "$address/login")"

# Two SELECT SLEEP(1) and a plain request at once: the plain one answers at once, the sleeps
# together in about a second (two pool connections, one loop thread).
start=$(date +%s%N)
curl -s "$address/sleep/1" >/dev/null &
a=$!
curl -s "$address/sleep/1" >/dev/null &
b=$!
sleep 0.2
quick=$(curl -s -o /dev/null -w '%{time_total}' "$address/")
wait $a $b
total_ms=$(( ($(date +%s%N) - start) / 1000000 ))
awk -v t="$quick" 'BEGIN { exit !(t < 0.5) }' && echo "ok: / answered in ${quick}s during the sleeps" ||
  { echo "FAIL: / took ${quick}s while the database slept"; fail=1; }
((total_ms < 1800)) && echo "ok: two 1 s sleeps took ${total_ms} ms" ||
  { echo "FAIL: two 1 s sleeps took ${total_ms} ms"; fail=1; }

kill -INT $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { echo "FAIL: SIGINT did not stop it"; fail=1; }
if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
  echo "FAIL: its MariaDB server ($server_pid) is still running"
  fail=1
fi
exit $fail
