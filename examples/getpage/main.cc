// getpage: fetch web pages concurrently with getPage and gather them with a DeferredList — the
// project's demo, and curl for HTTP(S) scripts.
//
//   ./bazelw run //examples:getpage                     # serves itself on 127.0.0.1, fetches
//   ./bazelw run //examples:getpage -- --demo           # its own pages concurrently: a table
//   ./bazelw run //examples:getpage -- [options] URL... # curl: each body to stdout (or -o FILE)
//
// With URLs, curl's options mean what they mean to curl (7.88, Debian's): -o per URL, -s -S -f
// --fail-with-body -L --max-redirs -i -I -X -H (with "Name:" removing and "Name;" sending empty)
// -d/--data-binary/--data-raw/--data-urlencode (repeated ones joined with '&', @FILE and @-) -G
// -A -e -u -b -c -j --post301/2/3 --compressed --max-time --connect-timeout --max-filesize -w (curl's variables and
// escapes, @FILE), https's -k --cacert --capath -E --key, --unix-socket, --resolve and
// --connect-to (to IP addresses). Exit codes are curl's,
// the last transfer's, with one "getpage: (N) ..." line on stderr per failure unless -s.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "deferred/deferred_list.h"
#include "deferred/deferred_lock.h"
#include "examples/getpage/demo_site.h"
#include "examples/getpage/exit_codes.h"
#include "examples/getpage/request_builder.h"
#include "examples/getpage/write_out.h"
#include "reactor/reactor.h"
#include "tcp/tcp.h"
#include "web_client/get_page.h"

