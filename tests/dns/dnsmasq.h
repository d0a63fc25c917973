// A real DNS server for resolver tests: dnsmasq on 127.0.0.1 at a free port (another one tried
// when the port turns out to be taken), answering only from records the test gives it
// (--no-resolv --no-hosts), stopped when this object goes.

#ifndef DEFT_TESTS_DNS_DNSMASQ_H_
#define DEFT_TESTS_DNS_DNSMASQ_H_

#include <cstdint>
#include <string>
#include <vector>

namespace deft::testing {

class Dnsmasq {
 public:
  // `hostsFile` lines ("10.0.0.1 web.test"); `extraArguments` such as "--cname=a.test,b.test".
  // Names under .test that are not in the records get NXDOMAIN; others are REFUSED (no upstream).
  Dnsmasq(const std::vector<std::string>& hostsFile, const std::vector<std::string>& extraArguments);
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;
  ~Dnsmasq();

  // "127.0.0.1:PORT", for CaresResolver::Options::servers.
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

 private:
  // Starts dnsmasq on `port`; false if it exits (the port was taken) or never answers.
  bool start(std::uint16_t port, const std::vector<std::string>& extraArguments);

  int pid_ = -1;
  std::uint16_t port_ = 0;
  std::string hostsPath_;
};

// A UDP socket bound to a free port on 127.0.0.1; the port goes to `*port`.
int bindLoopbackUdp(std::uint16_t* port);

// A free UDP port on 127.0.0.1 (free when asked: bound, read, released).
std::uint16_t freeUdpPort();

}  // namespace deft::testing

#endif  // DEFT_TESTS_DNS_DNSMASQ_H_
