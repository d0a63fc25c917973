#!/usr/bin/env bash
# The getpage command: the demo (no URL); curl-mode flags and exit codes against
# examples/web_server; and the failures a well-behaved server cannot produce (a malformed
# response, one cut short, a redirect loop) against a few lines of Python sending exact bytes.
set -uo pipefail
getpage=$1
web_server=$2
side_by_side=$3
command_lines=$4
fail=0
# No ~/.curlrc of the machine's: an empty one, found first (the .curlrc checks below set their own).
export CURL_HOME="$TEST_TMPDIR/curl_home"
mkdir -p "$CURL_HOME" && : >"$CURL_HOME/.curlrc"
check() {  # expected-exit description command...
  local expected=$1 what=$2
  shift 2
  "$@" >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"
  local rc=$?
  if [[ $rc -ne $expected ]]; then
    echo "FAIL: $what: exit $rc, expected $expected"; cat "$TEST_TMPDIR/err"; fail=1
  elif [[ $expected -ne 0 && ! -s $TEST_TMPDIR/err ]]; then
    echo "FAIL: $what: no error line on stderr"; fail=1
  else
    echo "ok: $what ($rc)"
  fi
}

check 0 "demo with no URL" "$getpage"
grep -q "fetched 8 pages concurrently" "$TEST_TMPDIR/out" || { echo "FAIL: no summary line"; fail=1; }
grep -q "/missing .* 404" "$TEST_TMPDIR/out" || { echo "FAIL: 404 row missing"; cat "$TEST_TMPDIR/out"; fail=1; }

# Servers bind port 0 and say which port they got: no test races another process for a port.
# listening_port FILE: waits for the "http://127.0.0.1:PORT/" line (or a bare port) a server wrote.
listening_port() {
  for _ in $(seq 100); do
    local found
    found=$(grep -oE '(127\.0\.0\.1:)?[0-9]+' "$1" 2>/dev/null | head -1)
    if [[ -n $found ]]; then echo "${found##*:}"; return 0; fi
    sleep 0.05
  done
  echo "server did not report its port: $(cat "$1")" >&2
  return 1
}
servers=()  # every server this test starts, stopped at exit
trap 'kill "${servers[@]}" 2>/dev/null' EXIT
"$web_server" --port=0 >"$TEST_TMPDIR/web_server.out" 2>&1 &
servers+=($!)
port=$(listening_port "$TEST_TMPDIR/web_server.out") || exit 1
base="http://127.0.0.1:$port"

