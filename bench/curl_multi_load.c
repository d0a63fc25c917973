/* libcurl's multi interface doing what bench/http_client_load does: one URL `requests` times,
 * `in_flight` transfers at once, bodies counted, connections reused (each easy handle keeps its
 * connection; the multi handle shares its connection cache). The peer in bench/http_client.sh.
 *
 *   curl_multi_load URL REQUESTS IN_FLIGHT [CA_FILE [close]]
 *
 * https: CA_FILE is the CA to trust ("-" for the system's); "close" sends Connection: close, so
 * every transfer pays a new connection and handshake (libcurl resumes TLS sessions as it does by
 * default).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static long bytes;

static size_t onData(char* data, size_t size, size_t n, void* user) {
  (void)data;
  (void)user;
  bytes += (long)(size * n);
  return size * n;
}

static double cpuSeconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 6) {
    fprintf(stderr, "usage: %s URL REQUESTS IN_FLIGHT [CA_FILE [close]]\n", argv[0]);
    return 2;
  }
  const char* caFile = argc > 4 && strcmp(argv[4], "-") != 0 ? argv[4] : NULL;
  struct curl_slist* headers = NULL;
  if (argc > 5 && strcmp(argv[5], "close") == 0) {
    headers = curl_slist_append(headers, "Connection: close");
  }
  const char* url = argv[1];
  long remaining = atol(argv[2]);
  const long inFlight = atol(argv[3]);
  long completed = 0, failed = 0;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, inFlight);
  const double cpuBefore = cpuSeconds();
  const double start = now();
  for (long i = 0; i < inFlight && remaining > 0; ++i, --remaining) {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, onData);
    if (caFile != NULL) curl_easy_setopt(easy, CURLOPT_CAINFO, caFile);
    if (headers != NULL) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_multi_add_handle(multi, easy);
  }
  int running = 1;
  while (running) {
    curl_multi_perform(multi, &running);
    CURLMsg* msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      ++completed;
      if (msg->data.result != CURLE_OK) ++failed;
      curl_multi_remove_handle(multi, easy);
      if (remaining > 0) {  /* reuse the handle (and its connection) for the next transfer */
        --remaining;
        curl_multi_add_handle(multi, easy);
        running = 1;
      } else {
        curl_easy_cleanup(easy);
      }
    }
    if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
  }
  const double seconds = now() - start;
  const double cpu = cpuSeconds() - cpuBefore;
  printf("requests=%ld failed=%ld bytes=%ld seconds=%.3f rate=%.0f cpu_per_1k=%.4f\n", completed,
         failed, bytes, seconds, completed / seconds, cpu / completed * 1000);
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
  curl_global_cleanup();
  return failed == 0 ? 0 : 1;
}
