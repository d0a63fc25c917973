# Helpers the benchmark scripts share. Source it from the repository root: `. bench/lib.sh`.

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# User plus system CPU of process $1 so far, in clock ticks (divide by $ticks for seconds).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)

# median DIGITS VALUE...: the median, printed with DIGITS decimals.
median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[2:]]; print(f"{statistics.median(v):.{sys.argv[1]}f}")' "$@"; }

# field NAME LINE: the number after "NAME=" in LINE (the programs print name=value pairs).
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# wait_for_http URL: until URL answers 2xx (5 s at most); fails otherwise.
wait_for_http() {
  for _ in $(seq 50); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answered at $1" >&2
  return 1
}

# start_nginx DIR PORT SENDFILE [CERT KEY]: serves the files in DIR on 127.0.0.1:PORT in the
# background, as Debian's nginx with a master and one worker, access log off, keepalive_requests
# raised so that no client re-opens connections during a run, and `sendfile` SENDFILE (on|off:
# off is nginx's faster choice for 1 KiB files here, on for 1 MiB ones). With CERT and KEY, over
# TLS instead (nginx's defaults: TLS 1.2 and 1.3, session tickets on). Sets nginx_master (kill it
# to stop both).
start_nginx() {
  local listen="listen 127.0.0.1:$2;"
  if (($# == 5)); then listen="listen 127.0.0.1:$2 ssl; ssl_certificate $4; ssl_certificate_key $5;"; fi
  cat >"$1/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $1/error.log;
pid $1/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 10000000;
  sendfile $3;
  client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
  uwsgi_temp_path $1; scgi_temp_path $1;
  server { $listen root $1; }
}
CONF
  nginx -p "$1" -c "$1/nginx.conf" &
  nginx_master=$!
}

# start_h2o DIR PORT: serves the files in DIR on 127.0.0.1:PORT in the background, as Debian's h2o
# with one thread (its whole server: one event loop, like nginx's one worker) and no access log.
# Sets h2o_pid (kill it to stop).
start_h2o() {
  cat >"$1/h2o.conf" <<CONF
listen:
  host: 127.0.0.1
  port: $2
num-threads: 1
error-log: $1/h2o-error.log
hosts:
  default:
    paths:
      /:
        file.dir: $1
CONF
  h2o -c "$1/h2o.conf" >/dev/null 2>&1 &
  h2o_pid=$!
}

# make_test_certificates DIR: a throw-away CA (DIR/ca.pem) and two server certificates for
# 127.0.0.1 it signs: DIR/ecdsa.{pem,key} (P-256) and DIR/rsa.{pem,key} (RSA-2048).
make_test_certificates() {
  local d=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
    -out "$d/ca.pem" -days 2 -subj /CN=deft-bench-CA 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$d/ext"
  local kind
  for kind in ecdsa rsa; do
    local key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    [[ $kind == rsa ]] && key=(-newkey rsa:2048)
    openssl req "${key[@]}" -nodes -keyout "$d/$kind.key" -out "$d/$kind.csr" \
      -subj /CN=127.0.0.1 2>/dev/null
    openssl x509 -req -in "$d/$kind.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -out "$d/$kind.pem" -days 2 -extfile "$d/ext" 2>/dev/null
  done
}
