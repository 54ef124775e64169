#pragma once

#include "adapters/edxml/codec.hpp"
#include "engine/ports.hpp"

namespace lienthong {

// The engine's Codec port, spoken as QCVN 102:2016 edXML.
class EdxmlCodec final : public Codec {
 public:
  Expected<Package> decode(xmlDoc* doc) const override { return decode_edxml(doc); }
};

}  // namespace lienthong
