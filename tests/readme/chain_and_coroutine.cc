// The README's "A Deferred chain" and "A coroutine" blocks, verbatim, compiled.

#include "deferred/deferred.h"
#include "web_client/get_page.h"
using namespace deft;
using web::getPage;

Deferred<std::size_t> pageLength(std::string url) {
  return getPage(url)                                   // Deferred<std::string>
      .addCallback([](std::string body) { return body.size(); })
      .addErrback([](Failure f) -> std::size_t {
        f.trap<TimeoutError>();   // anything else continues down the errback path
        return 0;                 // a timeout recovers as an empty page
      });
}

Deferred<std::size_t> totalLength(std::vector<std::string> urls) {
  std::size_t total = 0;
  for (const auto& url : urls) {
    std::string body = co_await getPage(url);   // a failure is thrown right here
    total += body.size();
  }
  co_return total;
}
