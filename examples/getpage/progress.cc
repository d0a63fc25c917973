#include "examples/getpage/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace getpage {
namespace {

// " H:MM:SS" in eight characters ("DDDd HHh" past 99 hours), or curl's "--:--:--" for a time not
// known (or under a second).
std::string clock(std::optional<absl::Duration> d) {
  const std::int64_t s = d ? absl::ToInt64Seconds(*d) : 0;
  if (s <= 0) return "--:--:--";
  if (s / 3600 <= 99) return absl::StrFormat("%2d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  if (s / 86400 <= 999) return absl::StrFormat("%3dd %02dh", s / 86400, (s % 86400) / 3600);
  return absl::StrFormat("%7dd", s / 86400);
}

int columns() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  return 80;
}

}  // namespace

std::string fiveCharacters(std::uint64_t bytes) {
  constexpr std::uint64_t kK = 1024, kM = kK * kK;
  if (bytes < 100000) return absl::StrFormat("%5d", bytes);
  if (bytes < 10000 * kK) return absl::StrFormat("%4dk", bytes / kK);
  if (bytes < 100 * kM) return absl::StrFormat("%2d.%0dM", bytes / kM, (bytes % kM) / (kM / 10));
  if (bytes < 10000 * kM) return absl::StrFormat("%4dM", bytes / kM);
  return absl::StrFormat("%4dG", bytes / (kM * kK));
}

void ProgressMeter::update(std::uint64_t received, std::optional<std::uint64_t> total, absl::Time now) {
  received_ = received;
  total_ = total;
  if (now - lastDraw_ >= absl::Seconds(1)) draw(now);
}

void ProgressMeter::finish(absl::Time now) {
  if (lastDraw_ == absl::InfinitePast()) return;  // nothing drawn: nothing to end
  draw(now);
  std::fputc('\n', out_);
  std::fflush(out_);
  lastDraw_ = absl::InfinitePast();  // a retry draws anew, on the next line
}

void ProgressMeter::draw(absl::Time now) {
  lastDraw_ = now;
  const absl::Duration spent = now - start_;
  if (bar_) {
    const int width = columns() - 8;
    const double fraction =
        total_ && *total_ > 0 ? std::min(1.0, static_cast<double>(received_) / *total_) : 0.0;
    const int filled = static_cast<int>(fraction * width);
    std::fprintf(out_, "\r%s%s %5.1f%%", std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), fraction * 100);
    std::fflush(out_);
    return;
  }
  if (!headerDrawn_) {
    std::fputs("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
               "                                 Dload  Upload   Total   Spent    Left  Speed\n",
               out_);
    headerDrawn_ = true;
  }
  const double seconds = std::max(1e-6, absl::ToDoubleSeconds(spent));
  const auto speed = static_cast<std::uint64_t>(received_ / seconds);
  const int percent = total_ && *total_ > 0 ? static_cast<int>(received_ * 100 / *total_) : 0;
  std::optional<absl::Duration> expected, left;
  if (total_ && speed > 0) {
    expected = absl::Seconds(static_cast<double>(*total_) / speed);
    left = *expected > spent ? *expected - spent : absl::ZeroDuration();
  }
  std::fprintf(out_, "\r%3d %s  %3d %s    0     0  %s      0 %s %s %s %s", percent,
               fiveCharacters(total_.value_or(0)).c_str(), percent, fiveCharacters(received_).c_str(),
               fiveCharacters(speed).c_str(), clock(expected).c_str(), clock(spent).c_str(),
               clock(left).c_str(), fiveCharacters(speed).c_str());
  std::fflush(out_);
}

std::size_t ParallelMeter::add() {
  live_.emplace(started_, Live{});
  return started_++;
}

void ParallelMeter::update(std::size_t id, std::uint64_t received, std::optional<std::uint64_t> total,
                           absl::Time now) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  it->second.received = received;
  if (total && *total > 0 && !it->second.sizeKnown) {  // counted once, as soon as it is known
    it->second.sizeKnown = true;
    totals_ += *total;
  }
  tick(now);
}

void ParallelMeter::retry(std::size_t id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  receivedByDone_ += it->second.received;
  it->second.received = 0;
}

void ParallelMeter::done(std::size_t id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  receivedByDone_ += it->second.received;
  live_.erase(it);
}

void ParallelMeter::tick(absl::Time now) {
  if (!headerDrawn_ || now - lastDraw_ > absl::Milliseconds(500)) draw(now, false);
}

void ParallelMeter::finish(absl::Time now) {
  draw(now, true);
  std::fflush(out_);
}

void ParallelMeter::draw(absl::Time now, bool final) {
  if (!headerDrawn_) {
    std::fputs("DL% UL%  Dled  Uled  Xfers  Live Total     Current  Left    Speed\n", out_);
    headerDrawn_ = true;
  }
  lastDraw_ = now;
  // As curl counts: the percentage only when every running transfer's size is known.
  std::uint64_t received = receivedByDone_;
  bool sizesKnown = true;
  for (const auto& [id, transfer] : live_) {
    received += transfer.received;
    sizesKnown = sizesKnown && transfer.sizeKnown;
  }
  std::string percent = "--";
  if (sizesKnown && totals_ > 0) percent = absl::StrFormat("%3d", received * 100 / totals_);
  // The speed since the oldest of the last ten samples, this one included (since the start, until
  // there are ten), as curl reckons it.
  samples_[nextSample_] = {received, now};
  if (++nextSample_ == std::size(samples_)) {
    nextSample_ = 0;
    samplesWrapped_ = true;
  }
  const Sample oldest = samplesWrapped_ ? samples_[nextSample_] : Sample{0, start_};
  const double seconds = std::max(0.001, absl::ToDoubleSeconds(now - oldest.at));
  const std::uint64_t gained = received > oldest.received ? received - oldest.received : 0;
  const auto speed = static_cast<std::uint64_t>(static_cast<double>(gained) / seconds);
  std::optional<absl::Duration> expected, left;
  if (sizesKnown && speed > 0) {
    expected = absl::Seconds(static_cast<std::int64_t>(totals_ / speed));
    left = absl::Seconds(static_cast<std::int64_t>((totals_ > received ? totals_ - received : 0) / speed));
  }
  std::fprintf(out_, "\r%-3s %-3s %s %s %5zu %5zu  %s %s %s %s %5s", percent.c_str(), "--",
               fiveCharacters(received).c_str(), fiveCharacters(0).c_str(), started_, live_.size(),
               clock(expected).c_str(), clock(now - start_).c_str(), clock(left).c_str(),
               fiveCharacters(speed).c_str(), final ? "\n" : "");
  std::fflush(out_);
}

}  // namespace getpage
