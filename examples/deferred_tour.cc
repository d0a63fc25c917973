// A tour of deferred/ without any I/O: the README's first example, runnable.
//
//   ./bazelw run //examples:deferred_tour
//
// Three "downloads" are simulated by Deferreds that this program fires itself, out of order, as
// a reactor would when the bytes arrive. Everything else is what real code looks like: a chain
// with an errback, a coroutine that awaits, and a DeferredList gathering the lot.

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "deferred/deferred.h"
#include "deferred/deferred_list.h"

using deft::Deferred;
using deft::Failure;
using deft::Outcome;

namespace {

// What a callback chain looks like: the body's length, or -1 when the fetch failed.
Deferred<long> pageLength(Deferred<std::string> page) {
  return std::move(page)
      .addCallback([](std::string body) { return static_cast<long>(body.size()); })
      .addErrback([](Failure f) {
        std::printf("  errback: %s\n", f.getErrorMessage().c_str());
        return -1L;
      });
}

// The same as a coroutine (Twisted's inlineCallbacks): failures are exceptions at co_await.
Deferred<std::string> firstLine(Deferred<std::string> page) {
  std::string body = co_await std::move(page);
  co_return body.substr(0, body.find('\n'));
}

}  // namespace

int main() {
  Deferred<std::string> index, about, missing, readme;

  std::vector<Deferred<long>> lengths;
  lengths.push_back(pageLength(index));
  lengths.push_back(pageLength(about));
  lengths.push_back(pageLength(missing));

  // A Deferred has one chain: a second consumer of the same page needs its own Deferred.
  firstLine(readme).addCallback([](std::string line) {
    std::printf("  coroutine: first line of /readme is \"%s\"\n", line.c_str());
  });

  deft::DeferredList(std::move(lengths), {.consumeErrors = true})
      .addCallback([](std::vector<Outcome<long>> results) {
        std::printf("DeferredList fired with %zu results:\n", results.size());
        const char* names[] = {"/index", "/about", "/missing"};
        for (std::size_t i = 0; i < results.size(); ++i) {
          std::printf("  %-9s %ld bytes\n", names[i], results[i].value());
        }
      });

  std::printf("firing /readme, /about, then /missing (with an error), then /index\n");
  readme.callback("deft\nTwisted's model in C++20.\n");
  about.callback("About deft\nTwisted's model in C++20.\n");
  missing.errback(std::runtime_error("404 Not Found"));
  index.callback("<html>deft</html>\n");
  return 0;
}
