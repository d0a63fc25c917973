/* The MySQL benchmark's threaded peer: MariaDB Connector/C's blocking API, one connection per
 * thread, the threads taking primary-key selects from a shared counter (or each running one
 * SELECT SLEEP). What a C server does without an event loop.
 *
 *   mysql_threads PORT select QUERIES THREADS
 *   mysql_threads PORT sleep SECONDS THREADS
 *
 * Prints the same name=value pairs as bench/mysql_load. */

#include <mariadb/mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static int port;
static int sleep_mode;
static double sleep_seconds;
static int queries;
static atomic_int next_query;
static atomic_int rows;
static pthread_barrier_t ready;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void query(MYSQL* m, const char* sql) {
  if (mysql_query(m, sql) != 0) {
    fprintf(stderr, "mysql_threads: %s\n", mysql_error(m));
    exit(1);
  }
  MYSQL_RES* r = mysql_store_result(m);
  if (r != NULL) {
    atomic_fetch_add(&rows, (int)mysql_num_rows(r));
    mysql_free_result(r);
  }
}

static void* worker(void* unused) {
  (void)unused;
  MYSQL* m = mysql_init(NULL);
  unsigned protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
  if (mysql_real_connect(m, "127.0.0.1", "root", "", NULL, port, NULL, 0) == NULL) {
    fprintf(stderr, "mysql_threads: %s\n", mysql_error(m));
    exit(1);
  }
  pthread_barrier_wait(&ready);
  pthread_barrier_wait(&ready);
  char sql[128];
  if (sleep_mode) {
    snprintf(sql, sizeof sql, "SELECT SLEEP(%g)", sleep_seconds);
    query(m, sql);
  } else {
    for (;;) {
      int i = atomic_fetch_add(&next_query, 1);
      if (i >= queries) break;
      snprintf(sql, sizeof sql, "SELECT id, name, email FROM bench.users WHERE id = %d",
               1 + (i * 7919) % 10000);
      query(m, sql);
    }
  }
  mysql_close(m);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: mysql_threads PORT select|sleep QUERIES|SECONDS THREADS\n");
    return 2;
  }
  port = atoi(argv[1]);
  sleep_mode = strcmp(argv[2], "sleep") == 0;
  if (sleep_mode) sleep_seconds = atof(argv[3]); else queries = atoi(argv[3]);
  int threads = atoi(argv[4]);
  mysql_library_init(0, NULL, NULL);
  pthread_barrier_init(&ready, NULL, threads + 1);
  pthread_t* ids = calloc(threads, sizeof *ids);
  for (int i = 0; i < threads; ++i) pthread_create(&ids[i], NULL, worker, NULL);
  pthread_barrier_wait(&ready);  /* all connected */
  double cpu0 = cpu(), t0 = now();
  pthread_barrier_wait(&ready);
  for (int i = 0; i < threads; ++i) pthread_join(ids[i], NULL);
  double seconds = now() - t0, used = cpu() - cpu0;
  int done = sleep_mode ? threads : queries;
  if (!sleep_mode && rows != queries) {
    fprintf(stderr, "mysql_threads: a select found no row\n");
    return 1;
  }
  printf("queries=%d seconds=%.3f rate=%.0f cpu=%.3f cpu_per_1k=%.4f\n", done, seconds,
         done / seconds, used, used / done * 1000);
  return 0;
}