check 0 "-o - with -w" "$getpage" -o - -w '|%{http_code}|%{size_download}|%{num_redirects}' "$base/hello?name=t"
[[ $(cat "$TEST_TMPDIR/out") == "hello, t"$'\n''|200|9|0' ]] || { echo "FAIL: -w output: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 0 "a 404 without -f is a transfer like any, its body written" "$getpage" -o "$TEST_TMPDIR/body" "$base/nowhere"
grep -q "No route" "$TEST_TMPDIR/body" || { echo "FAIL: 404 body not written"; fail=1; }
check 22 "-f: a 404 is 22" "$getpage" -f -o - "$base/nowhere"
check 0 "-d posts" "$getpage" -o - -d 'abc' "$base/echo"
[[ $(cat "$TEST_TMPDIR/out") == abc ]] || { echo "FAIL: -d echo: $(cat "$TEST_TMPDIR/out")"; fail=1; }
echo -n "from a file" >"$TEST_TMPDIR/data"
check 0 "-d @file -X PUT" "$getpage" -o - -X PUT -d "@$TEST_TMPDIR/data" "$base/echo"
[[ $(cat "$TEST_TMPDIR/out") == "from a file" ]] || { echo "FAIL: -d @file"; fail=1; }
check 28 "--max-time" "$getpage" -o - --max-time 0.3 "$base/slow?seconds=5"
check 63 "--max-filesize" "$getpage" -o - --max-filesize 10 "$base/bytes/100"
check 7 "connection refused" "$getpage" -o - "http://127.0.0.1:1/"
grep -q "^getpage: (7) Failed to connect to 127.0.0.1 port 1 after [0-9]* ms: Couldn't connect to server" "$TEST_TMPDIR/err" ||
  { echo "FAIL: (7) message: $(cat "$TEST_TMPDIR/err")"; fail=1; }
check 6 "a name that does not resolve" "$getpage" -o - "http://nosuch.invalid/"
grep -q "^getpage: (6) Could not resolve host: nosuch.invalid" "$TEST_TMPDIR/err" || { echo "FAIL: (6) message"; fail=1; }
check 1 "unknown scheme" "$getpage" -o - "ftp://127.0.0.1:21/"
grep -q '^getpage: (1) Protocol "ftp" not supported or disabled in libcurl' "$TEST_TMPDIR/err" || { echo "FAIL: (1) message"; fail=1; }
check 35 "https to a port that speaks plain http" "$getpage" -o - "https://127.0.0.1:$port/"

# Side by side with curl itself (Debian's 7.88): each command line, as people write them, run
# by both against the web server; stdout, the files -o wrote and the exit code must be the same.
# (/request echoes the request: its header fields are compared as a set, since the two clients
# order them differently, and User-Agent is left out.)
command -v curl >/dev/null || { echo "FAIL: curl is not installed (bazelw installs it)"; fail=1; }
# An HTTP proxy (Debian's tinyproxy) for -x, and a second one that wants a password.
command -v tinyproxy >/dev/null || { echo "FAIL: tinyproxy is not installed (bazelw installs it)"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_tinyproxy() {  # NAME PORT [CONFIG LINE]
  printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nLogLevel Error\nDisableViaHeader Yes\nPidFile "%s"\n%s\n' \
    "$2" "$TEST_TMPDIR/$1.pid" "${3:-}" >"$TEST_TMPDIR/$1.conf"
  tinyproxy -d -c "$TEST_TMPDIR/$1.conf" >"$TEST_TMPDIR/$1.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $2), 1)" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "FAIL: tinyproxy did not start: $(cat "$TEST_TMPDIR/$1.log")"; exit 1
}
proxy_port=$(free_port)
start_tinyproxy proxy "$proxy_port"
locked_port=$(free_port)
start_tinyproxy locked "$locked_port" "BasicAuth deft s3cret"
proxy="127.0.0.1:$proxy_port"

# Files the table uploads (@D@).
data="$TEST_TMPDIR/uploads"
mkdir -p "$data"
printf 'plain text\n' >"$data/a.txt"
printf '{"k": [1, 2]}' >"$data/b.json"
head -c 3000 /dev/urandom >"$data/c.png"
head -c 1500000 /dev/zero | tr '\0' 'z' >"$data/big.bin"
mkdir -p "$TEST_TMPDIR/side"
/usr/bin/env python3 "$side_by_side" "$getpage" "$base" "$TEST_TMPDIR/side" "$proxy" "$data" \
  <"$command_lines" || fail=1
# ~/.curlrc is read before the command line, unless that starts with -q (or --disable): the same
# few lines, side by side, with a home whose .curlrc sets a user agent, -s and -w, and names an
# option getpage does not know (warned of and skipped, as curl does with one it does not know).
rc_home="$TEST_TMPDIR/rc_home"
mkdir -p "$rc_home/.config"
cat >"$rc_home/.curlrc" <<'RC'
# defaults for every call
silent
user-agent = "from-curlrc/1.0"
tcp-nodelay
-w "[%{http_code}]\n"
RC
echo 'user-agent = "from-config-dir/1.0"' >"$rc_home/.config/curlrc"
side_by_side_with() {  # ENV-ASSIGNMENTS... -- then command lines on stdin
  local vars=()
  while [[ $1 != -- ]]; do vars+=("$1"); shift; done
  env -u CURL_HOME -u XDG_CONFIG_HOME "${vars[@]}" /usr/bin/env python3 "$side_by_side" "$getpage" \
    "$base" "$TEST_TMPDIR/side" || fail=1
}
side_by_side_with HOME="$rc_home" -- <<'LINES'
@B@/request
-A other @B@/request
-q @B@/request
-qs @B@/request
--disable -s @B@/request
-s -q @B@/request
LINES
env -u CURL_HOME -u XDG_CONFIG_HOME HOME="$rc_home" "$getpage" "$base/hello" >/dev/null 2>"$TEST_TMPDIR/err"
grep -q "^Warning: $rc_home/.curlrc:4: warning: 'tcp-nodelay' is unknown$" "$TEST_TMPDIR/err" ||
  { echo "FAIL: no warning for an unknown .curlrc option: $(cat "$TEST_TMPDIR/err")"; fail=1; }
# Which file: $CURL_HOME/.curlrc first, then $XDG_CONFIG_HOME/.curlrc, then ~/.curlrc, then
# ~/.config/curlrc (only without XDG_CONFIG_HOME).
other="$TEST_TMPDIR/other_rc"
mkdir -p "$other"
echo 'user-agent = "from-other/1.0"' >"$other/.curlrc"
side_by_side_with HOME="$rc_home" CURL_HOME="$other" -- <<<'-s @B@/request'
side_by_side_with HOME="$rc_home" XDG_CONFIG_HOME="$other" -- <<<'-s @B@/request'
rm "$rc_home/.curlrc"
side_by_side_with HOME="$rc_home" -- <<<'-s @B@/request'
side_by_side_with HOME="$rc_home" XDG_CONFIG_HOME="$TEST_TMPDIR/nowhere" -- <<<'-s @B@/request'

# What the table cannot compare byte for byte: -v's trace on stderr (curl's info lines differ),
# %{json} (timings), each redirect hop traced with -L.
check 0 "-v" "$getpage" -s -v -o /dev/null "$base/hello"
grep -q "^> GET /hello HTTP/1.1" "$TEST_TMPDIR/err" && grep -q "^> Accept: \*/\*" "$TEST_TMPDIR/err" &&
  grep -q "^< HTTP/1.1 200 OK" "$TEST_TMPDIR/err" &&
  grep -q "^\* Connected to 127.0.0.1 (127.0.0.1) port $port" "$TEST_TMPDIR/err" ||
  { echo "FAIL: -v trace: $(cat "$TEST_TMPDIR/err")"; fail=1; }
check 0 "-v -L traces each hop" "$getpage" -s -v -L -o /dev/null "$base/redirect"
[[ $(grep -c "^< HTTP/1.1" "$TEST_TMPDIR/err") == 2 ]] && grep -q "^< HTTP/1.1 302" "$TEST_TMPDIR/err" ||
  { echo "FAIL: -v -L: $(cat "$TEST_TMPDIR/err")"; fail=1; }
# --etag-compare with a file of the server's tag: a 304, nothing written; with another, the body.
printf '"v1-deft"\n' >"$TEST_TMPDIR/etag.txt"
check 0 "--etag-compare, same tag" "$getpage" -s -w '%{http_code}' --etag-compare "$TEST_TMPDIR/etag.txt" "$base/etag"
[[ $(cat "$TEST_TMPDIR/out") == 304 ]] || { echo "FAIL: --etag-compare: $(cat "$TEST_TMPDIR/out")"; fail=1; }
printf '"v0"\n' >"$TEST_TMPDIR/etag.txt"
check 0 "--etag-compare, another tag" "$getpage" -s --etag-compare "$TEST_TMPDIR/etag.txt" "$base/etag"
[[ $(cat "$TEST_TMPDIR/out") == "tagged body" ]] || { echo "FAIL: --etag-compare body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
# -R: the file dated as the server's Last-Modified (Tue, 01 Jun 2021 10:00:00 GMT).
check 0 "-R" "$getpage" -s -R -o "$TEST_TMPDIR/dated.txt" "$base/etag"
[[ $(stat -c %Y "$TEST_TMPDIR/dated.txt") == 1622541600 ]] || { echo "FAIL: -R: $(stat -c %Y "$TEST_TMPDIR/dated.txt")"; fail=1; }
# --retry gives up after N: the last failure is the answer (a 503 without -f: exit 0).
check 0 "--retry exhausted" "$getpage" -s --retry 1 --retry-delay 0 -o /dev/null -w '%{http_code}' "$base/flaky/give-up?fail=5"
[[ $(cat "$TEST_TMPDIR/out") == 503 ]] || { echo "FAIL: --retry exhausted: $(cat "$TEST_TMPDIR/out")"; fail=1; }
# curl's progress meter, on a terminal (a pseudo-terminal from script(1)) when the body goes to a
# file; none with -s or when the body goes to the terminal.
meter() { script -qc "$*" /dev/null </dev/null; }
meter "$getpage" -o "$TEST_TMPDIR/metered.bin" "$base/bytes/300000" >"$TEST_TMPDIR/meter.out"
grep -q "% Total    % Received % Xferd  Average Speed" "$TEST_TMPDIR/meter.out" &&
  grep -q "100  292k  100  292k" "$TEST_TMPDIR/meter.out" ||
  { echo "FAIL: progress meter: $(cat -A "$TEST_TMPDIR/meter.out")"; fail=1; }
[[ $(stat -c %s "$TEST_TMPDIR/metered.bin") == 300000 ]] || { echo "FAIL: metered body"; fail=1; }
meter "$getpage" -# -o "$TEST_TMPDIR/metered.bin" "$base/bytes/300000" >"$TEST_TMPDIR/meter.out"
grep -q "#### *100.0%" "$TEST_TMPDIR/meter.out" || { echo "FAIL: -# bar: $(cat -A "$TEST_TMPDIR/meter.out")"; fail=1; }
meter "$getpage" -s -o "$TEST_TMPDIR/metered.bin" "$base/bytes/300000" >"$TEST_TMPDIR/meter.out"
[[ ! -s $TEST_TMPDIR/meter.out ]] || { echo "FAIL: a meter with -s: $(cat -A "$TEST_TMPDIR/meter.out")"; fail=1; }
meter "$getpage" "$base/hello" >"$TEST_TMPDIR/meter.out"
! grep -q "% Total" "$TEST_TMPDIR/meter.out" || { echo "FAIL: a meter over the body"; fail=1; }
# -Z's meter, all transfers on one line: curl's and getpage's end on the same counts.
zfiles=(-o "$TEST_TMPDIR/z1.bin" -o "$TEST_TMPDIR/z2.bin" -o "$TEST_TMPDIR/z3.bin")
zurls=("$base/bytes/100000" "$base/bytes/100000" "$base/bytes/100000")
for client in curl "$getpage"; do
  meter "$client" -Z "${zfiles[@]}" "${zurls[@]}" >"$TEST_TMPDIR/meter.out"
  grep -q "DL% UL%  Dled  Uled  Xfers  Live Total     Current  Left    Speed" "$TEST_TMPDIR/meter.out" &&
    grep -q "100 --   292k     0     3     0  " "$TEST_TMPDIR/meter.out" ||
    { echo "FAIL: -Z meter of $client: $(cat -A "$TEST_TMPDIR/meter.out")"; fail=1; }
done
echo "ok: progress meter and -#"
# The timing template people copy (curl-format.txt): each step after the one before it.
check 0 "-w timings" "$getpage" -s -o /dev/null -w '%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total} %{num_connects}' "$base/hello"
python3 -c '
import sys
n, c, a, p, s, t, k = open(sys.argv[1]).read().split()
n, c, a, p, s, t = map(float, (n, c, a, p, s, t))
assert 0 <= n <= c <= p <= s <= t and a == 0 and k == "1", (n, c, a, p, s, t, k)
' "$TEST_TMPDIR/out" || { echo "FAIL: -w timings: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 0 "-w %{json}" "$getpage" -s -o /dev/null -w '%{json}' "$base/hello?name=json"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["http_code"] == 200 and j["exitcode"] == 0 and j["remote_ip"] == "127.0.0.1", j
assert j["url"].endswith("/hello?name=json") and j["size_download"] == 12 and j["time_total"] > 0, j
' "$TEST_TMPDIR/out" || { echo "FAIL: %{json}: $(cat "$TEST_TMPDIR/out")"; fail=1; }

# HTTP over a Unix socket (curl's --unix-socket): the URL gives the Host and the target, the
# socket is where the request goes. A short directory: a socket's path has at most 107 bytes.
unix_dir=$(mktemp -d /tmp/deft-cli-XXXXXX)
trap 'kill "${servers[@]}" 2>/dev/null; rm -rf "$unix_dir"' EXIT
"$web_server" --unix="$unix_dir/web.sock" >"$TEST_TMPDIR/unix_server.out" 2>&1 &
servers+=($!)
"$web_server" --unix="@deft-cli-$$" >"$TEST_TMPDIR/abstract_server.out" 2>&1 &
servers+=($!)
for _ in $(seq 100); do
  grep -q "unix socket" "$TEST_TMPDIR/unix_server.out" && grep -q "unix socket" "$TEST_TMPDIR/abstract_server.out" && break
  sleep 0.05
done
check 0 "--unix-socket" "$getpage" -o - --unix-socket "$unix_dir/web.sock" "http://localhost/hello?name=unix"
[[ $(cat "$TEST_TMPDIR/out") == "hello, unix" ]] || { echo "FAIL: --unix-socket body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 0 "--abstract-unix-socket" "$getpage" -o - --abstract-unix-socket "deft-cli-$$" "http://x.test/hello?name=abstract"
[[ $(cat "$TEST_TMPDIR/out") == "hello, abstract" ]] || { echo "FAIL: abstract body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 7 "--unix-socket where nobody listens" "$getpage" -o - --unix-socket "$unix_dir/none.sock" "http://localhost/"
check 1 "a second server on a live socket" "$web_server" --unix="$unix_dir/web.sock"

# https: a throw-away CA and a certificate for 127.0.0.1 made now, the web server on TLS.
tls=$TEST_TMPDIR/tls
mkdir -p "$tls"
{
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca.key" \
    -out "$tls/ca.pem" -days 2 -subj /CN=getpage-test-CA &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/server.key" \
    -out "$tls/server.csr" -subj /CN=localhost &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$tls/ext" &&
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -out "$tls/server.pem" -days 2 -extfile "$tls/ext" &&
  cat "$tls/server.pem" "$tls/ca.pem" >"$tls/chain.pem"
} >"$tls/openssl.log" 2>&1 || { echo "FAIL: openssl could not make certificates"; cat "$tls/openssl.log"; exit 1; }
# The server sends its chain: its own certificate (an EC key) and the CA's (an RSA key).
"$web_server" --port=0 --cert="$tls/chain.pem" --key="$tls/server.key" >"$TEST_TMPDIR/tls_server.out" 2>&1 &
servers+=($!)
tls_port=$(listening_port "$TEST_TMPDIR/tls_server.out") || exit 1
grep -q "https://" "$TEST_TMPDIR/tls_server.out" || { echo "FAIL: web_server --cert did not serve https"; fail=1; }
secure="https://127.0.0.1:$tls_port"
check 0 "https with --cacert" "$getpage" -o - --cacert "$tls/ca.pem" "$secure/hello?name=tls"
[[ $(cat "$TEST_TMPDIR/out") == "hello, tls" ]] || { echo "FAIL: https body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
# -w's certificate report, byte for byte as curl's: both certificates of the chain; none for a
# connection reused, nor over http.
# An https page that redirects to http keeps the report of its handshake.
for args in "--cacert $tls/ca.pem $secure/hello" "-k $secure/hello $secure/hello?name=again" "$base/hello" \
  "-k -L $secure/redirect-to?url=$base/hello"; do
  read -ra words <<<"$args"  # split on spaces, never globbed
  curl -s -o /dev/null -o /dev/null -w '%{num_certs}|%{certs}|' "${words[@]}" >"$TEST_TMPDIR/certs.curl" 2>/dev/null
  "$getpage" -s -o /dev/null -o /dev/null -w '%{num_certs}|%{certs}|' "${words[@]}" >"$TEST_TMPDIR/certs.getpage" 2>/dev/null
  if cmp -s "$TEST_TMPDIR/certs.curl" "$TEST_TMPDIR/certs.getpage"; then
    echo "ok: -w %{certs} as curl's: $args ($(head -c 1 "$TEST_TMPDIR/certs.curl") certificates first)"
  else
    echo "FAIL: -w %{certs}: $args"; diff "$TEST_TMPDIR/certs.curl" "$TEST_TMPDIR/certs.getpage" | head -20; fail=1
  fi
  if [[ $args == --cacert* ]] && ! grep -q "^RSA Public Key:2048$" "$TEST_TMPDIR/certs.getpage"; then
    echo "FAIL: -w %{certs}: the CA's RSA key is not in the report"; fail=1
  fi
done
check 60 "https, certificate not trusted" "$getpage" -o - "$secure/hello"
grep -q "certificate" "$TEST_TMPDIR/err" || { echo "FAIL: no certificate reason: $(cat "$TEST_TMPDIR/err")"; fail=1; }
check 0 "https with -k" "$getpage" -o - -k "$secure/hello"
grep -q "warning: --insecure" "$TEST_TMPDIR/err" || { echo "FAIL: -k without its warning"; fail=1; }
mkdir -p "$tls/capath" && cp "$tls/ca.pem" "$tls/capath/" && openssl rehash "$tls/capath" 2>/dev/null
check 0 "https with --capath" "$getpage" -o - --capath "$tls/capath" "$secure/hello"
check 77 "--cacert that does not exist" "$getpage" -o - --cacert "$tls/nowhere.pem" "$secure/hello"
check 0 "https with --resolve" "$getpage" -o - --cacert "$tls/ca.pem" \
  --resolve "localhost:$tls_port:127.0.0.1" "https://localhost:$tls_port/hello?name=resolved"
[[ $(cat "$TEST_TMPDIR/out") == "hello, resolved" ]] || { echo "FAIL: --resolve body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 2 "--resolve to a name" "$getpage" -o - --resolve "localhost:$tls_port:example.test" "$secure/hello"
# A TLS server in a few lines of Python's ssl module, misbehaving as told: "cut" ends a body
# framed by the close without close_notify; "mtls" asks for a client certificate from CA and
# answers with its name.
cat >"$tls/tls_server.py" <<'PY'
import socket, ssl, sys
mode, cert, key = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if mode == "mtls":
    ctx.load_verify_locations(sys.argv[4])
    ctx.verify_mode = ssl.CERT_REQUIRED
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(4)
print(listener.getsockname()[1], flush=True)
while True:
    raw, _ = listener.accept()
    try:
        conn = ctx.wrap_socket(raw, server_side=True)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        if mode == "cut":
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it?")
            conn.shutdown(socket.SHUT_RDWR)  # the socket only: no TLS close_notify
            conn.close()
        else:
            who = conn.getpeercert()["subject"][0][0][1].encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(who), who))
            conn.unwrap().close()
    except Exception:
        raw.close()
PY
python3 "$tls/tls_server.py" cut "$tls/server.pem" "$tls/server.key" >"$TEST_TMPDIR/cut_tls.out" &
servers+=($!)
cut_port=$(listening_port "$TEST_TMPDIR/cut_tls.out") || exit 1
check 56 "https body cut without close_notify" "$getpage" -o - --cacert "$tls/ca.pem" "https://127.0.0.1:$cut_port/"
# Mutual TLS: a client certificate from our CA.
{
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/client.key" \
    -out "$tls/client.csr" -subj /CN=getpage-client &&
  printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >"$tls/client.ext" &&
  openssl x509 -req -in "$tls/client.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -out "$tls/client.pem" -days 2 -extfile "$tls/client.ext"
} >>"$tls/openssl.log" 2>&1 || { echo "FAIL: openssl could not make a client certificate"; exit 1; }
python3 "$tls/tls_server.py" mtls "$tls/server.pem" "$tls/server.key" "$tls/ca.pem" >"$TEST_TMPDIR/mtls.out" &
servers+=($!)
mtls_port=$(listening_port "$TEST_TMPDIR/mtls.out") || exit 1
check 0 "mutual TLS with --cert/--key" "$getpage" -o - --cacert "$tls/ca.pem" --cert "$tls/client.pem" \
  --key "$tls/client.key" "https://127.0.0.1:$mtls_port/"
[[ $(cat "$TEST_TMPDIR/out") == getpage-client ]] || { echo "FAIL: mTLS body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
# Without one, TLS 1.3 refuses after the client's side of the handshake: a receive error, as curl's.
check 56 "mutual TLS without a certificate" "$getpage" -o - --cacert "$tls/ca.pem" "https://127.0.0.1:$mtls_port/"
grep -q "certificate required" "$TEST_TMPDIR/err" || { echo "FAIL: no reason: $(cat "$TEST_TMPDIR/err")"; fail=1; }
check 58 "--cert that does not exist" "$getpage" -o - --cacert "$tls/ca.pem" --cert "$tls/nowhere.pem" \
  "https://127.0.0.1:$mtls_port/"
# https through the proxy's CONNECT tunnel, verified end to end; refusals.
check 0 "https through a CONNECT tunnel" "$getpage" -o - -x "$proxy" --cacert "$tls/ca.pem" "$secure/hello?name=tunnel"
[[ $(cat "$TEST_TMPDIR/out") == "hello, tunnel" ]] || { echo "FAIL: tunnel body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 0 "https_proxy from the environment" env https_proxy="http://$proxy" "$getpage" -o - --cacert "$tls/ca.pem" "$secure/hello?name=env"
[[ $(cat "$TEST_TMPDIR/out") == "hello, env" ]] || { echo "FAIL: https_proxy body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 60 "an untrusted certificate at the end of a tunnel" "$getpage" -o - -x "$proxy" "$secure/hello"
check 56 "a proxy that wants a password refuses CONNECT" "$getpage" -o - -x "127.0.0.1:$locked_port" --cacert "$tls/ca.pem" "$secure/hello"
grep -q "CONNECT tunnel failed, response 407" "$TEST_TMPDIR/err" || { echo "FAIL: 407 reason: $(cat "$TEST_TMPDIR/err")"; fail=1; }
check 0 "... and opens it for -U" "$getpage" -o - -x "127.0.0.1:$locked_port" -U deft:s3cret --cacert "$tls/ca.pem" "$secure/hello?name=auth"
[[ $(cat "$TEST_TMPDIR/out") == "hello, auth" ]] || { echo "FAIL: -U body: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 0 "https POST" "$getpage" -o - --cacert "$tls/ca.pem" -d 'sealed' "$secure/echo"
[[ $(cat "$TEST_TMPDIR/out") == sealed ]] || { echo "FAIL: https -d echo: $(cat "$TEST_TMPDIR/out")"; fail=1; }
check 3 "malformed URL" "$getpage" -o - "http://"
# A server that misbehaves on purpose, by path.
python3 - >"$TEST_TMPDIR/bad_server.out" <<'PY' &
import socket, sys, threading
replies = {
    b"/malformed": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"/cut": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
    b"/chunk-cut": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    b"/empty": b"",
    b"/loop": b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
}
def serve(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    path = data.split(b" ")[1]
    conn.sendall(replies.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
    conn.close()
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
while True:
    threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
PY
servers+=($!)
bad_port=$(listening_port "$TEST_TMPDIR/bad_server.out") || exit 1
check 8 "malformed response" "$getpage" -o - "http://127.0.0.1:$bad_port/malformed"
# Exit codes and messages as curl's (7.88) for the same server's misbehaviour.
check 18 "response cut short" "$getpage" -o - "http://127.0.0.1:$bad_port/cut"
grep -q "^getpage: (18) transfer closed with outstanding read data remaining" "$TEST_TMPDIR/err" ||
  { echo "FAIL: (18) message: $(cat "$TEST_TMPDIR/err")"; fail=1; }
check 18 "chunked body cut short" "$getpage" -o - "http://127.0.0.1:$bad_port/chunk-cut"
check 52 "empty reply" "$getpage" -o - "http://127.0.0.1:$bad_port/empty"
grep -q "^getpage: (52) Empty reply from server" "$TEST_TMPDIR/err" || { echo "FAIL: (52) message"; fail=1; }
for url in "http://127.0.0.1:$bad_port/cut" "http://127.0.0.1:$bad_port/chunk-cut" "http://127.0.0.1:$bad_port/empty"; do
  curl -s -o /dev/null "$url"; expected=$?
  "$getpage" -s -o /dev/null "$url"; got=$?
  [[ $expected == "$got" ]] || { echo "FAIL: $url: curl $expected, getpage $got"; fail=1; }
done
check 47 "redirect loop" "$getpage" -o - -L --max-redirs 3 "http://127.0.0.1:$bad_port/loop"
check 0 "without -L the 302 itself" "$getpage" -o - "http://127.0.0.1:$bad_port/loop"
exit $fail
