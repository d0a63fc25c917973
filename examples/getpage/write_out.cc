#include "examples/getpage/write_out.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "examples/getpage/cert_info.h"
#include "examples/getpage/request_builder.h"

namespace getpage {
namespace {

std::string schemeOf(const std::string& url) {
  const std::size_t colon = url.find("://");
  return colon == std::string::npos ? "" : absl::AsciiStrToUpper(url.substr(0, colon));
}

std::optional<std::string> variable(const std::string& name, const Transfer& t);

// A duration as curl's -w writes one: seconds, to the microsecond.
std::string seconds(absl::Duration d) { return absl::StrFormat("%.6f", absl::ToDoubleSeconds(d)); }

std::string jsonString(const std::string& text) {
  // (push_back rather than `out + "\""`: g++ 12 -O2 warns wrongly on that, -Wrestrict.)
  std::string out(1, '"');
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out.push_back('"');
  return out;
}

// %{json}: every variable, numbers as numbers, as curl writes it.
std::string json(const Transfer& t) {
  static const char* const kNumbers[] = {
      "exitcode",      "http_code",        "http_connect",       "local_port",
      "num_certs",     "num_connects",     "num_headers",      "num_redirects",      "proxy_ssl_verify_result",
      "remote_port",   "time_appconnect",  "time_connect",       "time_namelookup",
      "time_pretransfer", "time_redirect",
      "response_code", "size_download",    "size_header",        "size_request",
      "size_upload",   "speed_download",   "speed_upload",       "ssl_verify_result",
      "time_starttransfer", "time_total",  "urlnum"};
  static const char* const kStrings[] = {"certs",        "content_type", "errormsg",  "filename_effective",
                                         "ftp_entry_path",
                                         "http_version", "local_ip",   "method",
                                         "redirect_url", "referer",    "remote_ip",
                                         "scheme",       "url",        "url_effective"};
  std::vector<std::pair<std::string, std::string>> fields;
  for (const char* name : kNumbers) {
    std::string value = *variable(name, t);
    if (std::string_view(name).ends_with("_code")) value = absl::StrCat(t.status);
    if (std::string_view(name) == "http_connect") value.assign(1, '0');  // a number in JSON (assign: g++ 12 -O2 -Wrestrict)
    fields.emplace_back(name, value);
  }
  for (const char* name : kStrings) {
    const std::string value = *variable(name, t);
    // What curl knows is a string, even empty; what it does not know is null.
    const bool known = std::string_view(name) == "method" || std::string_view(name) == "certs";
    fields.emplace_back(name, value.empty() && !known ? "null" : jsonString(value));
  }
  std::sort(fields.begin(), fields.end());
  std::string out(1, '{');
  for (const auto& [name, value] : fields) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", "\"", name, "\":", value);
  }
  // curl ends with its version, out of order; getpage names itself.
  absl::StrAppend(&out, ",\"curl_version\":\"getpage (deft)\"}");
  return out;
}

