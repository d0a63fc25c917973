// getpage: fetch web pages concurrently with getPage and gather them with a DeferredList — the
// project's demo, and a curl-like tool for scripts.
//
//   ./bazelw run //examples:getpage                     # serves itself on 127.0.0.1, fetches
//                                                       # its own pages concurrently
//   ./bazelw run //examples:getpage -- URL...           # fetches those (--parallel-max N)
//   ./bazelw run //examples:getpage -- -o - URL         # curl-like: the body to stdout
//
// curl's options, names and meanings: -o FILE, -X METHOD, -H 'Name: value' (repeatable),
// -d DATA (@FILE reads a file), --max-time S, --connect-timeout S, --max-redirs N (redirects are
// followed by default, as Twisted's getPage did; 0 turns that off), --compressed,
// --max-filesize BYTES, -w FORMAT (%{http_code} %{size_download} %{num_redirects} %{time_total}
// %{url_effective}). curl's exit codes: 0 on 2xx, 22 on another complete final response (the
// body still written), 6/7/28/47/63/8/56/1 for resolve/connect/timeout/redirects/size/
// malformed/cut-off/scheme failures, each with one line on stderr.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
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
  std::optional<std::string> output;  // -o
  std::optional<std::string> writeOut;  // -w
  std::size_t parallelMax = 16;
  std::string unixSocket;  // --unix-socket, --abstract-unix-socket (as "@name")
  PageOptions page;
};

const char kUsage[] =
    "usage: getpage [options] [URL...]\n"
    "  no URL: serve demo pages on 127.0.0.1 and fetch them all concurrently\n"
    "  -o FILE  write the body of one URL to FILE ('-': stdout), curl-style\n"
    "  -X METHOD  -H 'Name: value'  -d DATA|@FILE  --max-time S  --connect-timeout S\n"
    "  --max-redirs N  --compressed  --max-filesize BYTES  -w FORMAT  --parallel-max N\n"
    "  https: -k/--insecure  --cacert FILE  --capath DIR  -E/--cert FILE  --key FILE\n"
    "  --unix-socket PATH  --abstract-unix-socket NAME: connect there instead of the URL's host\n";

// Parses curl-style arguments. nullopt (after a message) on a usage error.
std::optional<Args> parseArgs(int argc, char** argv) {
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
    } else if (!arg.starts_with("-") || arg == "-") {
      args.urls.push_back(arg);
    } else if (!hasValue) {
      std::fprintf(stderr, "getpage: option %s needs a value\n%s", arg.c_str(), kUsage);
      return std::nullopt;
    } else if (arg == "-o" || arg == "--output") {
      args.output = value();
    } else if (arg == "-X" || arg == "--request") {
      args.page.method = value();
    } else if (arg == "-H" || arg == "--header") {
      const std::string header = value();
      const std::size_t colon = header.find(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "getpage: -H needs 'Name: value', not '%s'\n", header.c_str());
        return std::nullopt;
      }
      std::string_view v = std::string_view(header).substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      args.page.headers.add(header.substr(0, colon), std::string(v));
    } else if (arg == "-d" || arg == "--data") {
      std::string data = value();
      if (data.starts_with("@")) {
        std::ifstream file(data.substr(1), std::ios::binary);
        if (!file) {
          std::fprintf(stderr, "getpage: (26) cannot read %s\n", data.c_str() + 1);
          std::exit(26);
        }
        std::ostringstream contents;
        contents << file.rdbuf();
        data = contents.str();
      }
      args.page.body = std::move(data);
      if (args.page.method == "GET") args.page.method = "POST";
      if (!args.page.headers.has("Content-Type")) {
        args.page.headers.add("Content-Type", "application/x-www-form-urlencoded");
      }
    } else if (arg == "--max-time" || arg == "-m") {
      auto d = seconds(value());
      if (!d) return std::nullopt;
      args.page.timeout = *d;
    } else if (arg == "--connect-timeout") {
      auto d = seconds(value());
      if (!d) return std::nullopt;
      args.page.connectTimeout = *d;
    } else if (arg == "--max-redirs") {
      int n = 0;
      if (!absl::SimpleAtoi(value(), &n) || n < 0) return std::nullopt;
      args.page.maxRedirects = n;
      args.page.followRedirects = n > 0;
    } else if (arg == "--max-filesize") {
      if (!absl::SimpleAtoi(value(), &args.page.maxSize)) return std::nullopt;
    } else if (arg == "-w" || arg == "--write-out") {
      args.writeOut = value();
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

// -w: curl's %{variable}s and \n.
std::string expandWriteOut(const std::string& format, int status, std::size_t bytes,
                           int redirects, absl::Duration total, const std::string& url) {
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format.compare(i, 2, "\\n") == 0) {
      out += '\n';
      ++i;
    } else if (format.compare(i, 2, "%{") == 0 && format.find('}', i) != std::string::npos) {
      const std::size_t end = format.find('}', i);
      const std::string name = format.substr(i + 2, end - i - 2);
      if (name == "http_code" || name == "response_code") {
        out += absl::StrFormat("%03d", status);
      } else if (name == "size_download") {
        out += absl::StrCat(bytes);
      } else if (name == "num_redirects") {
        out += absl::StrCat(redirects);
      } else if (name == "time_total") {
        out += absl::StrFormat("%.6f", absl::ToDoubleSeconds(total));
      } else if (name == "url_effective") {
        out += url;
      }
      i = end;
    } else {
      out += format[i];
    }
  }
  return out;
}

