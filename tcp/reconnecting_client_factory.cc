#include "tcp/reconnecting_client_factory.h"

#include <algorithm>

#include "reactor/reactor.h"
#include "tcp/tcp.h"

namespace deft {

void ReconnectingClientFactory::clientConnectionFailed(Connector& connector, const Failure&) {
  if (continueTrying_) retry(connector);
}

void ReconnectingClientFactory::clientConnectionLost(Connector& connector, const Failure&) {
  if (continueTrying_) retry(connector);
}

void ReconnectingClientFactory::retry(Connector& connector) {
  if (!continueTrying_) return;
  if (!delayInitialized_) {
    delay_ = initialDelay;
    delayInitialized_ = true;
  }
  ++retries_;
  if (maxRetries && retries_ > *maxRetries) return;
  delay_ = std::min(delay_ * factor, maxDelay);
  if (jitter > 0) {
    std::normal_distribution<double> spread(1.0, jitter);
    delay_ = std::max(absl::ZeroDuration(), delay_ * spread(random_));
  }
  // The connector's own reactor, never the process-wide one behind the caller's back.
  IReactorTime& time = clock != nullptr ? *clock : static_cast<IReactorTime&>(connector.reactor());
  // The reactor let go of the connector when its attempt ended: the pending retry keeps it.
  std::shared_ptr<Connector> target = connector.shared_from_this();
  pendingRetry_ = time.callLater(delay_, [this, target] {
    pendingRetry_.reset();
    if (continueTrying_ && target->state() == Connector::State::kDisconnected) target->connect();
  });
}

void ReconnectingClientFactory::resetDelay() {
  delay_ = initialDelay;
  delayInitialized_ = true;
  retries_ = 0;
}

void ReconnectingClientFactory::stopTrying() {
  continueTrying_ = false;
  if (pendingRetry_ && pendingRetry_->active()) pendingRetry_->cancel();
  pendingRetry_.reset();
}

}  // namespace deft
