#!/usr/bin/env bash
# The notes' programs in deft (examples/notes, docs/from-the-notes.md), run as a user runs them,
# each checked for what its comment says it prints.
set -uo pipefail
bin=$(dirname "$1")  # the directory of the notes' programs
examples=$(dirname "$2")  # and of the other examples
fail=0
dir=$(mktemp -d /tmp/deft-notes-XXXXXX)
servers=()
trap 'kill "${servers[@]}" 2>/dev/null; rm -rf "$dir"' EXIT

ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
expect() {  # NAME PATTERN TEXT: TEXT has a line matching PATTERN
  grep -qE -- "$2" <<<"$3" && ok "$1" || { bad "$1: no line matching '$2' in:"; echo "$3"; }
}
# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 1. select_servers, both styles: "ok" on two ports, the URL echoed on the third.
for style in raw protocol; do
  a=$(free_port); b=$(free_port); h=$(free_port)
  "$bin/select_servers" --style=$style --port_a=$a --port_b=$b --http_port=$h >"$dir/select.out" 2>&1 &
  servers+=($!)
  for _ in $(seq 100); do grep -q "servers:" "$dir/select.out" && break; sleep 0.05; done
  reply=$(python3 - "$a" "$b" <<'PY'
import socket, sys
out = []
for port in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    s.sendall(b"hello")
    out.append(s.recv(100).decode())
print(" ".join(out))
PY
)
  [[ $reply == "ok ok" ]] && ok "select_servers $style: ok on both ports" || bad "select_servers $style answered '$reply'"
  url=$(curl -s --max-time 5 "http://127.0.0.1:$h/some/page?x=1")
  [[ $url == "/some/page?x=1" ]] && ok "select_servers $style: the URL echoed" || bad "select_servers $style echoed '$url'"
  kill "${servers[-1]}"
done

# The notes' interactive clients (seed 002): each message sent, each answer printed.
a=$(free_port); b=$(free_port); h=$(free_port)
"$bin/select_servers" --style=raw --port_a=$a --port_b=$b --http_port=$h >"$dir/select.out" 2>&1 &
servers+=($!)
for _ in $(seq 100); do grep -q "servers:" "$dir/select.out" && break; sleep 0.05; done
out=$(timeout 10 "$bin/select_servers" --connect=$b first second 2>&1)
[[ $(grep -c '^server response: ok$' <<<"$out") == 2 ]] && ok "the client: two answers" || { bad "the client:"; echo "$out"; }
kill "${servers[-1]}"

# 2. epoll_client: its four pages, each with its status line.
out=$(timeout 20 "$bin/epoll_client" 2>&1)
expect "epoll_client fetched page 4" '/page/4: HTTP/1.1 200 OK, [0-9]+ bytes of body' "$out"
expect "epoll_client finished" '^all 4 done$' "$out"

# 3. thread_pool: seven pages fetched on pool threads, the callbacks on the reactor.
out=$(timeout 30 "$bin/thread_pool" 2>&1)
[[ $(grep -c '^done: .* status=200 ' <<<"$out") == 7 ]] && ok "thread_pool: 7 pages" || { bad "thread_pool:"; echo "$out"; }
expect "thread_pool ended" '^all done$' "$out"

# 4. asyncio, demo by demo (the notes' 2 s waits scaled down to 0.4 s).
run() { timeout 30 "$bin/asyncio" --seconds=0.4 "$@" 2>&1; }
out=$(run --demo=gather)
expect "asyncio gather: group 1" '^group 1: 2 pages$' "$out"
expect "asyncio gather: group 2" '^group 2: 2 pages$' "$out"
out=$(run --demo=gather --cancel_group2)
expect "asyncio gather: group 1 runs on" '^group 1: 2 pages$' "$out"
expect "asyncio gather: group 2 cancelled" '^group 2 failed: .*cancel' "$out"
grep -q 'Unhandled error' <<<"$out" && bad "asyncio gather: an unhandled error was reported" || ok "asyncio gather: nothing unhandled"
out=$(run --demo=wait)
expect "asyncio wait: ten at once" '^10 pages in 0\.[45]s$' "$out"
out=$(run --demo=as_completed)
order=$(grep '^completed' <<<"$out" | awk '{print $3}' | tr '\n' ' ')
[[ $order == "1 3 4 2 0 " ]] && ok "asyncio as_completed: in arrival order" || { bad "as_completed order '$order'"; echo "$out"; }
out=$(run --demo=call_order)
order=$(grep -E '^(soon|later|at)' <<<"$out" | tr '\n' ',')
[[ $order == "soon 2,soon 1,soon 3,soon 4,later 1,later 2,at 2.5,later 3," ]] &&
  ok "asyncio call_order: FIFO, then by due time" || { bad "call_order '$order'"; echo "$out"; }
