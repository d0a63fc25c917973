// The README's Scope fragment, verbatim, inside the protocol it belongs to.

#include <string>
#include <string_view>

#include "protocol/line_receiver.h"
#include "web_client/get_page.h"

namespace readme {
using namespace deft;
using web::getPage;

class Fetcher : public LineReceiver {
  void lineReceived(std::string_view url) override {
    scope().track(getPage(std::string(url))).addCallback([this](std::string body) { sendLine(body); });
  }
};

}  // namespace readme
