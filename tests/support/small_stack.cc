#include "tests/support/small_stack.h"

#include <pthread.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace deft::testing {

void runOnSmallStack(const std::function<void()>& body, std::size_t stackBytes) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stackBytes);
  pthread_t thread;
  const int error = pthread_create(
      &thread, &attr,
      [](void* arg) -> void* {
        (*static_cast<const std::function<void()>*>(arg))();
        return nullptr;
      },
      const_cast<std::function<void()>*>(&body));
  pthread_attr_destroy(&attr);
  if (error != 0) throw std::runtime_error(std::string("pthread_create: ") + std::strerror(error));
  pthread_join(thread, nullptr);
}

}  // namespace deft::testing
