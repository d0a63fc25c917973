#!/usr/bin/env bash
# deft's MySQL pool against MariaDB Connector/C's blocking API on threads and against aiomysql,
# same machine, same server, same run; medians of N runs, the clients taking turns in each run.
#
#   bench/mysql.sh [--runs N] [--queries Q]
#
# 1. Q primary-key selects (default 20,000) with 32 in flight, on a table of 10,000 rows:
#    - deft: bench/mysql_load, a ConnectionPool of 32 on the one reactor thread;
#    - threads: bench/mysql_threads.c, 32 threads each with a blocking connection;
#    - aiomysql: bench/mysql_aiomysql.py, a pool of 32 and 32 asyncio tasks.
#    Queries/s, and the client's CPU (user + system) per 1,000 queries. On 2 cores the server's
#    own CPU bounds the rate; CPU per query is the figure that separates clients.
# 2. 32 x SELECT SLEEP(1) at once, each client: wall time (about 1 s when they overlap) and CPU.
#
# A MariaDB server is started here in a temporary directory on a free loopback port (Debian's
# mariadb-server and python3-aiomysql, installed by ./bazelw; aiomysql runs on Debian's own
# /usr/bin/python3, whatever python3 comes first on PATH), and stopped at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=5
queries=20000
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --queries) queries="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--queries Q]" >&2; exit 2 ;;
  esac
done

./bazelw build --config=opt //bench:mysql_load //bench:mysql_threads >&2
bin=bazel-bin
. bench/lib.sh
dir=$(mktemp -d /tmp/deft-bench-mysql-XXXXXX)
server=
trap '[[ -n $server ]] && { kill -9 "$server"; wait "$server"; } 2>/dev/null; rm -rf "$dir"' EXIT

user=()
[[ $EUID -eq 0 ]] && user=(--user=root)
mariadb-install-db --no-defaults "${user[@]}" --datadir="$dir/data" \
  --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve --force \
  >"$dir/install.log" 2>&1
port=$(free_port)
/usr/sbin/mariadbd --no-defaults "${user[@]}" --datadir="$dir/data" --socket="$dir/sock" \
  --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin \
  --innodb-buffer-pool-size=128M --max-connections=500 --log-error="$dir/error.log" &
server=$!
for _ in $(seq 300); do [[ -S $dir/sock ]] && break; sleep 0.1; done
sql() { mariadb --no-defaults -uroot -S "$dir/sock" -e "$1"; }
sql "CREATE DATABASE bench; USE bench; CREATE TABLE bench.users (id INT PRIMARY KEY, name VARCHAR(32),
     email VARCHAR(64)) ENGINE=InnoDB;
     INSERT INTO bench.users SELECT seq, CONCAT('user', seq), CONCAT('user', seq, '@example.test')
     FROM seq_1_to_10000;"
echo "MariaDB $(sql 'SELECT VERSION()' | tail -1) on 127.0.0.1:$port; $queries selects, 32 in flight, $runs runs" >&2

impls=(deft threads aiomysql)
declare -A rate cpu
run_one() {  # IMPL MODE AMOUNT: prints the client's name=value line
  case "$1" in
    deft) "$bin/bench/mysql_load" --port="$port" --mode="$2" --queries="$3" --sleep="$3" --inflight=32 ;;
    threads) "$bin/bench/mysql_threads" "$port" "$2" "$3" 32 ;;
    aiomysql) /usr/bin/python3 bench/mysql_aiomysql.py "$port" "$2" "$3" 32 ;;
  esac
}
for ((r = 1; r <= runs; r++)); do
  for impl in "${impls[@]}"; do
    line=$(run_one "$impl" select "$queries")
    echo "run $r $impl: $line" >&2
    rate[$impl]+=" $(field rate "$line")"
    cpu[$impl]+=" $(field cpu_per_1k "$line")"
  done
done

echo
echo "primary-key selects, 32 in flight (median of $runs runs)"
printf '%-10s %12s %18s\n' client "queries/s" "CPU s per 1k"
for impl in "${impls[@]}"; do
  # shellcheck disable=SC2086
  printf '%-10s %12s %18s\n' "$impl" "$(median 0 ${rate[$impl]})" "$(median 4 ${cpu[$impl]})"
done

echo
echo "32 x SELECT SLEEP(1) at once"
printf '%-10s %12s %12s\n' client "wall s" "CPU s"
for impl in "${impls[@]}"; do
  line=$(run_one "$impl" sleep 1)
  printf '%-10s %12s %12s\n' "$impl" "$(field seconds "$line")" "$(field cpu "$line")"
done
