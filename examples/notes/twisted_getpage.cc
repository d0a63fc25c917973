// The notes' Twisted program (seed 001), line for line: an inlineCallbacks task per URL that
// fetches a page with getPage and hands it to one_done, a DeferredList of the tasks, and
// all_done that prints "done" and stops the reactor. The callback-chain version is the getPage
// demo (examples/getpage); this one is the coroutine, as the notes wrote it.
//
//   ./bazelw run //examples/notes:twisted_getpage                   # its own pages, 4 times
//   ./bazelw run //examples/notes:twisted_getpage -- https://www.cnblogs.com/

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "deferred/deferred_list.h"
#include "examples/notes/notes_site.h"
#include "reactor/reactor.h"
#include "web_client/get_page.h"

namespace {

using deft::Deferred;

void oneDone(const std::string& url, const std::string& page) {
  std::printf("%s: %zu bytes: %s\n", url.c_str(), page.size(),
              page.substr(0, page.find('\n')).c_str());
}

// @defer.inlineCallbacks def task(url): d = getPage(url); d.addCallback(one_done); yield d
Deferred<void> task(std::string url) {
  std::string page = co_await deft::web::getPage(url);
  oneDone(url, page);
}

}  // namespace

int main(int argc, char** argv) {
  deft::Reactor& reactor = deft::reactor();
  std::string url = argc > 1 ? argv[1] : "";
  std::shared_ptr<deft::ListeningPort> site;
  if (url.empty()) {
    site = notes::serveNotesSite(reactor);
    url = notes::baseUrl(*site) + "/page/1";
  }
  int failed = 0;
  reactor.callWhenRunning([&] {
    std::vector<Deferred<void>> deferList;
    for (int i = 0; i < 4; ++i) deferList.push_back(task(url));
    // defer.DeferredList(defer_list).addBoth(all_done)
    deft::DeferredList(std::move(deferList), {.consumeErrors = true})
        .addBoth([&](deft::Outcome<std::vector<deft::Outcome<void>>> results) {
          for (const auto& r : results.value()) {
            if (!r.ok()) {
              ++failed;
              std::printf("failed: %s\n", r.failure().getErrorMessage().c_str());
            }
          }
          std::printf("done\n");
          reactor.stop();
        });
  });
  reactor.run();
  return failed == 0 ? 0 : 1;
}
