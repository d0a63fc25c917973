#include "examples/getpage/options.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "net/address.h"
#include "examples/getpage/write_out.h"

namespace getpage {
namespace {

const char kUsage[] =
    "usage: getpage [options] [URL...]\n"
    "  no URL: serve demo pages on 127.0.0.1 and fetch them all concurrently\n"
    "  -X METHOD  -H 'Name: value'|'Name:'|'Name;'  -d DATA|@FILE|@-  --data-binary  --data-raw\n"
    "  --data-urlencode  -G  -A AGENT  -e REFERER  -u USER:PASS  -i  -I  -D FILE\n"
    "  -F 'NAME=VALUE'|'NAME=@FILE;type=T;filename=F'|'NAME=<FILE'  --form-string\n"
    "  -o FILE  -O  --output-dir DIR  --create-dirs  --url URL  --json DATA  -T FILE  -r RANGE\n"
    "  --max-time S  --connect-timeout S  --max-redirs N  --compressed  --max-filesize BYTES\n"
    "  -w FORMAT|@FILE  -b 'N=V'|FILE  -c FILE  -j  -v  -g  --remote-name-all  --next\n"
    "  --retry N  --retry-delay S  --retry-max-time S  --retry-connrefused  --retry-all-errors\n"
    "  -K FILE (curl's config file; ~/.curlrc is read first, unless -q comes first)\n"
    "  --etag-save FILE  --etag-compare FILE  -z DATE|FILE  -R\n"
    "  -4  -6 (one address family; both by default, Happy Eyeballs)  -C OFFSET|-  -#\n"
    "  --no-progress-meter (the meter is drawn on a terminal, when the body goes elsewhere)\n"
    "  -Z/--parallel  --parallel-max N  URL globs: {a,b} [1-100] [a-z] [01-10:2], #N in -o\n"
    "  -L (browser-like: POST becomes GET on 301/302/303)  --post301  --post302  --post303\n"
    "  https: -k/--insecure  --cacert FILE  --capath DIR  -E/--cert FILE  --key FILE\n"
    "  --unix-socket PATH  --abstract-unix-socket NAME: connect there instead of the URL's host\n"
    "  --resolve HOST:PORT:ADDRESS  --connect-to HOST1:PORT1:ADDRESS:PORT2\n"
    "  -x [http://][USER:PASS@]HOST[:PORT]  --noproxy HOSTS  -U USER:PASS  (and http_proxy,\n"
    "  https_proxy, all_proxy, no_proxy from the environment)\n";

// "host:port:address" (--resolve) or "host1:port1:host2:port2" (--connect-to, any part empty)
// into a rule; an address in brackets may be IPv6. nullopt when malformed, or when the target
// is a name rather than an IP address (the Agent connects to addresses only).
std::optional<deft::web::ConnectTo> parseConnectTo(const std::string& text, bool resolve) {
  std::vector<std::string> parts;
  std::string part;
  bool bracket = false;
  for (char c : text) {
    if (c == '[') bracket = true;
    if (c == ']') bracket = false;
    if (c == ':' && !bracket) {
      parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(part);
  auto unbracket = [](std::string s) {
    return s.size() >= 2 && s.front() == '[' && s.back() == ']' ? s.substr(1, s.size() - 2) : s;
  };
  auto port = [](const std::string& s, std::uint16_t* out) {
    int p = 0;
    if (s.empty()) return true;  // any (or the same)
    if (!absl::SimpleAtoi(s, &p) || p < 1 || p > 65535) return false;
    *out = static_cast<std::uint16_t>(p);
    return true;
  };
  deft::web::ConnectTo rule;
  if (resolve) {
    if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) return std::nullopt;
    rule.host = parts[0];
    rule.address = unbracket(parts[2].substr(0, parts[2].find(',')));  // the first address
  } else {
    if (parts.size() != 4) return std::nullopt;
    rule.host = parts[0];
    rule.address = unbracket(parts[2]);
    if (!port(parts[3], &rule.toPort)) return std::nullopt;
  }
  if (!port(parts[1], &rule.port)) return std::nullopt;
  if (!rule.address.empty() && !deft::Address::fromLiteral(rule.address, 0)) return std::nullopt;
  return rule;
}

// curl's short options may be bundled ("-sSfL") and take their value attached ("-ofile",
// "-XPUT"): spelled out here one option per word, as the parser below wants them.
std::vector<std::string> unbundle(int argc, char** argv) {
  static const std::string kFlags = "sSfLiIGkOjvgZR46q";  // short options without a value
  static const std::string kValued = "oXHdAeuwmEDTrbcxUFKzC";  // short options with one
  std::vector<std::string> words = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.size() <= 2 || arg[0] != '-' || arg[1] == '-') {
      words.push_back(arg);
      continue;
    }
    std::vector<std::string> spelled;
    bool known = true;
    for (std::size_t j = 1; j < arg.size() && known; ++j) {
      if (kFlags.find(arg[j]) != std::string::npos) {
        spelled.push_back(std::string("-") + arg[j]);
      } else if (kValued.find(arg[j]) != std::string::npos) {
        spelled.push_back(std::string("-") + arg[j]);
        if (j + 1 < arg.size()) spelled.push_back(arg.substr(j + 1));
        break;
      } else {
        known = false;
      }
    }
    if (known) {
      words.insert(words.end(), spelled.begin(), spelled.end());
    } else {
      words.push_back(arg);  // reported as unknown below
    }
  }
  return words;
}

}  // namespace

