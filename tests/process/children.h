// What a test checks a process for after spawning: its live children and its open descriptors,
// from /proc (nothing is reaped or opened by looking).

#ifndef DEFT_TESTS_PROCESS_CHILDREN_H_
#define DEFT_TESTS_PROCESS_CHILDREN_H_

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace deft::testing {

// The pids of this process's children (zombies included), from every thread's children file.
inline std::vector<pid_t> childPids() {
  std::vector<pid_t> pids;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream children(task.path() / "children");
    pid_t pid = 0;
    while (children >> pid) pids.push_back(pid);
  }
  return pids;
}

// How many descriptors this process has open.
inline int openDescriptors() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count - 1;  // the iterator's own
}

}  // namespace deft::testing

#endif  // DEFT_TESTS_PROCESS_CHILDREN_H_
