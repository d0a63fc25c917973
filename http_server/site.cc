#include "http_server/site.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "http_server/channel.h"

namespace deft::http {

Site::Site(Reactor& reactor, Router router, ServerOptions options)
    : router_(std::move(router)), options_(std::move(options)), reactor_(reactor) {
  reporter_ = [](const Request& request, const Failure& failure) {
    std::fprintf(stderr, "deft http server: %s %s failed: %s\n", request.method.c_str(),
                 request.target.c_str(), failure.describe().c_str());
  };
}

std::unique_ptr<Protocol> Site::buildProtocol(const Address&) {
  return std::make_unique<HttpChannel>(*this);
}

const std::string& Site::dateHeader() {
  const absl::Time now = absl::Now();
  const std::int64_t second = absl::ToUnixSeconds(now);
  if (second != dateSecond_) {
    dateSecond_ = second;
    date_ = absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", now, absl::UTCTimeZone());
  }
  return date_;
}

}  // namespace deft::http
