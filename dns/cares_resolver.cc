#include "dns/cares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/errors.h"
#include "reactor/reactor.h"
#include "strings/str_cat.h"

namespace deft {
namespace {

Failure failureFor(int status, const std::string& name) {
  const std::string where = absl::StrCat(name, " (", ares_strerror(status), ")");
  switch (status) {
    case ARES_ENOTFOUND:
      return Failure(DNSNameError("no such host: " + where));
    case ARES_ENODATA:
      return Failure(DNSNoDataError("no address of that kind for " + where));
    // c-ares 1.18's getaddrinfo reports SERVFAIL and REFUSED answers (and an unreachable
    // server) all as ECONNREFUSED, "could not contact DNS servers": one error for the lot.
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ECONNREFUSED:
      return Failure(DNSServerError("DNS server failed, refused or was unreachable for " + where));
    case ARES_ETIMEOUT:
      return Failure(DNSQueryTimeoutError("DNS lookup timed out for " + where));
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return Failure(CancelledError("DNS lookup cancelled for " + where));
    default:
      return Failure(DNSLookupError("could not resolve " + where));
  }
}

std::string addressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address->sa_family == AF_INET) {
    // By hand: glibc's inet_ntop goes through sprintf, which was most of the resolver's own CPU.
    const auto* bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
    char* out = text;
    for (int i = 0; i < 4; ++i) {
      unsigned value = bytes[i];
      if (value >= 100) *out++ = static_cast<char>('0' + value / 100);
      if (value >= 10) *out++ = static_cast<char>('0' + value / 10 % 10);
      *out++ = static_cast<char>('0' + value % 10);
      if (i < 3) *out++ = '.';
    }
    return std::string(text, out);
  } else if (address->sa_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                sizeof text);
  }
  return text;
}

// Whether `name` could be an IP literal: only hex digits, dots, colons (and '%' for a scope).
// Host names almost never are, and parsing them as addresses costs more than this look.
bool mightBeLiteral(std::string_view name) {
  for (char c : name) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.' && c != ':' && c != '%') {
      return false;
    }
  }
  return true;
}

}  // namespace

// One lookup. c-ares owns it from ares_getaddrinfo until its callback (which c-ares always makes,
// once, even on ares_destroy); the Deferred may be fired before that (cancel, deadline), in which
// case the answer, when it comes, is dropped.
struct CaresResolver::Query {
  CaresResolver* resolver;
  std::string name;
  int family = 0;
  // Optional only so that a Query is not born with a Deferred of its own to throw away.
  std::optional<Deferred<std::vector<std::string>>> result;
  absl::Time deadline;
  Query* older = nullptr;  // neighbours in the deadline list, while hasDeadline
  Query* newer = nullptr;
  bool hasDeadline = false;
  bool abandoned = false;  // the Deferred has fired already (cancelled or past its deadline)
  int status = ARES_SUCCESS;
  std::vector<std::string> addresses;
};

// A socket c-ares opened, watched by the reactor for as long as c-ares wants.
class CaresResolver::Socket final : public FileDescriptor {
 public:
  Socket(CaresResolver& resolver, int fd) : resolver_(resolver), fd_(fd) {}
  int fileno() const override { return fd_; }
  void doRead() override { resolver_.process(fd_, ARES_SOCKET_BAD); }
  void doWrite() override { resolver_.process(ARES_SOCKET_BAD, fd_); }

 private:
  CaresResolver& resolver_;
  int fd_;
};

CaresResolver::CaresResolver(Reactor& reactor) : CaresResolver(reactor, Options{}) {}

