#include "examples/getpage/curl_mode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "deferred/deferred_list.h"
#include "deferred/deferred_lock.h"
#include "examples/getpage/exit_codes.h"
#include "examples/getpage/progress.h"
#include "examples/getpage/url_glob.h"
#include "examples/getpage/write_out.h"
#include "http/message.h"
#include "net/errors.h"
#include "reactor/looping_call.h"
#include "reactor/reactor.h"
#include "web_client/cookie_jar.h"

namespace getpage {
namespace {

using deft::Deferred;
using deft::Failure;
using deft::web::Page;
using deft::web::PageOptions;

// One transfer to make: a URL (its globs expanded) and where its body goes: a path, "-" for
// stdout, "" for the URL's own name (-O).
struct Planned {
  std::string url;
  std::string output;
  std::size_t argument = 0;  // which of the command line's URLs (a glob is one): %{urlnum}
};

// -Z's meter and what redraws it from the loop, every half second.
struct SharedMeter {
  std::shared_ptr<ParallelMeter> meter;
  std::optional<deft::LoopingCall> redraw;
};

// What a group's transfers share.
struct Group {
  Options options;
  bool showErrors = true;
  bool verbose = false;
  bool meter = false;     // curl's progress meter, on stderr
  bool meterBar = false;  // -#
  // -Z's, instead: one for the whole command line (its groups too), as curl's.
  std::shared_ptr<SharedMeter> sharedMeter;
  std::shared_ptr<ParallelMeter> parallelMeter;  // sharedMeter's, when this group draws it
  std::shared_ptr<deft::web::CookieJar> jar;
  std::optional<int> firstFailure;  // with -Z: the exit code
};

// The response's head as -i and -I print it.
std::string headText(const Page& page) {
  std::string head = absl::StrCat("HTTP/1.1 ", page.status, page.reason.empty() ? "" : " ",
                                  page.reason, "\r\n");
  for (const auto& [name, value] : page.headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  head += "\r\n";
  return head;
}

// -O's file name: the last segment of the URL's path ("" when it has none).
std::string remoteName(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  const std::size_t scheme = path.find("://");
  path = scheme == std::string::npos ? path : path.substr(scheme + 3);
  const std::size_t slash = path.find('/');
  return slash == std::string::npos ? "" : path.substr(path.rfind('/') + 1);
}

// curl -v's trace of one exchange: the connection, "> " the request's head, "< " the response's.
void trace(const deft::web::Response& response) {
  std::string text;
  if (response.peer()) {
    absl::StrAppend(&text, "* Connected to ", response.url().host, " (", response.peer()->host(),
                    ") port ", response.peer()->port(), "\n");
  }
  const deft::http::RequestHead& request = response.request();
  absl::StrAppend(&text, "> ", request.method, " ", request.target, " HTTP/1.1\r\n");
  for (const auto& [name, value] : request.headers) absl::StrAppend(&text, "> ", name, ": ", value, "\r\n");
  text += "> \r\n";
  absl::StrAppend(&text, "< HTTP/", response.version().major, ".", response.version().minor, " ",
                  response.code(), response.phrase().empty() ? "" : " ", response.phrase(), "\r\n");
  for (const auto& [name, value] : response.headers()) absl::StrAppend(&text, "< ", name, ": ", value, "\r\n");
  text += "< \r\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

// Whether --retry tries this outcome again.
bool transient(const Options& args, const std::optional<Page>& fetched, const std::optional<Failure>& failure) {
  if (fetched) {
    const int s = fetched->status;
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504 ||
           (args.retryAllErrors && (args.fail || args.failWithBody) && s >= 400);
  }
  if (args.retryAllErrors) return true;
  if (failure->check<deft::TimeoutError>() || failure->check<deft::TCPTimedOutError>()) return true;
  return args.retryConnRefused && failure->check<deft::ConnectionRefusedError>();
}

// A date as curl's -z reads it: what HTTP and cookies use ("Sun, 06 Nov 1994 08:49:37 GMT" and
// kin), with or without the time (midnight then), or YYYYMMDD. Time zones other than GMT are not
// applied.
std::optional<absl::Time> parseCurlDate(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (!digits.empty()) {
      break;
    }
  }
  if (digits.size() == 8 && text.find_first_not_of(" ") == text.find(digits)) {
    int year = 0, month = 0, day = 0;
    if (absl::SimpleAtoi(digits.substr(0, 4), &year) && absl::SimpleAtoi(digits.substr(4, 2), &month) &&
        absl::SimpleAtoi(digits.substr(6, 2), &day)) {
      const absl::CivilDay civil(year, month, day);
      if (civil.month() == month && civil.day() == day) return absl::FromCivil(civil, absl::UTCTimeZone());
    }
    return std::nullopt;
  }
  if (std::optional<absl::Time> when = deft::web::parseCookieDate(text)) return when;
  return deft::web::parseCookieDate(std::string(text) + " 00:00:00");
}

// -z and --etag-compare: the request's conditions.
void conditions(const Options& args, PageOptions& page, bool showErrors) {
  if (args.etagCompare) {
    std::ifstream file(*args.etagCompare, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    if (std::optional<std::string> tag = contents.str()) {
      const std::string line = tag->substr(0, tag->find_first_of("\r\n"));
      if (!line.empty()) page.headers.set("If-None-Match", line);
    }
  }
  if (!args.timeCondition) return;
  std::string_view condition = *args.timeCondition;
  const bool unmodified = condition.starts_with("-");
  if (unmodified || condition.starts_with("+") || condition.starts_with("=")) condition.remove_prefix(1);
  std::optional<absl::Time> when;
  struct stat info {};
  if (::stat(std::string(condition).c_str(), &info) == 0) {
    when = absl::FromUnixSeconds(info.st_mtime);
  } else {
    when = parseCurlDate(condition);
  }
  if (!when) {
    if (showErrors) std::fprintf(stderr, "Warning: Illegal date format for -z, --time-cond (and not a file name).\n");
    return;
  }
  page.headers.set(unmodified ? "If-Unmodified-Since" : "If-Modified-Since",
                   absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", *when, absl::UTCTimeZone()));
}

// -R: the file's modification time from the response's Last-Modified.
void setRemoteTime(const std::string& path, const Page& page) {
  const std::optional<std::string_view> modified = page.headers.get("Last-Modified");
  if (!modified) return;
  const std::optional<absl::Time> when = deft::web::parseCookieDate(*modified);
  if (!when) return;
  const timespec times[2] = {{absl::ToUnixSeconds(*when), 0}, {absl::ToUnixSeconds(*when), 0}};
  ::utimensat(AT_FDCWD, path.c_str(), times, 0);
}

Deferred<int> transfer(std::shared_ptr<Group> group, Planned planned, std::size_t index) {
  Options& args = group->options;
  const bool showErrors = group->showErrors;
  const absl::Time start = absl::Now();
  std::string url = planned.url;
  PageOptions page = args.page;
  args.request.apply(url, page);
  if (!args.cookieString.empty()) page.headers.add("Cookie", args.cookieString);
  // The last exchange (a handle: its request and connection milestones are read from it for -w),
  // when its head came, and how many connections the transfer opened.
  struct Exchanges {
    std::optional<deft::web::Response> last;
    absl::Time headAt;
    int connects = 0;
    // The response of the attempt's last TLS handshake: its certificates are -w's %{certs}, as
    // curl keeps those of the last handshake, across redirects, until a retry starts again.
    std::optional<deft::web::Response> handshake;
  };
  auto exchanges = std::make_shared<Exchanges>();
  const absl::Time clockStart = deft::reactor().seconds();
  const bool verbose = group->verbose;
  page.onResponse = [exchanges, verbose](const deft::web::Response& response) {
    exchanges->headAt = absl::Now();
    exchanges->last = response;
    if (response.connectedAt()) ++exchanges->connects;
    if (response.connectedAt() && response.url().scheme == "https") exchanges->handshake = response;
    if (verbose) trace(response);
  };
  std::string output = planned.output;
  Transfer transfer;
  transfer.url = url;
  transfer.effectiveUrl = url;
  transfer.method = page.method;
  transfer.urlNum = planned.argument;
  if (output.empty()) {
    output = remoteName(url);
    if (output.empty()) {
      if (showErrors) std::fprintf(stderr, "getpage: Remote file name has no length\n");
      co_return 23;
    }
  }
  if (output != "-" && !args.outputDir.empty() && !output.starts_with("/")) {
    output = args.outputDir + "/" + output;
  }
  if (output != "-" && args.createDirs) {
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(output).parent_path(), ignored);
  }
  transfer.filename = output == "-" ? "" : output;
  conditions(args, page, showErrors);
  // -C: from an offset, or (-C -) from what the file holds already.
  std::uint64_t offset = 0;
  if (args.resumeFrom) {
    struct stat info {};
    offset = *args.resumeFrom >= 0 ? static_cast<std::uint64_t>(*args.resumeFrom)
             : output != "-" && ::stat(output.c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size)
                                                                  : 0;
    if (offset > 0) page.headers.set("Range", absl::StrCat("bytes=", offset, "-"));
  }
  // The meter: on a terminal, when the body does not go to it; -Z's, for every transfer at once.
  std::shared_ptr<ProgressMeter> meter;
  if (group->meter && (output != "-" || !::isatty(STDOUT_FILENO))) {
    meter = std::make_shared<ProgressMeter>(stderr, group->meterBar, start);
    page.onProgress = [meter, offset](std::uint64_t received, std::optional<std::uint64_t> total) {
      meter->update(offset + received, total ? std::optional(*total + offset) : std::nullopt, absl::Now());
    };
  }
  const std::shared_ptr<ParallelMeter> parallelMeter = group->parallelMeter;
  const std::size_t meterId = parallelMeter ? parallelMeter->add() : 0;
  if (parallelMeter) {
    page.onProgress = [parallelMeter, meterId](std::uint64_t received, std::optional<std::uint64_t> total) {
      parallelMeter->update(meterId, received, total, absl::Now());
    };
  }
  // --retry: transient failures (a timeout; HTTP 408, 429, 500, 502, 503, 504; more when asked)
  // are tried again, after 1 s doubling to 10 min, or --retry-delay, or the server's Retry-After.
  std::optional<Page> fetched;
  std::optional<Failure> failure;
  int retriesLeft = args.retries;
  absl::Duration delay = args.retryDelay.value_or(absl::Seconds(1));
  const absl::Time retryDeadline = start + args.retryMaxTime;
  for (;;) {
    fetched.reset();
    failure.reset();
    exchanges->handshake.reset();
    try {
      fetched = co_await deft::web::fetchPage(url, page);
    } catch (...) {
      failure = Failure::fromCurrentException();
    }
    if (retriesLeft == 0 || !transient(args, fetched, failure)) break;
    absl::Duration wait = delay;
    if (fetched) {
      int after = 0;
      if (absl::SimpleAtoi(std::string(fetched->headers.get("Retry-After").value_or("")), &after) && after >= 0) {
        wait = absl::Seconds(after);
      }
    }
    if (absl::Now() + wait > retryDeadline) break;
    // What failed went to stdout as it came, as curl's does (a file is rewritten on the retry).
    if (fetched && output == "-" && !(args.fail || args.failWithBody)) {
      if (args.includeHead || args.head) std::fputs(headText(*fetched).c_str(), stdout);
      std::fwrite(fetched->body.data(), 1, fetched->body.size(), stdout);
      std::fflush(stdout);
    }
    if (meter) meter->finish(absl::Now());
    if (parallelMeter) parallelMeter->retry(meterId);
    if (showErrors) {
      std::fprintf(stderr, "Warning: Problem : %s. Will retry in %g seconds. %d retries left.\n",
                   fetched ? "HTTP error" : "timeout", absl::ToDoubleSeconds(wait), retriesLeft);
    }
    --retriesLeft;
    co_await deft::deferLater(deft::reactor(), wait, [] {});
    if (!args.retryDelay) delay = std::min(2 * delay, absl::Minutes(10));
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
    if (fetched->peer) {
      transfer.remoteIp = fetched->peer->host();
      transfer.remotePort = fetched->peer->port();
    }
    transfer.startTransfer = exchanges->headAt - start;
    // curl's timings, from the start: each milestone of the last exchange (0 for a step a reused
    // connection skipped); time_redirect until the last request went out.
    const deft::web::Response& last = *exchanges->last;
    auto since = [clockStart](std::optional<absl::Time> t) {
      return !t || *t == absl::InfinitePast() ? absl::ZeroDuration()
                                              : std::max(absl::ZeroDuration(), *t - clockStart);
    };
    transfer.timeNamelookup = since(last.resolvedAt());
    transfer.timeConnect = since(last.tcpConnectedAt());
    transfer.timeAppconnect = fetched->url.scheme == "https" ? since(last.connectedAt()) : absl::ZeroDuration();
    transfer.timePretransfer = since(last.sentAt());
    transfer.timeRedirect = fetched->redirects > 0 ? since(last.sentAt()) : absl::ZeroDuration();
    transfer.numConnects = exchanges->connects;
    if (exchanges->handshake) transfer.certificates = &exchanges->handshake->peerCertificates();
    if (fetched->local) {
      transfer.localIp = fetched->local->host();
      transfer.localPort = fetched->local->port();
    }
    transfer.responseHeaders = &fetched->headers;
    transfer.referer = std::string(page.headers.get("Referer").value_or(""));
    transfer.uploadBytes = page.bodyStream ? page.bodyStream->length.value_or(0) : page.body.size();
    if (args.writeOut) {  // serialized again only when -w may ask for %{size_request}
      try {
        transfer.requestBytes = deft::http::serialize(last.request()).size() + transfer.uploadBytes;
      } catch (...) {
      }
    }
    if (const auto location = fetched->headers.get("Location");
        location && fetched->status >= 300 && fetched->status < 400) {
      if (auto next = fetched->url.resolve(*location); next.ok()) transfer.redirectUrl = next->toString();
    }
    if (args.etagSave) {
      // The validator as the server gave it, quotes and all, on a line of its own.
      if (FILE* etag = std::fopen(args.etagSave->c_str(), "wb")) {
        const std::string tag(fetched->headers.get("ETag").value_or(""));
        if (!tag.empty()) std::fprintf(etag, "%s\n", tag.c_str());
        std::fclose(etag);
      }
    }
    if (args.dumpHeader) {
      FILE* dump = *args.dumpHeader == "-" ? stdout
                                           : std::fopen(args.dumpHeader->c_str(), index == 0 ? "wb" : "ab");
      if (dump != nullptr) {
        std::fwrite(head.data(), 1, head.size(), dump);
        if (dump != stdout) std::fclose(dump);
      }
    }
    if (meter) meter->finish(absl::Now());
    // A 416 to a resumed transfer means the file is whole already: no failure (curl's rule).
    const bool failed = (args.fail || args.failWithBody) && fetched->status >= 400 &&
                        !(offset > 0 && fetched->status == 416);
    // Resuming: a 206 goes after what the file holds; a 416 means it holds it all already; a
    // server that sends the whole body instead cannot resume (curl's 33).
    if (offset > 0 && fetched->status == 200 && fetched->body.size() == offset) {
      // The whole document, the size of what the file holds: it is there already (curl's rule).
    } else if (offset > 0 && fetched->status == 200) {
      result = 33;
      transfer.errorMessage = "HTTP server doesn't seem to support byte ranges. Cannot resume.";
      if (showErrors) std::fprintf(stderr, "getpage: (33) %s\n", transfer.errorMessage.c_str());
    } else if (offset > 0 && fetched->status == 416) {
      // Nothing more to fetch.
    } else if (!failed || args.failWithBody) {
      // Resuming, whatever came is added to what the file holds, as curl does.
      FILE* out = output == "-" ? stdout : std::fopen(output.c_str(), offset > 0 ? "ab" : "wb");
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
          if (args.remoteTime) setRemoteTime(output, *fetched);
        }
      }
    }
    if (failed) {
      result = 22;
      transfer.errorMessage = absl::StrCat("The requested URL returned error: ", fetched->status);
      if (showErrors) std::fprintf(stderr, "getpage: (22) %s\n", transfer.errorMessage.c_str());
    }
  } else {
    if (meter) meter->finish(absl::Now());  // the error goes on a line of its own
    result = exitCodeFor(*failure);
    transfer.errorMessage = failure->getErrorMessage();
    if (showErrors) std::fprintf(stderr, "%s\n", errorLine(*failure, url, absl::Now() - start).c_str());
  }
  if (parallelMeter) parallelMeter->done(meterId);
  transfer.exitCode = result;
  transfer.total = absl::Now() - start;
  if (args.writeOut) writeOut(*args.writeOut, transfer);
  std::fflush(stdout);
  if (result != 0 && !group->firstFailure) group->firstFailure = result;
  co_return result;
}

Deferred<int> runGroup(std::shared_ptr<Group> group, bool parallel, std::size_t parallelMax) {
  Options& args = group->options;
  // What to fetch: each URL's globs expanded, each with its -o (or -O, or stdout).
  std::vector<Planned> plans;
  for (std::size_t i = 0; i < args.urls.size(); ++i) {
    const std::string spec = i < args.outputs.size() ? args.outputs[i] : args.remoteNameAll ? "" : "-";
    if (args.globOff) {
      plans.push_back({args.urls[i], spec, i});
      continue;
    }
    absl::StatusOr<std::vector<GlobbedUrl>> urls = expandGlob(args.urls[i]);
    if (!urls.ok()) {
      if (group->showErrors) std::fprintf(stderr, "getpage: (3) %s\n", std::string(urls.status().message()).c_str());
      co_return 3;
    }
    for (GlobbedUrl& u : *urls) {
      plans.push_back(
          {std::move(u.url), spec.empty() || spec == "-" ? spec : fillHashes(spec, u.values), i});
    }
  }

  deft::web::AgentOptions agentOptions;
  agentOptions.connectTimeout = args.page.connectTimeout;
  agentOptions.tls = args.page.tls;
  agentOptions.unixSocket = args.unixSocket;
  agentOptions.connectTo = args.connectTo;
  agentOptions.addressFamily = args.addressFamily;
  // curl's proxies: the environment's, unless -x says otherwise ("" for none).
  agentOptions.proxy = deft::web::ProxySettings::fromEnvironment();
  if (args.proxy) {
    std::string proxy = *args.proxy;
    if (args.proxyUser && !proxy.empty()) {
      const std::size_t scheme = proxy.find("://");
      proxy.insert(scheme == std::string::npos ? 0 : scheme + 3, *args.proxyUser + "@");
    }
    agentOptions.proxy.httpProxy = agentOptions.proxy.httpsProxy = proxy;
  }
  if (args.noProxy) agentOptions.proxy.noProxy = *args.noProxy;
  // As many connections to a host as transfers run at once, as curl's.
  agentOptions.maxConnectionsPerHost = parallel ? parallelMax : 1;
  // curl's cookie engine: on with -b FILE or -c, a jar shared by every URL and redirect.
  if (!args.cookieFiles.empty() || args.cookieJarOut) {
    group->jar = std::make_shared<deft::web::CookieJar>(deft::web::CookieOrder::kCurl);
    for (const std::string& file : args.cookieFiles) {
      // A file that cannot be read starts an empty jar, as with curl.
      if (std::optional<std::string> text = readFileOrStdin(file)) group->jar->loadNetscape(*text);
    }
    if (args.junkSessionCookies) group->jar->clearSessionCookies();
    agentOptions.cookieJar = group->jar;
  }
  try {
    args.page.agent = std::make_shared<deft::web::Agent>(deft::reactor(), agentOptions);
  } catch (const std::invalid_argument& e) {
    if (group->showErrors) std::fprintf(stderr, "getpage: (5) %s\n", e.what());
    co_return 5;
  }
  args.page.followRedirects = args.location;
  args.page.redirectMode = deft::web::RedirectMode::kBrowser;  // curl -L's
  args.page.maxRedirects = args.maxRedirs < 0 ? std::numeric_limits<int>::max() : args.maxRedirs;

  int code = 0;
  if (!parallel) {
    for (std::size_t i = 0; i < plans.size(); ++i) {
      code = co_await transfer(group, std::move(plans[i]), i);  // curl's: the last transfer's
    }
  } else {
    // -Z's meter, unless a body goes to the terminal (curl's rule, as for one transfer's).
    const bool toTerminal = ::isatty(STDOUT_FILENO) && std::any_of(plans.begin(), plans.end(), [](const Planned& p) {
      return p.output == "-";
    });
    if (group->meter && !toTerminal) {
      SharedMeter& shared = *group->sharedMeter;
      if (!shared.meter) {
        shared.meter = std::make_shared<ParallelMeter>(stderr, absl::Now());
        shared.redraw.emplace(deft::reactor(), [meter = shared.meter] { meter->tick(absl::Now()); });
        shared.redraw->start(absl::Milliseconds(500));
      }
      group->parallelMeter = shared.meter;
    }
    group->meter = false;  // not one per transfer
    deft::DeferredSemaphore slots(parallelMax);
    std::vector<Deferred<int>> transfers;
    transfers.reserve(plans.size());
    for (std::size_t i = 0; i < plans.size(); ++i) {
      transfers.push_back(slots.run([group, planned = std::move(plans[i]), i]() mutable {
        return transfer(group, std::move(planned), i);
      }));
    }
    co_await deft::DeferredList(std::move(transfers), {.consumeErrors = true});
    code = group->firstFailure.value_or(0);
  }
  if (args.cookieJarOut) {
    const std::string text = group->jar->toNetscape();
    FILE* out = *args.cookieJarOut == "-" ? stdout : std::fopen(args.cookieJarOut->c_str(), "wb");
    if (out == nullptr) {
      if (group->showErrors) {
        std::fprintf(stderr, "getpage: WARNING: failed to save cookies in %s\n", args.cookieJarOut->c_str());
      }
    } else {
      std::fwrite(text.data(), 1, text.size(), out);
      out == stdout ? std::fflush(out) : std::fclose(out);
    }
  }
  co_return code;
}

}  // namespace

Deferred<int> runCurl(CommandLine line) {
  int code = 0;
  auto sharedMeter = std::make_shared<SharedMeter>();
  for (Options& options : line.groups) {
    auto group = std::make_shared<Group>();
    group->sharedMeter = sharedMeter;
    group->options = std::move(options);
    group->showErrors = line.showErrors();
    group->verbose = line.verbose;
    // curl's meter goes to stderr unless -s; getpage draws it on a terminal only (-Z's, for all
    // transfers at once, is made by runGroup).
    group->meter = !line.silent && !line.noProgressMeter && ::isatty(STDERR_FILENO);
    group->meterBar = line.progressBar;
    code = co_await runGroup(group, line.parallel, line.parallelMax);
  }
  if (sharedMeter->meter) {
    sharedMeter->redraw->stop();
    sharedMeter->meter->finish(absl::Now());
  }
  co_return code;
}

}  // namespace getpage
