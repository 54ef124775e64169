#include "base/memory.hpp"

#include <dlfcn.h>
#include <malloc.h>

namespace lienthong {

void release_free_memory() {
  // Looked up at run time, so that code linked without tcmalloc (the tests) needs no stub.
  using Release = void (*)();
  static const auto tcmalloc_release =
      reinterpret_cast<Release>(::dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory"));
  if (tcmalloc_release) {
    tcmalloc_release();
  } else {
    ::malloc_trim(0);
  }
}

}  // namespace lienthong
