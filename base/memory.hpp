#pragma once

namespace lienthong {

// Gives memory the allocator holds free back to the operating system. After a large package
// the allocator would otherwise keep its hundred megabytes for ever: tcmalloc (which the node
// links) returns free pages only slowly, and a later large allocation may not fit in them.
void release_free_memory();

}  // namespace lienthong