namespace {

using deft::Deferred;
using deft::Failure;
using deft::Outcome;
using deft::web::Page;
using deft::web::PageOptions;

struct Args {
  std::vector<std::string> urls;
  // -o FILE and -O, one per URL in order: a path ("-": stdout), or "" for -O (the URL's own name).
  std::vector<std::string> outputs;
  std::string outputDir;     // --output-dir
  bool createDirs = false;   // --create-dirs
  std::optional<std::string> dumpHeader;  // -D FILE
  bool demo = false;          // --demo, or no URL at all
  bool silent = false;        // -s: no error lines
  bool showError = false;     // -S: error lines even with -s
  bool fail = false;          // -f: a response of 400 or more is an error (22), its body unwritten
  bool failWithBody = false;  // --fail-with-body: the same, the body written
  bool location = false;      // -L: follow redirects
  int maxRedirs = 50;
  std::optional<std::string> writeOut;  // -w
  std::size_t parallelMax = 16;
  std::string unixSocket;  // --unix-socket, --abstract-unix-socket (as "@name")
  std::vector<deft::web::ConnectTo> connectTo;  // --resolve, --connect-to
  std::vector<std::string> cookieFiles;  // -b FILE: Netscape cookie files to start the jar with
  std::string cookieString;              // -b 'NAME=VALUE; ...': sent as they are
  std::optional<std::string> cookieJarOut;  // -c FILE: the jar written there at the end
  bool junkSessionCookies = false;          // -j: session cookies from -b files are dropped
  bool includeHead = false;  // -i: the response's head before its body
  bool head = false;         // -I: HEAD, and print the head
  getpage::RequestBuilder request;
  PageOptions page;
};

const char kUsage[] =
    "usage: getpage [options] [URL...]\n"
    "  no URL: serve demo pages on 127.0.0.1 and fetch them all concurrently\n"
    "  -X METHOD  -H 'Name: value'|'Name:'|'Name;'  -d DATA|@FILE|@-  --data-binary  --data-raw\n"
    "  --data-urlencode  -G  -A AGENT  -e REFERER  -u USER:PASS  -i  -I  -D FILE\n"
    "  -o FILE  -O  --output-dir DIR  --create-dirs  --url URL  --json DATA  -T FILE  -r RANGE\n"
    "  --max-time S  --connect-timeout S  --max-redirs N  --compressed  --max-filesize BYTES\n"
    "  -w FORMAT|@FILE  --parallel-max N  -b 'N=V'|FILE  -c FILE  -j\n"
    "  -L (browser-like: POST becomes GET on 301/302/303)  --post301  --post302  --post303\n"
    "  https: -k/--insecure  --cacert FILE  --capath DIR  -E/--cert FILE  --key FILE\n"
    "  --unix-socket PATH  --abstract-unix-socket NAME: connect there instead of the URL's host\n"
    "  --resolve HOST:PORT:ADDRESS  --connect-to HOST1:PORT1:ADDRESS:PORT2\n";

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

// Parses curl-style arguments. nullopt (after a message) on a usage error.
// curl's short options may be bundled ("-sSfL") and take their value attached ("-ofile",
// "-XPUT"): spelled out here one option per word, as the parser below wants them.
std::vector<std::string> unbundle(int argc, char** argv) {
  static const std::string kFlags = "sSfLiIGkOj";    // short options without a value
  static const std::string kValued = "oXHdAeuwmEDTrbc";  // short options with one
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

std::optional<Args> parseArgs(int rawArgc, char** rawArgv) {
  std::vector<std::string> words = unbundle(rawArgc, rawArgv);
  std::vector<char*> pointers;
  for (std::string& word : words) pointers.push_back(word.data());
  const int argc = static_cast<int>(pointers.size());
  char** argv = pointers.data();
  Args args;
  auto seconds = [](const std::string& s) -> std::optional<absl::Duration> {
    double v = 0;
    if (!absl::SimpleAtod(s, &v) || v <= 0) return std::nullopt;
    return absl::Seconds(v);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool hasValue = i + 1 < argc;
    auto value = [&]() -> std::string { return argv[++i]; };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--compressed") {
      args.page.compressed = true;
    } else if (arg == "-k" || arg == "--insecure") {
      args.page.tls.verify = false;
    } else if (arg == "-O" || arg == "--remote-name") {
      args.outputs.push_back("");
    } else if (arg == "--create-dirs") {
      args.createDirs = true;
    } else if (arg == "--demo") {
      args.demo = true;
    } else if (arg == "-s" || arg == "--silent") {
      args.silent = true;
    } else if (arg == "-S" || arg == "--show-error") {
      args.showError = true;
    } else if (arg == "-sS" || arg == "-Ss") {
      args.silent = args.showError = true;
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
      if (!absl::SimpleAtoi(value(), &args.parallelMax) || args.parallelMax == 0) {
        return std::nullopt;
      }
    } else {
      std::fprintf(stderr, "getpage: unknown option %s\n%s", arg.c_str(), kUsage);
      return std::nullopt;
    }
  }
  if (!args.unixSocket.empty() && !deft::Address::fromUnixPath(args.unixSocket)) {
    std::fprintf(stderr, "getpage: not a valid Unix socket name: %s\n", args.unixSocket.c_str());
    return std::nullopt;
  }
  if (!args.page.tls.verify) {
    std::fputs("getpage: warning: --insecure: https servers' certificates are not verified\n", stderr);
  }
  return args;
}

// The response's head as -i and -I print it.
std::string headText(const Page& page) {
  std::string head = absl::StrCat("HTTP/1.1 ", page.status, page.reason.empty() ? "" : " ",
                                  page.reason, "\r\n");
  for (const auto& [name, value] : page.headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  head += "\r\n";
  return head;
}

// URLs given: curl's meaning. Each URL in turn, its body to stdout or to its -o file; the exit
// code of the last transfer, as curl's.
Deferred<int> curlMode(Args args) {
  deft::web::AgentOptions agentOptions;
  agentOptions.connectTimeout = args.page.connectTimeout;
  agentOptions.tls = args.page.tls;
  agentOptions.unixSocket = args.unixSocket;
  agentOptions.connectTo = args.connectTo;
  // curl's cookie engine: on with -b FILE or -c, a jar shared by every URL and redirect.
  std::shared_ptr<deft::web::CookieJar> jar;
  if (!args.cookieFiles.empty() || args.cookieJarOut) {
    jar = std::make_shared<deft::web::CookieJar>(deft::web::CookieOrder::kCurl);
    for (const std::string& file : args.cookieFiles) {
      // A file that cannot be read starts an empty jar, as with curl.
      if (std::optional<std::string> text = getpage::readFileOrStdin(file)) jar->loadNetscape(*text);
    }
    if (args.junkSessionCookies) jar->clearSessionCookies();
    agentOptions.cookieJar = jar;
  }
  args.page.agent = std::make_shared<deft::web::Agent>(deft::reactor(), agentOptions);
  args.page.followRedirects = args.location;
  args.page.redirectMode = deft::web::RedirectMode::kBrowser;  // curl -L's
  args.page.maxRedirects = args.maxRedirs < 0 ? std::numeric_limits<int>::max() : args.maxRedirs;
  const bool showErrors = !args.silent || args.showError;
  int code = 0;
  for (std::size_t i = 0; i < args.urls.size(); ++i) {
    const absl::Time start = absl::Now();
    std::string url = args.urls[i];
    PageOptions page = args.page;
    args.request.apply(url, page);
    if (!args.cookieString.empty()) page.headers.add("Cookie", args.cookieString);
    std::string output = i < args.outputs.size() ? args.outputs[i] : "-";
    if (output.empty()) {  // -O: the last segment of the URL's path
      std::string path = url.substr(0, url.find_first_of("?#"));
      const std::size_t scheme = path.find("://");
      path = scheme == std::string::npos ? path : path.substr(scheme + 3);
      const std::size_t slash = path.find('/');
      output = slash == std::string::npos ? "" : path.substr(path.rfind('/') + 1);
      if (output.empty()) {
        if (showErrors) std::fprintf(stderr, "getpage: Remote file name has no length\n");
        code = 23;
        continue;
      }
    }
    if (output != "-" && !args.outputDir.empty() && !output.starts_with("/")) {
      output = args.outputDir + "/" + output;
    }
    if (output != "-" && args.createDirs) {
      std::error_code ignored;
      std::filesystem::create_directories(std::filesystem::path(output).parent_path(), ignored);
    }
    getpage::Transfer transfer;
    transfer.url = url;
    transfer.effectiveUrl = url;
    transfer.method = page.method;
    transfer.filename = output == "-" ? "" : output;
    std::optional<Page> fetched;
    std::optional<Failure> failure;
    try {
      fetched = co_await deft::web::fetchPage(url, page);
    } catch (...) {
      failure = Failure::fromCurrentException();
    }
    int result = 0;
    if (fetched) {
      const std::string head = headText(*fetched);
      transfer.status = fetched->status;
      transfer.redirects = fetched->redirects;
      transfer.effectiveUrl = fetched->url.toString();
      transfer.bodyBytes = fetched->body.size();
      transfer.headerBytes = head.size();
      transfer.headerCount = fetched->headers.size();
      transfer.contentType = std::string(fetched->headers.get("Content-Type").value_or(""));
      if (args.dumpHeader) {
        FILE* dump = *args.dumpHeader == "-" ? stdout : std::fopen(args.dumpHeader->c_str(), i == 0 ? "wb" : "ab");
        if (dump != nullptr) {
          std::fwrite(head.data(), 1, head.size(), dump);
          if (dump != stdout) std::fclose(dump);
        }
      }
      const bool failed = (args.fail || args.failWithBody) && fetched->status >= 400;
      if (!failed || args.failWithBody) {
        FILE* out = output == "-" ? stdout : std::fopen(output.c_str(), "wb");
        if (out == nullptr) {
          if (showErrors) std::fprintf(stderr, "getpage: (23) Failure writing output to destination\n");
          result = 23;
        } else {
          if (args.includeHead || args.head) std::fwrite(head.data(), 1, head.size(), out);
          std::fwrite(fetched->body.data(), 1, fetched->body.size(), out);
          if (out == stdout) {
            std::fflush(stdout);
          } else {
            std::fclose(out);
          }
        }
      }
      if (failed) {
        result = 22;
        transfer.errorMessage =
            absl::StrCat("The requested URL returned error: ", fetched->status);
        if (showErrors) std::fprintf(stderr, "getpage: (22) %s\n", transfer.errorMessage.c_str());
      }
    } else {
      result = getpage::exitCodeFor(*failure);
      transfer.errorMessage = failure->getErrorMessage();
      if (showErrors) std::fprintf(stderr, "%s\n", getpage::errorLine(*failure).c_str());
    }
    transfer.exitCode = result;
    transfer.total = absl::Now() - start;
    if (args.writeOut) getpage::writeOut(*args.writeOut, transfer);
    std::fflush(stdout);
    code = result;  // curl's: the last transfer's
  }
  if (args.cookieJarOut) {
    const std::string text = jar->toNetscape();
    FILE* out = *args.cookieJarOut == "-" ? stdout : std::fopen(args.cookieJarOut->c_str(), "wb");
    if (out == nullptr) {
      if (showErrors) {
        std::fprintf(stderr, "getpage: WARNING: failed to save cookies in %s\n",
                     args.cookieJarOut->c_str());
      }
    } else {
      std::fwrite(text.data(), 1, text.size(), out);
      out == stdout ? std::fflush(out) : std::fclose(out);
    }
  }
  co_return code;
}

struct Row {
  std::string url;
  absl::Duration time;
};

// Many URLs at once: getPage for each (at most --parallel-max in flight, a DeferredSemaphore),
// gathered with a DeferredList, then a table.
Deferred<int> fetchAll(Args args) {
  deft::web::AgentOptions agentOptions;
  agentOptions.connectTimeout = args.page.connectTimeout;
  agentOptions.tls = args.page.tls;
  agentOptions.unixSocket = args.unixSocket;
  agentOptions.connectTo = args.connectTo;
  auto agent = std::make_shared<deft::web::Agent>(deft::reactor(), agentOptions);
  args.page.agent = agent;
  deft::DeferredSemaphore semaphore(args.parallelMax);
  auto rows = std::make_shared<std::vector<Row>>(args.urls.size());
  auto done = std::make_shared<std::size_t>(0);
  std::vector<Deferred<Page>> fetches;
  const absl::Time start = absl::Now();
  for (std::size_t i = 0; i < args.urls.size(); ++i) {
    (*rows)[i].url = args.urls[i];
    fetches.push_back(semaphore.run([&args, rows, done, i] {
      const absl::Time begin = absl::Now();
      std::string url = args.urls[i];
      PageOptions page = args.page;
      args.request.apply(url, page);
      return deft::web::fetchPage(url, page).addBoth([rows, done, i, begin](
                                                                       Outcome<Page> o) {
        (*rows)[i].time = absl::Now() - begin;
        ++*done;
        return o;
      });
    }));
  }

  // A progress line on a terminal while many are in flight.
  const bool progress = ::isatty(STDERR_FILENO) && args.urls.size() > 8;
  std::shared_ptr<deft::IDelayedCall> ticker;
  std::function<void()> tick = [&] {
    std::fprintf(stderr, "\r%zu/%zu fetched, %zu in flight ", *done, args.urls.size(),
                 std::min(args.parallelMax, args.urls.size() - *done));
    ticker = deft::reactor().callLater(absl::Milliseconds(100), tick);
  };
  if (progress) tick();

  std::vector<Outcome<Page>> results =
      co_await deft::DeferredList(std::move(fetches), {.consumeErrors = true});
  const absl::Duration total = absl::Now() - start;
  if (ticker && ticker->active()) ticker->cancel();
  if (progress) std::fprintf(stderr, "\r%*s\r", 40, "");

  int code = 0;
  absl::Duration sequential;
  std::printf("%-48s %6s %9s %9s\n", "URL", "status", "bytes", "time");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Row& row = (*rows)[i];
    sequential += row.time;
    const std::string ms = absl::StrFormat("%.0f ms", absl::ToDoubleMilliseconds(row.time));
    if (results[i].ok()) {
      const Page& page = results[i].value();
      std::string shown = row.url;
      if (page.redirects > 0) shown += absl::StrCat(" (", page.redirects, " redirect)");
      std::printf("%-48s %6d %9zu %9s\n", shown.c_str(), page.status, page.body.size(),
                  ms.c_str());
    } else {
      const Failure& f = results[i].failure();
      std::printf("%-48s %6s %9s %9s  %s\n", row.url.c_str(), "-", "-", ms.c_str(),
                  getpage::errorLine(f).c_str());
      if (code == 0) code = getpage::exitCodeFor(f);
    }
  }
  std::printf("\nfetched %zu pages concurrently in %.0f ms; one after another would have taken "
              "about %.0f ms (%.1fx)\n",
              results.size(), absl::ToDoubleMilliseconds(total),
              absl::ToDoubleMilliseconds(sequential),
              absl::ToDoubleSeconds(sequential) / std::max(1e-9, absl::ToDoubleSeconds(total)));
  co_return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Args> args = parseArgs(argc, argv);
  if (!args) return 2;
  std::shared_ptr<deft::ListeningPort> demoPort;
  if (args->urls.empty() || args->demo) {
    args->demo = true;
    args->urls.clear();
    demoPort = deft::listenTCP(deft::reactor(), 0, getpage::makeDemoSite(), {.interface = "127.0.0.1"});
    const std::string base = absl::StrCat("http://127.0.0.1:", demoPort->getHost().port());
    std::printf("serving demo pages on %s/ (no URL given)\n\n", base.c_str());
    for (const std::string& path : getpage::demoPaths()) args->urls.push_back(base + path);
  }

  int code = 0;
  deft::reactor().callWhenRunning([&] {
    Deferred<int> run = args->demo ? fetchAll(*args) : curlMode(*args);
    std::move(run).addBoth([&code](Outcome<int> outcome) {
      if (outcome.ok()) {
        code = outcome.value();
      } else {
        std::fprintf(stderr, "%s\n", getpage::errorLine(outcome.failure()).c_str());
        code = getpage::exitCodeFor(outcome.failure());
      }
      // Not when a signal (SIGINT, SIGTERM) has stopped it already and this is the fetch ending
      // as its connections close.
      if (deft::reactor().running()) deft::reactor().stop();
    });
  });
  deft::reactor().run();
  return code;
}
