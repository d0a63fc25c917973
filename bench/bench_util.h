// What the stand-alone benchmark programs share: process CPU time and `--name=value` flags.

#ifndef DEFT_BENCH_BENCH_UTIL_H_
#define DEFT_BENCH_BENCH_UTIL_H_

#include <sys/resource.h>

#include <cstring>
#include <string>

namespace deft::bench {

// User plus system CPU seconds this process has used.
inline double cpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The value of `--name=value` on the command line, or `fallback`.
inline std::string flag(int argc, char** argv, const char* name, const char* fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return fallback;
}

}  // namespace deft::bench

#endif  // DEFT_BENCH_BENCH_UTIL_H_
