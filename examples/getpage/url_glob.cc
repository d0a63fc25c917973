#include "examples/getpage/url_glob.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace getpage {
namespace {

// A URL as text between patterns, each pattern a list of values.
struct Piece {
  std::string text;                 // literal, when `values` is empty
  std::vector<std::string> values;  // a pattern's values
  bool pattern = false;
};

absl::Status bad(std::string_view why, std::size_t at) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(why), " in URL position ", at + 1));
}

// "[1-10:2]", "[a-z]", "[001-100]": the range's values.
absl::StatusOr<std::vector<std::string>> range(std::string_view spec, std::size_t at,
                                               std::size_t limit) {
  std::uint64_t step = 1;
  if (const std::size_t colon = spec.find(':'); colon != std::string_view::npos) {
    if (!absl::SimpleAtoi(std::string(spec.substr(colon + 1)), &step) || step == 0) {
      return bad("bad range step", at);
    }
    spec = spec.substr(0, colon);
  }
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == spec.size()) {
    return bad("bad range", at);
  }
  const std::string from(spec.substr(0, dash)), to(spec.substr(dash + 1));
  std::vector<std::string> values;
  if (from.size() == 1 && to.size() == 1 && std::isalpha(static_cast<unsigned char>(from[0])) &&
      std::isalpha(static_cast<unsigned char>(to[0]))) {
    // curl's rule for the step: within the range (1 for a range of one).
    const std::uint64_t span = static_cast<std::uint64_t>(to[0] - from[0]);
    if (to[0] < from[0] || std::isupper(from[0]) != std::isupper(to[0]) ||
        (span == 0 ? step != 1 : step > span)) {
      return bad("bad range", at);
    }
    for (int c = from[0]; c <= to[0]; c += static_cast<int>(step)) values.push_back(std::string(1, c));
    return values;
  }
  std::uint64_t first = 0, last = 0;
  if (!absl::SimpleAtoi(from, &first) || !absl::SimpleAtoi(to, &last) || last < first ||
      from[0] == '+' || to[0] == '+' || (first == last ? step != 1 : step > last - first)) {
    return bad("bad range", at);
  }
  // Zero-padded as the first number is written: [001-100] gives 001 ... 100.
  const int width = from.size() > 1 && from[0] == '0' ? static_cast<int>(from.size()) : 0;
  if ((last - first) / step >= limit) return absl::InvalidArgumentError("too many URLs in the glob");
  for (std::uint64_t n = first;; n += step) {
    values.push_back(absl::StrFormat("%0*d", width, n));
    if (last - n < step) break;  // the next would pass `last` (or wrap)
  }
  return values;
}

// Whether "[...]" at `open` is an IPv6 literal rather than a range.
bool isIpv6Literal(std::string_view url, std::size_t open, std::size_t close) {
  const std::string_view inside = url.substr(open + 1, close - open - 1);
  if (inside.find(':') == std::string_view::npos) return false;
  for (char c : inside) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.' && c != '%') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<GlobbedUrl>> expandGlob(std::string_view url, std::size_t limit) {
  std::vector<Piece> pieces(1);
  for (std::size_t i = 0; i < url.size(); ++i) {
    const char c = url[i];
    if (c == '\\' && i + 1 < url.size() && (url[i + 1] == '[' || url[i + 1] == ']' ||
                                            url[i + 1] == '{' || url[i + 1] == '}')) {
      pieces.back().text += url[++i];
    } else if (c == '{') {
      const std::size_t close = url.find('}', i);
      if (close == std::string_view::npos) return bad("unmatched brace", i);
      Piece set;
      set.pattern = true;
      std::string_view inside = url.substr(i + 1, close - i - 1);
      if (inside.find('{') != std::string_view::npos || inside.find('[') != std::string_view::npos) {
        return bad("nested brace", i);
      }
      for (std::size_t start = 0;;) {
        const std::size_t comma = inside.find(',', start);
        set.values.emplace_back(inside.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      pieces.push_back(std::move(set));
      pieces.emplace_back();
      i = close;
    } else if (c == '[') {
      const std::size_t close = url.find(']', i);
      if (close == std::string_view::npos) return bad("unmatched close bracket", i);
      if (isIpv6Literal(url, i, close)) {
        pieces.back().text += url.substr(i, close - i + 1);
      } else {
        // The budget left by the patterns so far, so that no range is built past the total.
        std::size_t product = 1;
        for (const Piece& p : pieces) {
          if (p.pattern && !p.values.empty()) product *= p.values.size();
        }
        absl::StatusOr<std::vector<std::string>> values =
            range(url.substr(i + 1, close - i - 1), i, limit / std::max<std::size_t>(product, 1));
        if (!values.ok()) return values.status();
        Piece found;
        found.values = std::move(*values);
        found.pattern = true;
        pieces.push_back(std::move(found));
        pieces.emplace_back();
      }
      i = close;
    } else if (c == '}' || c == ']') {
      return bad(c == '}' ? "unmatched close brace" : "unmatched close bracket", i);
    } else {
      pieces.back().text += c;
    }
  }
  std::size_t total = 1;
  for (const Piece& p : pieces) {
    if (!p.pattern) continue;
    if (p.values.empty()) return bad("empty pattern", 0);
    if (total > limit / p.values.size()) return absl::InvalidArgumentError("too many URLs in the glob");
    total *= p.values.size();
  }
  std::vector<GlobbedUrl> urls;
  urls.reserve(total);
  std::vector<std::size_t> index(pieces.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    GlobbedUrl out;
    for (std::size_t p = 0; p < pieces.size(); ++p) {
      if (!pieces[p].pattern) {
        out.url += pieces[p].text;
      } else {
        out.url += pieces[p].values[index[p]];
        out.values.push_back(pieces[p].values[index[p]]);
      }
    }
    urls.push_back(std::move(out));
    // The last pattern varies fastest.
    for (std::size_t p = pieces.size(); p-- > 0;) {
      if (!pieces[p].pattern) continue;
      if (++index[p] < pieces[p].values.size()) break;
      index[p] = 0;
    }
  }
  return urls;
}

std::string fillHashes(std::string_view name, const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '#' && i + 1 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1]))) {
      std::size_t end = i + 1;
      while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
      std::size_t n = 0;
      if (absl::SimpleAtoi(std::string(name.substr(i + 1, end - i - 1)), &n) && n >= 1 &&
          n <= values.size()) {
        out += values[n - 1];
        i = end - 1;
        continue;
      }
    }
    out += name[i];
  }
  return out;
}

}  // namespace getpage
