#pragma once

#include "engine/ports.hpp"
#include "engine/store.hpp"

namespace lienthong {

// The package model of a stored document, from its header (attachments' content left out), or,
// for a document stored before headers were kept, from its original.
inline Expected<Package> stored_package(const Codec& codec, const StoredDocument& document) {
  return codec.decode(document.header.empty() ? document.original : document.header);
}

}  // namespace lienthong
