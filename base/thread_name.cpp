#include "base/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace lienthong {

void name_this_thread(const char* name) {
  const std::string cut(name, std::min<std::size_t>(std::strlen(name), 15));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace lienthong
