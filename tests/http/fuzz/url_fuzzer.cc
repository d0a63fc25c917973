// libFuzzer target: URL parsing and resolution. A parsed URL must print and re-parse to itself,
// and neither its target nor its Host header may carry a byte that could split a request line.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/url.h"

namespace {

void checkSafe(const deft::http::Url& url) {
  for (char c : url.target() + url.hostHeader()) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) std::abort();
  }
  absl::StatusOr<deft::http::Url> again = deft::http::Url::parse(url.toString());
  if (!again.ok() || again->toString() != url.toString()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<deft::http::Url> url = deft::http::Url::parse(input); url.ok()) {
    checkSafe(*url);
  }
  static const deft::http::Url base = *deft::http::Url::parse("http://a.example:8080/b/c/d?q");
  if (absl::StatusOr<deft::http::Url> resolved = base.resolve(input); resolved.ok()) {
    checkSafe(*resolved);
  }
  return 0;
}
