// The pages the getpage demo serves itself when given no URL: some slow, one redirecting, one
// chunked, so the concurrent fetch has something to show.

#ifndef DEFT_EXAMPLES_GETPAGE_DEMO_SITE_H_
#define DEFT_EXAMPLES_GETPAGE_DEMO_SITE_H_

#include <memory>
#include <string>
#include <vector>

#include "http_server/site.h"

namespace getpage {

// A Site with the demo's pages.
std::shared_ptr<deft::http::Site> makeDemoSite();

// The paths worth fetching from it, in the order the table lists them.
std::vector<std::string> demoPaths();

}  // namespace getpage

#endif  // DEFT_EXAMPLES_GETPAGE_DEMO_SITE_H_
