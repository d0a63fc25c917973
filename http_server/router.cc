#include "http_server/router.h"

namespace deft::http {

Router::Route* Router::find(std::string_view path) {
  if (auto it = exact_.find(absl::string_view(path.data(), path.size())); it != exact_.end()) return &it->second;
  Route* best = nullptr;
  std::size_t bestLength = 0;
  for (auto& [prefix, route] : prefixes_) {
    if (path.starts_with(prefix) && (best == nullptr || prefix.size() > bestLength)) {
      best = &route;
      bestLength = prefix.size();
    }
  }
  return best;
}

}  // namespace deft::http