expect "asyncio call_soon_threadsafe" 'run on the reactor thread: yes' "$out"
out=$(run --demo=executor)
expect "asyncio run_in_executor: 6 calls, 3 threads, two rounds" '^6 blocking calls on 3 threads in 0\.[23]s$' "$out"
out=$(run --demo=nested)
expect "asyncio nested coroutines" '^1 \+ 2 = 3$' "$out"
out=$(run --demo=run)
expect "asyncio run_until_complete" '^run_until_complete returned$' "$out"
expect "asyncio run_forever" '^run_forever returned$' "$out"
"$bin/asyncio" --seconds=4 --demo=sigint >"$dir/sigint.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q waiting "$dir/sigint.out" && break; sleep 0.05; done
kill -INT $pid
wait $pid
status=$?
out=$(cat "$dir/sigint.out")
[[ $(grep -c '^cancel task$' <<<"$out") == 3 ]] && ok "asyncio sigint: three tasks cancelled" || { bad "sigint:"; echo "$out"; }
expect "asyncio sigint: reported" '^3 tasks cancelled$' "$out"
[[ $status == 0 ]] && ok "asyncio sigint exits 0" || bad "asyncio sigint exited $status"

# 5. grequests: the three failures each handled, the two pages fetched, two at a time.
out=$(timeout 30 "$bin/grequests" 2>&1)
expect "grequests: a timeout" '^Request failed: .*/delay/1: .*time' "$out"
expect "grequests: a host that does not exist" '^Request failed: http://fakedomain.invalid/: .*does not exist' "$out"
expect "grequests: a 500" '^Request failed: .*/status/500: .*500' "$out"
expect "grequests: the rest" '^5 requests, 3 failed, at most 2 at once$' "$out"

# 6. twisted_getpage: four pages, then "done".
out=$(timeout 20 "$bin/twisted_getpage" 2>&1)
[[ $(grep -c '/page/1: [0-9]* bytes: page 1' <<<"$out") == 4 ]] && ok "twisted_getpage: 4 pages" || { bad "twisted_getpage:"; echo "$out"; }
expect "twisted_getpage: done" '^done$' "$out"

# 7. tornado: /index.html finishes after its timer while /quick answers at once; the client
#    stops when its count reaches zero.
port=$(free_port)
"$bin/tornado" --port=$port --delay=1 >"$dir/tornado.out" 2>&1 &
servers+=($!)
for _ in $(seq 100); do grep -q "server on" "$dir/tornado.out" && break; sleep 0.05; done
curl -s "http://127.0.0.1:$port/index.html" >"$dir/index.out" &
slow=$!
sleep 0.2
quick=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/quick")
wait $slow
[[ $(cat "$dir/index.out") == async ]] && ok "tornado: /index.html answered async" || bad "tornado /index.html: $(cat "$dir/index.out")"
awk -v t="$quick" 'BEGIN { exit !(t < 0.5) }' && ok "tornado: /quick answered in ${quick}s meanwhile" || bad "tornado: /quick took $quick s"
out=$(timeout 20 "$bin/tornado" --fetch 2>&1)
expect "tornado client: a body" '/page/1: page 1' "$out"
expect "tornado client: an error" '^Error: .*/status/404: .*404' "$out"

# The crawler: a pool of requests over the site it serves itself.
out=$(timeout 60 "$examples/crawler" 2>&1)
expect "crawler: 31 pages, 5 at a time" '^31 pages in .*, at most 5 at a time$' "$out"

# server.start(3): multiprocess_server's workers share one port; the replies come from more
# than one of them, and SIGINT to the process group stops them all.
port=$(free_port)
setsid "$examples/multiprocess_server" --port=$port --workers=3 >"$dir/multi.out" 2>&1 &
leader=$!
for _ in $(seq 100); do [[ $(grep -c listening "$dir/multi.out") == 3 ]] && break; sleep 0.05; done
workers=$(python3 - "$port" <<'PY'
import socket, sys
seen = set()
for _ in range(24):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(b"hi")
    seen.add(s.recv(100).split(b":")[0])
    s.close()
print(len(seen))
PY
)
((workers >= 2)) && ok "multiprocess_server: $workers workers answered" || bad "multiprocess_server: $workers worker(s) answered"
kill -INT -- -"$leader"
for _ in $(seq 100); do kill -0 "$leader" 2>/dev/null || break; sleep 0.05; done
kill -0 "$leader" 2>/dev/null && bad "multiprocess_server: SIGINT did not stop it" || ok "multiprocess_server stopped"

exit $fail