std::optional<std::vector<ConfigWord>> readConfigFile(const std::string& path) {
  std::optional<std::string> text = readFileOrStdin(path);
  if (!text) return std::nullopt;
  std::vector<ConfigWord> words;
  std::size_t at = 0;
  int lineNumber = 0;
  while (at < text->size()) {
    ++lineNumber;
    const std::string origin = absl::StrCat(path == "-" ? "<stdin>" : path, ":", lineNumber);
    std::size_t end = text->find('\n', at);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + at, end - at);
    at = end + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t nameEnd = 0;
    while (nameEnd < line.size() && line[nameEnd] != ' ' && line[nameEnd] != '\t' &&
           line[nameEnd] != '=' && line[nameEnd] != ':') {
      ++nameEnd;
    }
    const std::string written(line.substr(0, nameEnd));
    words.push_back({written.starts_with("-") ? written : "--" + written, origin, written});
    std::string_view rest = line.substr(nameEnd);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == '=' || rest.front() == ':')) rest.remove_prefix(1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (rest.empty()) continue;
    std::string value;
    if (rest.front() == '"') {
      for (std::size_t i = 1; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          const char next = rest[++i];
          value += next == 't' ? '\t' : next == 'n' ? '\n' : next == 'r' ? '\r' : next == 'v' ? '\v' : next;
        } else {
          value += rest[i];
        }
      }
    } else {
      value = std::string(rest.substr(0, rest.find_first_of(" \t")));
    }
    words.push_back({std::move(value), origin, ""});
  }
  return words;
}

std::optional<std::string> defaultConfigFile() {
  auto readable = [](const std::string& path) { return ::access(path.c_str(), R_OK) == 0; };
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  const bool xdg = std::getenv("XDG_CONFIG_HOME") != nullptr;
  for (const char* home : {"CURL_HOME", "XDG_CONFIG_HOME", "HOME"}) {
    if (const std::string dir = env(home); !dir.empty() && readable(dir + "/.curlrc")) return dir + "/.curlrc";
  }
  if (!xdg) {
    // The first of the two that is set is the only one looked in (curl's findfile).
    const std::string dir = !env("CURL_HOME").empty() ? env("CURL_HOME") : env("HOME");
    if (!dir.empty() && readable(dir + "/.config/curlrc")) return dir + "/.config/curlrc";
  }
  if (const passwd* user = ::getpwuid(::geteuid()); user != nullptr && user->pw_dir != nullptr && *user->pw_dir) {
    if (const std::string path = std::string(user->pw_dir) + "/.curlrc"; readable(path)) return path;
  }
  return std::nullopt;
}

