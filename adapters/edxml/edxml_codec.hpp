#pragma once

#include "adapters/edxml/codec.hpp"
#include "engine/ports.hpp"

namespace lienthong {

// The engine's Codec port, spoken as QCVN 102:2016 edXML.
class EdxmlCodec final : public Codec {
 public:
  Expected<Package> decode(xmlDoc* doc) const override {
    return decode_edxml(doc, AttachmentData::digest_only);
  }
  Expected<Package> decode(std::string_view bytes) const override {
    auto doc = parse_xml(bytes, XmlLimits{.max_bytes = bytes.size() + 1});
    if (!doc) return doc.error();
    return decode(doc->get());
  }
  std::string encode(const Package& package) const override { return encode_edxml(package); }
};

}  // namespace lienthong