// One variable's value; nullopt for a name curl does not know (it prints nothing for those).
std::optional<std::string> variable(const std::string& name, const Transfer& t) {
  if (name == "http_code" || name == "response_code") return absl::StrFormat("%03d", t.status);
  if (name == "size_download") return absl::StrCat(t.bodyBytes);
  if (name == "size_header") return absl::StrCat(t.headerBytes);
  if (name == "num_headers") return absl::StrCat(t.headerCount);
  if (name == "num_redirects") return absl::StrCat(t.redirects);
  if (name == "time_total") return seconds(t.total);
  if (name == "url_effective") return t.effectiveUrl;
  if (name == "url") return t.url;
  if (name == "content_type") return t.contentType;
  if (name == "http_version") return t.status == 0 ? "0" : "1.1";
  if (name == "exitcode") return absl::StrCat(t.exitCode);
  if (name == "errormsg") return t.errorMessage;
  if (name == "method") return t.method;
  if (name == "scheme") return schemeOf(t.effectiveUrl);
  if (name == "filename_effective") return t.filename;
  if (name == "remote_ip") return t.remoteIp;
  if (name == "remote_port") return absl::StrCat(t.remotePort);
  if (name == "urlnum") return absl::StrCat(t.urlNum);
  if (name == "time_starttransfer") return seconds(t.startTransfer);
  if (name == "time_namelookup") return seconds(t.timeNamelookup);
  if (name == "time_connect") return seconds(t.timeConnect);
  if (name == "time_appconnect") return seconds(t.timeAppconnect);
  if (name == "time_pretransfer") return seconds(t.timePretransfer);
  if (name == "time_redirect") return seconds(t.timeRedirect);
  if (name == "num_connects") return absl::StrCat(t.numConnects);
  if (name == "num_certs") return absl::StrCat(t.certificates != nullptr ? t.certificates->size() : 0);
  if (name == "certs") return t.certificates != nullptr ? certificateReport(*t.certificates) : "";
  if (name == "ftp_entry_path") return "";
  if (name == "json") return json(t);
  if (name == "local_ip") return t.localIp;
  if (name == "local_port") return absl::StrCat(t.localPort);
  if (name == "referer") return t.referer;
  if (name == "redirect_url") return t.redirectUrl;
  if (name == "size_request") return absl::StrCat(t.requestBytes);
  if (name == "size_upload") return absl::StrCat(t.uploadBytes);
  if (name == "speed_download" || name == "speed_upload") {
    const double seconds = absl::ToDoubleSeconds(t.total);
    const double bytes = static_cast<double>(name == "speed_download" ? t.bodyBytes : t.uploadBytes);
    return absl::StrCat(seconds > 0 ? static_cast<std::uint64_t>(bytes / seconds) : 0);
  }
  if (name == "ssl_verify_result" || name == "proxy_ssl_verify_result") return "0";  // failures end it
  if (name == "http_connect") return "000";  // a CONNECT's answer is not reported
  if (name.starts_with("header{") && name.ends_with("}")) {
    if (t.responseHeaders == nullptr) return "";
    const std::string field = name.substr(7, name.size() - 8);
    std::vector<std::string_view> values = t.responseHeaders->getAll(field);
    std::string joined;
    for (std::string_view v : values) absl::StrAppend(&joined, joined.empty() ? "" : ", ", std::string(v));
    return joined;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> writeOutFormat(const std::string& argument) {
  if (!argument.starts_with("@")) return argument;
  return readFileOrStdin(std::string_view(argument).substr(1));
}

void writeOut(const std::string& format, const Transfer& transfer) {
  FILE* out = stdout;
  std::string pending;
  auto flush = [&] {
    std::fwrite(pending.data(), 1, pending.size(), out);
    pending.clear();
  };
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c == '\\' && i + 1 < format.size()) {
      const char next = format[i + 1];
      const char* escaped = next == 'n' ? "\n" : next == 't' ? "\t" : next == 'r' ? "\r"
                          : next == '\\' ? "\\" : nullptr;
      if (escaped != nullptr) {
        pending += escaped;
        ++i;
        continue;
      }
    }
    if (c == '%' && i + 1 < format.size() && format[i + 1] == '%') {
      pending += '%';
      ++i;
      continue;
    }
    if (format.compare(i, 8, "%header{") == 0 && format.find('}', i) != std::string::npos) {
      const std::size_t end = format.find('}', i);
      pending += *variable(format.substr(i + 1, end - i), transfer);  // "header{name}"
      i = end;
      continue;
    }
    if (c == '%' && i + 1 < format.size() && format[i + 1] == '{') {
      const std::size_t end = format.find('}', i);
      if (end != std::string::npos) {
        const std::string name = format.substr(i + 2, end - i - 2);
        i = end;
        if (name == "stdout" || name == "stderr") {
          flush();
          out = name == "stdout" ? stdout : stderr;
        } else if (std::optional<std::string> value = variable(name, transfer)) {
          pending += *value;
        } else {
          std::fprintf(stderr, "getpage: unknown --write-out variable: '%s'\n", name.c_str());
        }
        continue;
      }
    }
    pending += c;
  }
  flush();
}

}  // namespace getpage