// One URL, curl-style: the body to a file, exit codes as curl's.
Deferred<int> curlMode(Args args) {
  const absl::Time start = absl::Now();
  const std::string url = args.urls.front();
  deft::web::AgentOptions agentOptions;
  agentOptions.connectTimeout = args.page.connectTimeout;
  agentOptions.tls = args.page.tls;
  agentOptions.unixSocket = args.unixSocket;
  args.page.agent = std::make_shared<deft::web::Agent>(deft::reactor(), agentOptions);
  std::optional<Page> fetched;
  std::optional<Failure> failure;
  try {
    fetched = co_await deft::web::fetchPage(url, args.page);
  } catch (...) {
    failure = Failure::fromCurrentException();
  }
  int code = 0;
  int status = 0;
  std::size_t bytes = 0;
  int redirects = 0;
  std::string effective = url;
  if (fetched) {
    Page& page = *fetched;
    status = page.status;
    bytes = page.body.size();
    redirects = page.redirects;
    effective = page.url.toString();
    FILE* out = *args.output == "-" ? stdout : std::fopen(args.output->c_str(), "wb");
    if (out == nullptr) {
      std::fprintf(stderr, "getpage: (23) cannot write %s\n", args.output->c_str());
      co_return 23;
    }
    std::fwrite(page.body.data(), 1, page.body.size(), out);
    if (out != stdout) std::fclose(out);
    if (status < 200 || status > 299) {
      code = 22;
      std::fprintf(stderr, "getpage: (22) The requested URL returned error: %d\n", status);
    }
  } else {
    code = getpage::exitCodeFor(*failure);
    std::fprintf(stderr, "%s\n", getpage::errorLine(*failure).c_str());
  }
  if (args.writeOut) {
    std::fputs(expandWriteOut(*args.writeOut, status, bytes, redirects, absl::Now() - start,
                              effective)
                   .c_str(),
               stdout);
  }
  std::fflush(stdout);
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
      return deft::web::fetchPage(args.urls[i], args.page).addBoth([rows, done, i, begin](
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
  if (args->output && args->urls.size() != 1) {
    std::fprintf(stderr, "getpage: -o takes exactly one URL\n");
    return 2;
  }

  std::shared_ptr<deft::ListeningPort> demoPort;
  if (args->urls.empty()) {
    demoPort = deft::listenTCP(deft::reactor(), 0, getpage::makeDemoSite(), {.interface = "127.0.0.1"});
    const std::string base = absl::StrCat("http://127.0.0.1:", demoPort->getHost().port());
    std::printf("serving demo pages on %s/ (no URL given)\n\n", base.c_str());
    for (const std::string& path : getpage::demoPaths()) args->urls.push_back(base + path);
  }

  int code = 0;
  deft::reactor().callWhenRunning([&] {
    Deferred<int> run = args->output ? curlMode(*args) : fetchAll(*args);
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
