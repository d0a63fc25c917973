#include "examples/getpage/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace getpage {
namespace {

// "HH:MM:SS", or curl's "--:--:--" for a time not known (or under a second).
std::string clock(std::optional<absl::Duration> d) {
  const std::int64_t s = d ? absl::ToInt64Seconds(*d) : 0;
  if (s <= 0) return "--:--:--";
  return absl::StrFormat("%02d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
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

}  // namespace getpage
