#include "http_server/router.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "http/headers.h"
#include "http/url.h"
#include "strings/str_cat.h"

namespace deft::http {
namespace {

// The methods HTTP defines (RFC 9110 §9, RFC 5789): known to every server, so a resource that
// lacks one answers 405, not 501.
constexpr std::string_view kHttpMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                             "CONNECT", "OPTIONS", "TRACE", "PATCH"};

// "/users/42" -> {"users", "42"}; "/" -> {""}.
std::vector<std::string_view> segmentsOf(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);  // the leading '/'
  while (true) {
    const std::size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return segments;
    path.remove_prefix(slash + 1);
  }
}

bool isCapture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// An Allow header's value for these methods: with HEAD wherever GET is (the GET handler answers
// it) and OPTIONS always (the server answers it).
std::string allowHeader(std::vector<absl::string_view> methods) {
  auto has = [&](absl::string_view method) {
    return std::find(methods.begin(), methods.end(), method) != methods.end();
  };
  if (has("GET") && !has("HEAD")) methods.push_back("HEAD");
  if (!has("OPTIONS")) methods.push_back("OPTIONS");
  std::sort(methods.begin(), methods.end());
  return absl::StrJoin(methods, ", ");
}

}  // namespace

void Router::add(std::string method, std::string path, Kind kind, Handler handler,
                 RouteOptions options) {
  if (!isToken(method)) {
    throw std::invalid_argument(StrCat("Router: method \"", method, "\" is not a token"));
  }
  if (!path.starts_with("/")) {
    throw std::invalid_argument(StrCat("Router: path \"", path, "\" does not start with '/'"));
  }
  const bool hasBraces = path.find_first_of("{}") != std::string::npos;
  Resource* resource = nullptr;
  if (kind == Kind::kPrefix) {
    if (hasBraces) {
      throw std::invalid_argument(StrCat("Router: prefix \"", path, "\" cannot capture segments"));
    }
    auto it = std::find_if(prefixes_.begin(), prefixes_.end(),
                           [&](const auto& entry) { return entry.first == path; });
    resource = it != prefixes_.end() ? &it->second : &prefixes_.emplace_back(path, Resource()).second;
  } else if (!hasBraces) {
    resource = &exact_[path];
  } else {
    Pattern pattern;
    for (std::string_view segment : segmentsOf(path)) {
      const bool capture = isCapture(segment);
      if (!capture && segment.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument(StrCat("Router: in \"", path, "\", \"", segment,
                                           "\" is not a whole-segment capture like {name}"));
      }
      if (!capture) ++pattern.literals;
      pattern.segments.emplace_back(segment);
    }
    auto it = std::find_if(patterns_.begin(), patterns_.end(),
                           [&](const Pattern& p) { return p.segments == pattern.segments; });
    resource = it != patterns_.end() ? &it->resource : &patterns_.emplace_back(std::move(pattern)).resource;
  }
  methods_.insert(method);
  resource->byMethod[std::move(method)] = Route{std::move(handler), options};
}

Router::Resource* Router::resourceFor(std::string_view path, PathParams& params) {
  if (auto it = exact_.find(absl::string_view(path.data(), path.size())); it != exact_.end()) {
    return &it->second;
  }
  if (!patterns_.empty() && path.starts_with("/")) {
    const std::vector<std::string_view> segments = segmentsOf(path);
    Pattern* best = nullptr;
    for (Pattern& pattern : patterns_) {
      if (pattern.segments.size() != segments.size()) continue;
      if (best != nullptr && pattern.literals <= best->literals) continue;
      bool matches = true;
      for (std::size_t i = 0; i < segments.size() && matches; ++i) {
        const std::string& want = pattern.segments[i];
        matches = isCapture(want) ? !segments[i].empty() : segments[i] == want;
      }
      if (matches) best = &pattern;
    }
    if (best != nullptr) {
      for (std::size_t i = 0; i < segments.size(); ++i) {
        const std::string& want = best->segments[i];
        if (!isCapture(want)) continue;
        std::optional<std::string> value = percentDecode(segments[i]);
        if (!value) return nullptr;  // a malformed escape names no resource
        params[want.substr(1, want.size() - 2)] = std::move(*value);
      }
      return &best->resource;
    }
  }
  Resource* best = nullptr;
  std::size_t bestLength = 0;
  for (auto& [prefix, resource] : prefixes_) {
    if (path.starts_with(prefix) && (best == nullptr || prefix.size() > bestLength)) {
      best = &resource;
      bestLength = prefix.size();
    }
  }
  return best;
}

bool Router::implements(std::string_view method) const {
  return std::find(std::begin(kHttpMethods), std::end(kHttpMethods), method) !=
             std::end(kHttpMethods) ||
         methods_.contains(absl::string_view(method.data(), method.size()));
}

Router::Match Router::find(std::string_view method, std::string_view path) {
  Match match;
  if (!implements(method)) {
    match.status = 501;
    return match;
  }
  if (path == "*" && method == "OPTIONS") {  // the server as a whole (RFC 9110 §9.3.7)
    match.status = 204;
    match.allow = allowHeader({methods_.begin(), methods_.end()});
    return match;
  }
  Resource* resource = resourceFor(path, match.pathParams);
  if (resource == nullptr) {
    match.status = 404;
    match.pathParams.clear();
    return match;
  }
  auto& byMethod = resource->byMethod;
  auto it = byMethod.find(absl::string_view(method.data(), method.size()));
  if (it == byMethod.end() && method == "HEAD") it = byMethod.find("GET");
  if (it != byMethod.end()) {
    match.route = &it->second;
    return match;
  }
  match.status = method == "OPTIONS" ? 204 : 405;
  std::vector<absl::string_view> methods;
  for (const auto& [method, route] : byMethod) methods.push_back(method);
  match.allow = allowHeader(std::move(methods));
  return match;
}

}  // namespace deft::http
