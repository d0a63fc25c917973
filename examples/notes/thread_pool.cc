// The notes' thread-pool programs (seed 001: ThreadPoolExecutor(7), pool.submit(task, url),
// future.add_done_callback(done)), in deft: the reactor's thread pool runs the blocking work,
// and the Deferred it gives back is the future — its callbacks run on the reactor thread, so
// `done` needs no lock.
//
//   ./bazelw run //examples/notes:thread_pool                      # fetches its own pages
//   ./bazelw run //examples/notes:thread_pool -- https://example.org/ http://127.0.0.1:8080/
//
// The blocking work here is libcurl's easy API (what requests.get is in C++). deft's own client
// would need no thread at all (examples/notes:twisted_getpage); threads are for code that blocks
// and cannot be changed. For CPU-bound work a thread does not help (one core at a time does the
// Python; in C++ the threads share the cores with the reactor): examples/prime_pool.cc runs the
// same count on the reactor thread, on threads, and on a ProcessPool (ProcessPoolExecutor).

#include <curl/curl.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "deferred/deferred_list.h"
#include "examples/notes/notes_site.h"
#include "reactor/reactor.h"

namespace {

struct Page {
  std::string url;
  long status = 0;
  std::size_t bytes = 0;
  std::string thread;  // which pool thread fetched it
};

std::size_t count(char*, std::size_t size, std::size_t n, void* total) {
  *static_cast<std::size_t*>(total) += size * n;
  return size * n;
}

// The notes' task(url): a blocking fetch, run on a pool thread. Throws on a transport error.
Page task(const std::string& url) {
  Page page;
  page.url = url;
  std::ostringstream id;
  id << std::this_thread::get_id();
  page.thread = id.str();
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, count);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &page.bytes);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode result = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &page.status);
  curl_easy_cleanup(curl);
  if (result != CURLE_OK) throw std::runtime_error(curl_easy_strerror(result));
  return page;
}

}  // namespace

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::vector<std::string> urls(argv + 1, argv + argc);
  deft::Reactor& reactor = deft::reactor();
  reactor.suggestThreadPoolSize(7);  // ThreadPoolExecutor(7)
  std::shared_ptr<deft::ListeningPort> site;
  if (urls.empty()) {
    site = notes::serveNotesSite(reactor);
    for (int i = 1; i <= 7; ++i) urls.push_back(absl::StrCat(notes::baseUrl(*site), "/page/", i));
  }
  int failures = 0;
  reactor.callWhenRunning([&] {
    std::vector<deft::Deferred<void>> futures;
    for (const std::string& url : urls) {
      // pool.submit(task, url) ... v.add_done_callback(done)
      futures.push_back(reactor.deferToThread([url] { return task(url); })
                            .addCallbacks(
                                [](Page page) {  // done(future): on the reactor thread
                                  std::printf("done: %s status=%ld bytes=%zu (fetched on thread %s)\n",
                                              page.url.c_str(), page.status, page.bytes,
                                              page.thread.c_str());
                                },
                                [&failures, url](deft::Failure f) {
                                  ++failures;
                                  std::printf("failed: %s: %s\n", url.c_str(),
                                              f.getErrorMessage().c_str());
                                }));
    }
    // pool.shutdown(wait=True)
    deft::gatherResults(std::move(futures)).addBoth([&reactor](deft::Outcome<void>) {
      std::printf("all done\n");
      reactor.stop();
    });
  });
  reactor.run();
  curl_global_cleanup();
  return failures == 0 ? 0 : 1;
}
