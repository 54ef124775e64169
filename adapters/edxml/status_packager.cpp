#include "adapters/edxml/status_packager.hpp"

#include <ctime>

#include "adapters/edxml/codec.hpp"
#include "base/xml.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong {

Expected<std::string> SignedStatusPackager::status_packet(const std::string& from_agency,
                                                          const Package& answered,
                                                          const std::string& code,
                                                          std::int64_t at) const {
  auto key = keys_.find(from_agency);
  if (key == keys_.end()) {
    return Error{"status.unsigned", "this node holds no organisation key for " + from_agency +
                                        " to sign its status packets with"};
  }
  if (answered.kind != PackageKind::document) {
    return Error{"status.invalid", "a status answers a document, not another status"};
  }
  Package p;
  p.kind = PackageKind::status;
  StatusHeader& s = p.status;
  s.from.organ_id = from_agency;
  if (const AgencyEntry* a = directory_.find(from_agency)) s.from.organ_name = a->name;
  const DocumentHeader& d = answered.document;
  s.response_for.organ_id = d.from.organ_id;
  s.response_for.code =
      d.code_notation.empty() ? d.code_number : d.code_number + "/" + d.code_notation;
  s.response_for.promulgation_date = d.promulgation_date;
  s.response_for.document_id = d.document_id;
  s.status_code = code;
  s.description = status_code_meaning(code);
  const std::time_t local = static_cast<std::time_t>(at) + utc_offset_seconds_;
  std::tm tm{};
  gmtime_r(&local, &tm);
  s.timestamp = DateTime{Date{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday}, tm.tm_hour, tm.tm_min,
                         tm.tm_sec};
  SignOptions options;
  options.role = SignatureRole::organisation;
  options.at = static_cast<std::time_t>(at);
  // Signed on the encoder's tree, indented as encode_edxml would write it: the same bytes as
  // signing encode_edxml's text, without parsing it back.
  XmlDoc doc = encode_edxml_doc(p);
  xml_indent(doc.get());
  if (auto signed_doc = sign_package_doc(doc.get(), key->second, options); !signed_doc) {
    return signed_doc.error();
  }
  return serialize_xml(doc.get(), false);
}

}  // namespace lienthong