CaresResolver::CaresResolver(Reactor& reactor, Options options)
    : reactor_(reactor), options_(std::move(options)) {
  static std::once_flag initialised;
  std::call_once(initialised, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options aresOptions{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  aresOptions.sock_state_cb = [](void* data, ares_socket_t fd, int readable, int writable) {
    onSocketState(data, fd, readable, writable);
  };
  aresOptions.sock_state_cb_data = this;
  aresOptions.timeout = static_cast<int>(absl::ToInt64Milliseconds(options_.timeout));
  aresOptions.tries = options_.tries;
  std::string lookups = "b";  // DNS only ("bind"): the hosts file is read here, before c-ares
  aresOptions.lookups = lookups.data();
  if (const int status = ares_init_options(&channel_, &aresOptions, mask); status != ARES_SUCCESS) {
    throw std::runtime_error(absl::StrCat("c-ares initialisation failed: ", ares_strerror(status)));
  }
  if (!options_.servers.empty()) {
    const std::string csv = absl::StrJoin(options_.servers, ",");
    if (const int status = ares_set_servers_ports_csv(channel_, csv.c_str());
        status != ARES_SUCCESS) {
      ares_destroy(channel_);
      throw std::runtime_error(
          absl::StrCat("bad DNS servers \"", csv, "\": ", ares_strerror(status)));
    }
  }
}

CaresResolver::~CaresResolver() {
  destroying_ = true;
  if (timer_ && timer_->active()) timer_->cancel();
  if (deadlineTimer_ && deadlineTimer_->active()) deadlineTimer_->cancel();
  ares_destroy(channel_);  // calls back every lookup in c-ares with ARES_EDESTRUCTION
  std::vector<Query*> answered = std::move(answered_);
  for (Query* query : answered) finish(query);
  for (Query* query : waiting_) {  // never handed to c-ares: cancelled the same way
    query->status = ARES_EDESTRUCTION;
    complete(query);
  }
  waiting_.clear();
  for (auto& [fd, socket] : sockets_) {
    reactor_.removeReader(socket.get());
    reactor_.removeWriter(socket.get());
  }
}

Deferred<std::vector<std::string>> CaresResolver::lookupIPv4(std::string_view name) {
  return lookup(name, AF_INET);
}
Deferred<std::vector<std::string>> CaresResolver::lookupIPv6(std::string_view name) {
  return lookup(name, AF_INET6);
}
Deferred<std::vector<std::string>> CaresResolver::lookupAll(std::string_view name) {
  return lookup(name, AF_UNSPEC);
}

Deferred<std::string> CaresResolver::getHostByName(std::string_view name) {
  return lookupAll(name).addCallback(
      [](std::vector<std::string> addresses) { return addresses.front(); });
}

Deferred<std::vector<Address>> CaresResolver::resolveHost(std::string_view host,
                                                          std::uint16_t port) {
  return lookupAll(host).addCallback([port](std::vector<std::string> addresses) {
    std::vector<Address> result;
    for (const std::string& text : addresses) {
      if (std::optional<Address> address = Address::fromLiteral(text, port)) {
        result.push_back(*address);
      }
    }
    return result;
  });
}

Deferred<std::vector<std::string>> CaresResolver::lookup(std::string_view name, int family) {
  using Result = std::vector<std::string>;
  if (name.empty()) return fail<Result>(DNSLookupError("cannot resolve an empty host name"));
  if (std::optional<Address> literal = mightBeLiteral(name) ? Address::fromLiteral(name, 0)
                                                             : std::nullopt) {
    if (family == AF_UNSPEC || literal->family() == family) {
      return succeed(Result{literal->host()});
    }
    return fail<Result>(DNSNoDataError(StrCat("no address of that kind for ", name)));
  }
  if (isLocalhostName(name)) return succeed(loopbackHosts(family));
  if (isInvalidName(name)) {
    return fail<Result>(DNSNameError(StrCat(name, " does not exist (.invalid, RFC 6761)")));
  }
  if (options_.useHostsFile) {
    if (std::vector<std::string> known = fromHostsFile(name, family); !known.empty()) {
      return succeed(std::move(known));
    }
  }
  auto* query = new Query;
  query->resolver = this;
  query->name = std::string(name);
  // Cancelling abandons the query: the canceller does not fire it, so cancel() errbacks with
  // CancelledError at once; c-ares's answer, when it comes, is dropped.
  query->result.emplace([query](Deferred<Result>&) {
    query->abandoned = true;
    query->resolver->forgetDeadline(query);
  });
  query->deadline = reactor_.seconds() + options_.deadline;
  query->older = newest_;
  (newest_ != nullptr ? newest_->newer : oldest_) = query;
  newest_ = query;
  query->hasDeadline = true;
  armDeadlineTimer();
  query->family = family;
  Deferred<Result> result = *query->result;
  ++pending_;
  waiting_.push_back(query);
  startWaiting();
  afterAresCall(/*queriesOnlyStarted=*/true);  // answered at once? fire it now, after the call
  return result;
}

void CaresResolver::startWaiting() {
  while (inFlight_ < options_.maxQueriesInFlight && !waiting_.empty()) {
    Query* query = waiting_.front();
    waiting_.pop_front();
    if (query->abandoned) {  // cancelled or past its deadline while it waited
      complete(query);
      continue;
    }
    ++inFlight_;
    ares_addrinfo_hints hints{};
    hints.ai_family = query->family;
    hints.ai_flags = ARES_AI_NOSORT;  // RFC 6724 sorting opens a socket per address: not here
    ares_getaddrinfo(channel_, query->name.c_str(), nullptr, &hints, &CaresResolver::onAddrInfo,
                     query);
  }
}

std::vector<std::string> CaresResolver::fromHostsFile(std::string_view name, int family) {
  struct stat info {};
  const std::int64_t modified =
      ::stat(options_.hostsFile.c_str(), &info) == 0
          ? static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec
          : 0;
  if (modified != hostsModified_) {
    hostsModified_ = modified;
    hosts_.clear();
    std::ifstream file(options_.hostsFile);
    for (std::string line; std::getline(file, line);) {
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::string ip, host;
      if (!(words >> ip) || !Address::fromLiteral(ip, 0)) continue;
      while (words >> host) hosts_[absl::AsciiStrToLower(host)].push_back(ip);
    }
  }
  auto it = hosts_.find(absl::AsciiStrToLower(std::string(name)));
  if (it == hosts_.end()) return {};
  std::vector<std::string> v4, v6;
  for (const std::string& ip : it->second) {
    (ip.find(':') == std::string::npos ? v4 : v6).push_back(ip);
  }
  if (family == AF_INET) return v4;
  if (family == AF_INET6) return v6;
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

void CaresResolver::onAddrInfo(void* data, int status, int, ares_addrinfo* result) {
  auto* query = static_cast<Query*>(data);
  query->status = status;
  if (status == ARES_SUCCESS && result != nullptr) {
    // IPv4 addresses first, then IPv6, each once, built straight into the result.
    std::vector<std::string>& addresses = query->addresses;
    for (int family : {AF_INET, AF_INET6}) {
      for (ares_addrinfo_node* node = result->nodes; node != nullptr; node = node->ai_next) {
        if (node->ai_family != family) continue;
        std::string text = addressText(node->ai_addr);
        if (!text.empty() && std::find(addresses.begin(), addresses.end(), text) == addresses.end()) {
          addresses.push_back(std::move(text));
        }
      }
    }
    if (addresses.empty()) query->status = ARES_ENODATA;
  }
  if (result != nullptr) ares_freeaddrinfo(result);
  // Never fire from inside c-ares: queue it for afterAresCall().
  query->resolver->answered_.push_back(query);
}

void CaresResolver::forgetDeadline(Query* query) {
  if (!query->hasDeadline) return;
  (query->older != nullptr ? query->older->newer : oldest_) = query->newer;
  (query->newer != nullptr ? query->newer->older : newest_) = query->older;
  query->older = query->newer = nullptr;
  query->hasDeadline = false;
}

void CaresResolver::armDeadlineTimer() {
  if (oldest_ == nullptr || (deadlineTimer_ && deadlineTimer_->active())) return;
  deadlineTimer_ = reactor_.callLater(oldest_->deadline - reactor_.seconds(),
                                      [this] { expireDeadlines(); });
}

// The deadline timer: fails the lookups past their deadline, then waits for the next oldest.
// (It may fire for a lookup that has finished since; it then just re-arms.)
void CaresResolver::expireDeadlines() {
  const absl::Time now = reactor_.seconds();
  while (oldest_ != nullptr && oldest_->deadline <= now) {
    Query* query = oldest_;
    forgetDeadline(query);
    query->abandoned = true;
    Deferred<std::vector<std::string>> result = std::move(*query->result);
    result.errback(Failure(DNSQueryTimeoutError(absl::StrCat(
        "DNS lookup timed out for ", query->name, " after ", absl::FormatDuration(options_.deadline)))));
  }
  armDeadlineTimer();
}

void CaresResolver::finish(Query* query) {
  --inFlight_;
  complete(query);
}

void CaresResolver::complete(Query* query) {
  --pending_;
  forgetDeadline(query);
  if (!query->abandoned) {
    Deferred<std::vector<std::string>> result = std::move(*query->result);
    if (query->status == ARES_SUCCESS) {
      result.callback(std::move(query->addresses));
    } else {
      result.errback(failureFor(query->status, query->name));
    }
  }
  delete query;
}

void CaresResolver::process(int readFd, int writeFd) {
  closedSockets_.clear();
  ares_process_fd(channel_, static_cast<ares_socket_t>(readFd), static_cast<ares_socket_t>(writeFd));
  afterAresCall();
}

void CaresResolver::afterAresCall(bool queriesOnlyStarted) {
  // Callbacks may start lookups, which come back here: the outermost call fires everything,
  // by index, so the vector keeps its capacity and nothing is fired twice.
  if (draining_) return;
  draining_ = true;
  for (std::size_t next = 0; next < answered_.size();) {
    finish(answered_[next++]);
    // Room for waiting lookups (which may answer at once, appending here).
    if (next == answered_.size() && !destroying_) startWaiting();
  }
  answered_.clear();
  draining_ = false;
  if (destroying_) return;
  if (queriesOnlyStarted && timer_ && timer_->active()) {
    // A query just sent first times out `timeout` from now: no need to ask c-ares (whose
    // ares_timeout walks every outstanding query) unless that is sooner than the timer.
    const absl::Time due = reactor_.seconds() + options_.timeout;
    if (due >= aresTimerDue_) return;
  }
  timeval next{};
  if (ares_timeout(channel_, nullptr, &next) == nullptr) {
    if (timer_ && timer_->active()) timer_->cancel();
    return;
  }
  // Move the timer only when c-ares needs it sooner: new queries' timeouts are usually later than
  // the one already armed, and a timer that fires early only finds nothing to do and re-arms.
  const absl::Duration wait = absl::DurationFromTimeval(next);
  const absl::Time due = reactor_.seconds() + wait;
  if (timer_ && timer_->active()) {
    if (due < aresTimerDue_) {
      timer_->reset(wait);
      aresTimerDue_ = due;
    }
  } else {
    timer_ = reactor_.callLater(wait, [this] { process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); });
    aresTimerDue_ = due;
  }
}

void CaresResolver::onSocketState(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<CaresResolver*>(data);
  auto it = self->sockets_.find(fd);
  if (it == self->sockets_.end()) {
    if (!readable && !writable) return;
    it = self->sockets_.emplace(fd, std::make_unique<Socket>(*self, fd)).first;
  }
  Socket* socket = it->second.get();
  if (readable) self->reactor_.addReader(socket); else self->reactor_.removeReader(socket);
  if (writable) self->reactor_.addWriter(socket); else self->reactor_.removeWriter(socket);
  if (!readable && !writable) {
    // c-ares is about to close it: unwatched first (the reactor skips it for the rest of the
    // batch), freed after the current call into c-ares has returned.
    self->closedSockets_.push_back(std::move(it->second));
    self->sockets_.erase(it);
  }
}

}  // namespace deft
