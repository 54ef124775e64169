#pragma once

namespace lienthong {

// Names the calling thread (at most 15 characters are kept) so that `top -H`, perf and the
// benchmarks can tell the node's I/O, writer and timer threads apart.
void name_this_thread(const char* name);

}  // namespace lienthong
