// File: tcp/reconnecting_client_factory.h
//
// ReconnectingClientFactory: a ClientFactory that connects again whenever the connection fails
// or is lost, waiting longer each time (Twisted's ReconnectingClientFactory).
//
//   class Client : public ReconnectingClientFactory {
//     std::unique_ptr<Protocol> buildProtocol(const Address&) override {
//       resetDelay();                         // connected: the next retry starts quick again
//       return std::make_unique<MyProtocol>();
//     }
//   };
//
// The delay starts at initialDelay, grows by `factor` per retry up to maxDelay, with random
// jitter (so many clients do not come back in lockstep). stopTrying() ends it; maxRetries bounds
// it. Subclasses that override clientConnectionFailed/Lost call the base to keep retrying.

#ifndef DEFT_TCP_RECONNECTING_CLIENT_FACTORY_H_
#define DEFT_TCP_RECONNECTING_CLIENT_FACTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "absl/time/time.h"
#include "deferred/reactor_time.h"
#include "protocol/protocol.h"

namespace deft {

class ReconnectingClientFactory : public ClientFactory {
 public:
  absl::Duration initialDelay = absl::Seconds(1);
  absl::Duration maxDelay = absl::Hours(1);
  double factor = 2.7182818284590451;   // e
  double jitter = 0.11962656472;        // as Twisted: a spread of about 12%
  std::optional<int> maxRetries;
  // The clock retries are scheduled on: the connector's reactor unless set (a Clock, in tests).
  IReactorTime* clock = nullptr;

  void clientConnectionFailed(Connector& connector, const Failure& reason) override;
  void clientConnectionLost(Connector& connector, const Failure& reason) override;

  // Schedules connector.connect() after the next delay, unless stopped or out of retries.
  void retry(Connector& connector);
  // Back to initialDelay, zero retries: call on a successful connection.
  void resetDelay();
  // No more retries; cancels a pending one.
  void stopTrying();

  int retries() const { return retries_; }
  absl::Duration delay() const { return delay_; }
  bool continueTrying() const { return continueTrying_; }

 private:
  int retries_ = 0;
  absl::Duration delay_ = absl::Seconds(1);
  bool delayInitialized_ = false;
  bool continueTrying_ = true;
  std::shared_ptr<IDelayedCall> pendingRetry_;
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace deft

#endif  // DEFT_TCP_RECONNECTING_CLIENT_FACTORY_H_