std::optional<CommandLine> parseCommandLine(int rawArgc, char** rawArgv) {
  // Each word with where it came from: the command line (no origin), or a config file's line.
  std::vector<ConfigWord> words;
  for (std::string& word : unbundle(rawArgc, rawArgv)) words.push_back({std::move(word), "", ""});
  // ~/.curlrc's options come first, as if typed before the command line's (not for the demo,
  // which takes no options).
  if (rawArgc > 1 && !std::string_view(rawArgv[1]).starts_with("-q") &&
      !absl::EqualsIgnoreCase(std::string(rawArgv[1]), std::string("--disable"))) {
    if (std::optional<std::string> path = defaultConfigFile()) {
      if (std::optional<std::vector<ConfigWord>> defaults = readConfigFile(*path)) {
        words.insert(words.begin() + 1, defaults->begin(), defaults->end());
      }
    }
  }
  // -K FILE: the file's options in its place (files within files, a few levels deep).
  for (int depth = 0; depth < 8; ++depth) {
    auto config = std::find_if(words.begin() + 1, words.end(), [](const ConfigWord& w) {
      return w.word == "-K" || w.word == "--config";
    });
    if (config == words.end()) break;
    if (config + 1 == words.end()) {
      std::fprintf(stderr, "getpage: option %s needs a value\n", config->word.c_str());
      return std::nullopt;
    }
    std::optional<std::vector<ConfigWord>> inserted = readConfigFile((config + 1)->word);
    if (!inserted) {
      std::fprintf(stderr, "getpage: (26) cannot read config from '%s'\n", (config + 1)->word.c_str());
      std::exit(26);
    }
    const auto at = words.erase(config, config + 2);
    words.insert(at, inserted->begin(), inserted->end());
  }
  std::vector<char*> pointers;
  for (ConfigWord& word : words) pointers.push_back(word.word.data());
  const int argc = static_cast<int>(pointers.size());
  char** argv = pointers.data();
  CommandLine line;
  line.groups.emplace_back();
  Options* current = &line.groups.back();
  auto seconds = [](const std::string& s) -> std::optional<absl::Duration> {
    double v = 0;
    if (!absl::SimpleAtod(s, &v) || v <= 0) return std::nullopt;
    return absl::Seconds(v);
  };
  for (int i = 1; i < argc; ++i) {
    Options& args = *current;
    const std::string arg = argv[i];
    const bool hasValue = i + 1 < argc;
    auto value = [&]() -> std::string { return argv[++i]; };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "-q" || arg == "--disable") {
      // Only as the first option, where it was seen before parsing: elsewhere it does nothing.
    } else if (arg == "--compressed") {
      args.page.compressed = true;
    } else if (arg == "-k" || arg == "--insecure") {
      args.page.tls.verify = false;
    } else if (arg == "-O" || arg == "--remote-name") {
      args.outputs.push_back("");
    } else if (arg == "--create-dirs") {
      args.createDirs = true;
    } else if (arg == "--demo") {
      line.demo = true;
    } else if (arg == "-s" || arg == "--silent") {
      line.silent = true;
    } else if (arg == "-S" || arg == "--show-error") {
      line.showError = true;
    } else if (arg == "-v" || arg == "--verbose") {
      line.verbose = true;
    } else if (arg == "-Z" || arg == "--parallel") {
      line.parallel = true;
    } else if (arg == "--no-progress-meter") {
      line.noProgressMeter = true;
    } else if (arg == "-#" || arg == "--progress-bar") {
      line.progressBar = true;
    } else if (arg == "--next" || arg == "-:") {
      line.groups.emplace_back();
      current = &line.groups.back();
    } else if (arg == "-g" || arg == "--globoff") {
      args.globOff = true;
    } else if (arg == "--remote-name-all") {
      args.remoteNameAll = true;
    } else if (arg == "-f" || arg == "--fail") {
      args.fail = true;
    } else if (arg == "--fail-with-body") {
      args.failWithBody = true;
    } else if (arg == "-L" || arg == "--location") {
      args.location = true;
    } else if (arg == "--post301") {
      args.page.keepPostOn301 = true;
    } else if (arg == "--post302") {
      args.page.keepPostOn302 = true;
    } else if (arg == "--post303") {
      args.page.keepPostOn303 = true;
    } else if (arg == "-4" || arg == "--ipv4") {
      args.addressFamily = AF_INET;
    } else if (arg == "-6" || arg == "--ipv6") {
      args.addressFamily = AF_INET6;
    } else if (arg == "-R" || arg == "--remote-time") {
      args.remoteTime = true;
    } else if (arg == "--retry-connrefused") {
      args.retryConnRefused = true;
    } else if (arg == "--retry-all-errors") {
      args.retryAllErrors = true;
    } else if (arg == "-j" || arg == "--junk-session-cookies") {
      args.junkSessionCookies = true;
    } else if (arg == "-G" || arg == "--get") {
      args.request.setGet(true);
    } else if (arg == "-i" || arg == "--include") {
      args.includeHead = true;
    } else if (arg == "-I" || arg == "--head") {
      args.head = true;
      args.request.setHead(true);
    } else if (!arg.starts_with("-") || arg == "-") {
      args.urls.push_back(arg);
    } else if (!hasValue) {
      std::fprintf(stderr, "getpage: option %s needs a value\n%s", arg.c_str(), kUsage);
      return std::nullopt;
    } else if (arg == "-o" || arg == "--output") {
      args.outputs.push_back(value());
      if (args.outputs.back().empty()) {
        std::fprintf(stderr, "getpage: -o needs a file name\n");
        return std::nullopt;
      }
    } else if (arg == "--output-dir") {
      args.outputDir = value();
    } else if (arg == "-D" || arg == "--dump-header") {
      args.dumpHeader = value();
    } else if (arg == "--url") {
      args.urls.push_back(value());
    } else if (arg == "-X" || arg == "--request") {
      args.request.setMethod(value());
    } else if (arg == "-H" || arg == "--header") {
      if (std::optional<std::string> error = args.request.addHeader(value())) {
        std::fprintf(stderr, "getpage: %s\n", error->c_str());
        return std::nullopt;
      }
    } else if (arg == "-d" || arg == "--data" || arg == "--data-ascii" || arg == "--data-binary" ||
               arg == "--data-raw" || arg == "--data-urlencode") {
      using Kind = getpage::RequestBuilder::DataKind;
      const Kind kind = arg == "--data-binary"      ? Kind::kBinary
                        : arg == "--data-raw"       ? Kind::kRaw
                        : arg == "--data-urlencode" ? Kind::kUrlencode
                                                    : Kind::kData;
      if (std::optional<std::string> error = args.request.addData(value(), kind)) {
        std::fprintf(stderr, "getpage: %s\n", error->c_str());
        std::exit(26);
      }
    } else if (arg == "--json") {
      if (std::optional<std::string> error = args.request.addJson(value())) {
        std::fprintf(stderr, "getpage: %s\n", error->c_str());
        std::exit(26);
      }
    } else if (arg == "-T" || arg == "--upload-file") {
      if (std::optional<std::string> error = args.request.setUpload(value())) {
        std::fprintf(stderr, "getpage: %s\n", error->c_str());
        std::exit(26);
      }
    } else if (arg == "-F" || arg == "--form" || arg == "--form-string") {
      if (std::optional<std::string> error = args.request.addFormPart(value(), arg == "--form-string")) {
        std::fprintf(stderr, "getpage: %s\n", error->c_str());
        if (error->starts_with("(26)")) std::exit(26);
        return std::nullopt;
      }
    } else if (arg == "-r" || arg == "--range") {
      args.request.setRange(value());
    } else if (arg == "-b" || arg == "--cookie") {
      // curl's rule: with a '=' it is cookies, without one a file to read them from.
      std::string v = value();
      if (v.find('=') != std::string::npos) {
        args.cookieString += (args.cookieString.empty() ? "" : ";") + v;  // curl's separator
      } else {
        args.cookieFiles.push_back(std::move(v));
      }
    } else if (arg == "-x" || arg == "--proxy") {
      args.proxy = value();
    } else if (arg == "--noproxy") {
      args.noProxy = value();
    } else if (arg == "-U" || arg == "--proxy-user") {
      args.proxyUser = value();
    } else if (arg == "--retry") {
      if (!absl::SimpleAtoi(value(), &args.retries) || args.retries < 0) return std::nullopt;
    } else if (arg == "--retry-delay" || arg == "--retry-max-time") {
      double s = 0;
      if (!absl::SimpleAtod(value(), &s) || s < 0) return std::nullopt;
      if (arg == "--retry-delay") args.retryDelay = absl::Seconds(s);
      if (arg == "--retry-max-time" && s > 0) args.retryMaxTime = absl::Seconds(s);
    } else if (arg == "-C" || arg == "--continue-at") {
      const std::string v = value();
      std::int64_t offset = -1;
      if (v != "-" && (!absl::SimpleAtoi(v, &offset) || offset < 0)) return std::nullopt;
      args.resumeFrom = offset;
    } else if (arg == "--etag-save") {
      args.etagSave = value();
    } else if (arg == "--etag-compare") {
      args.etagCompare = value();
      if (::access(args.etagCompare->c_str(), R_OK) != 0) {  // curl reads it now ("-" too: a file)
        std::fprintf(stderr, "getpage: (26) Failed to open %s\n", args.etagCompare->c_str());
        std::exit(26);
      }
    } else if (arg == "-z" || arg == "--time-cond") {
      args.timeCondition = value();
    } else if (arg == "-c" || arg == "--cookie-jar") {
      args.cookieJarOut = value();
    } else if (arg == "-A" || arg == "--user-agent") {
      args.request.setUserAgent(value());
    } else if (arg == "-e" || arg == "--referer") {
      args.request.setReferer(value());
    } else if (arg == "-u" || arg == "--user") {
      args.request.setUser(value());
    } else if (arg == "--max-time" || arg == "-m") {
      auto d = seconds(value());
      if (!d) return std::nullopt;
      args.page.timeout = *d;
    } else if (arg == "--connect-timeout") {
      auto d = seconds(value());
      if (!d) return std::nullopt;
      args.page.connectTimeout = *d;
    } else if (arg == "--max-redirs") {
      if (!absl::SimpleAtoi(value(), &args.maxRedirs) || args.maxRedirs < -1) return std::nullopt;
    } else if (arg == "--max-filesize") {
      if (!absl::SimpleAtoi(value(), &args.page.maxSize)) return std::nullopt;
    } else if (arg == "-w" || arg == "--write-out") {
      args.writeOut = getpage::writeOutFormat(value());
      if (!args.writeOut) {
        std::fprintf(stderr, "getpage: (26) cannot read the -w format file\n");
        std::exit(26);
      }
    } else if (arg == "--cacert") {
      args.page.tls.caFile = value();
    } else if (arg == "--capath") {
      args.page.tls.caPath = value();
    } else if (arg == "-E" || arg == "--cert") {
      args.page.tls.certificateFile = value();
    } else if (arg == "--key") {
      args.page.tls.privateKeyFile = value();
    } else if (arg == "--unix-socket") {
      args.unixSocket = value();
    } else if (arg == "--abstract-unix-socket") {
      args.unixSocket = "@" + value();
    } else if (arg == "--resolve" || arg == "--connect-to") {
      std::optional<deft::web::ConnectTo> rule = parseConnectTo(value(), arg == "--resolve");
      if (!rule) {
        std::fprintf(stderr, "getpage: %s wants %s, with an IP address\n", arg.c_str(),
                     arg == "--resolve" ? "HOST:PORT:ADDRESS" : "HOST1:PORT1:HOST2:PORT2");
        return std::nullopt;
      }
      args.connectTo.push_back(std::move(*rule));
    } else if (arg == "--parallel-max") {
      // curl's range: 1 to 300 (more is taken as 300).
      if (!absl::SimpleAtoi(value(), &line.parallelMax) || line.parallelMax == 0) {
        return std::nullopt;
      }
      line.parallelMax = std::min<std::size_t>(line.parallelMax, 300);
    } else if (const ConfigWord& from = words[i]; !from.origin.empty()) {
      // What a config file says that getpage does not know: curl's warning, and on to the next
      // line (the option's value, if any, is on this one).
      std::fprintf(stderr, "Warning: %s: warning: '%s' is unknown\n", from.origin.c_str(), from.written.c_str());
      while (i + 1 < argc && words[i + 1].origin == from.origin) ++i;
    } else {
      std::fprintf(stderr, "getpage: unknown option %s\n%s", arg.c_str(), kUsage);
      return std::nullopt;
    }
  }
  for (const Options& args : line.groups) {
    if (!args.unixSocket.empty() && !deft::Address::fromUnixPath(args.unixSocket)) {
      std::fprintf(stderr, "getpage: not a valid Unix socket name: %s\n", args.unixSocket.c_str());
      return std::nullopt;
    }
    if (!args.page.tls.verify) {
      std::fputs("getpage: warning: --insecure: https servers' certificates are not verified\n", stderr);
      break;
    }
  }
  // --next after the last URL starts nothing.
  if (line.groups.size() > 1 && line.groups.back().urls.empty()) line.groups.pop_back();
  return line;
}


}  // namespace getpage
