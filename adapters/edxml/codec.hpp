#pragma once

// The edXML codec (QCVN 102:2016/BTTTT): packages of official documents and status packets, as
// exchanged between agencies, to and from the Package model of engine/package.hpp.
//
// Decoding is lenient about form and strict about values:
// - elements are matched by local name, in the QCVN namespace or in no namespace at all (senders
//   use a default namespace, an `edXML:` prefix, other prefixes, or none); order does not matter;
// - every element the model does not know is kept, whole, in the `extra` list of the nearest
//   modelled container, and written back by the encoder after that container's known children.
//   Containers the model flattens (Code, PromulgationInfo, DocumentType, SignerInfo, ToPlaces,
//   Appendixes, edXMLBody, edXMLManifest, AttachmentEncoded) have no `extra`: their unknown
//   children go to the enclosing one's (MessageHeader, OtherInfo, envelope, root);
// - an XML-DSig `Signature` in edXMLHeader is skipped (the signing module owns it); a `Signature`
//   in the QCVN namespace or in none is not XML-DSig and is kept in `extra_header`;
// - leaf text is trimmed; empty dates, timestamps and numbers are nullopt; codes are kept as
//   written; DocumentId stays a plain string;
// - what is present but wrong is an Error whose code starts with `edxml.` and whose message names
//   the element and its line (`line 33: <PromulgationDate> '31/02/2020' is not a valid date`):
//   edxml.not_edxml (root), edxml.missing_element (edXMLEnvelope, edXMLHeader, MessageHeader),
//   edxml.invalid_value (a date that does not exist, a number that is not one),
//   edxml.invalid_base64, edxml.duplicate_element (a singular element twice),
//   edxml.unexpected_element (a known name inside a flattened container, e.g. <Code><Subject>,
//   which would otherwise be read back as that element). XML-level errors of parse_xml pass
//   through unchanged.
//
// An ExtraElement keeps local names and namespace URIs, never prefixes; an attribute in a namespace
// is named `{uri}local` (e.g. `{http://www.w3.org/XML/1998/namespace}lang`). Its `text` is its
// direct text, trimmed. Attributes of modelled elements are not kept (except edXMLManifest's
// `version`).
//
// Encoding writes one canonical form: every element prefixed `edXML:` (foreign namespaces get
// `ns1`, `ns2`... prefixes), dates `yyyy/MM/dd`, timestamps `yyyy/MM/dd HH:mm:ss`, attachments
// base64 on one line; the elements of the samples are written even when empty, optional parts
// (TraceHeaderList, Bussiness, edXMLBody, AttachmentEncoded, an empty ReplacementInfoList) only
// when present. `decode(encode(m)) == m` for every model decode produced, and for hand-built models
// whose strings are trimmed valid XML text, whose attachments carry `sha256_hex ==
// sha256_hex(data)` (the decoder recomputes it), whose extra elements do not bear the name of a
// known element of their container, and whose header of the other kind (document or status) is
// left empty.

#include <string>
#include <string_view>

#include "base/expected.hpp"
#include "base/xml.hpp"
#include "engine/package.hpp"

namespace lienthong {

inline constexpr std::string_view kEdxmlNamespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
inline constexpr std::string_view kXmlDsigNamespace = "http://www.w3.org/2000/09/xmldsig#";

// Parses untrusted bytes with parse_xml(bytes, limits), then decodes the tree.
Expected<Package> decode_edxml(std::string_view bytes, const XmlLimits& limits = {});

// What the decoder keeps of an attachment's content: its bytes, or only their SHA-256 (the node
// needs no more, and a 100 MB attachment is then never decoded into memory whole).
enum class AttachmentData { keep, digest_only };

// Decodes an already parsed tree (so that intake and the signature verifier share one parse).
// The tree is only read.
Expected<Package> decode_edxml(xmlDoc* doc, AttachmentData mode = AttachmentData::keep);

// Builds the libxml2 tree of a package (root `edXML:edXML`, no XML-DSig signature).
XmlDoc encode_edxml_doc(const Package& package);

// encode_edxml_doc serialised as indented UTF-8 with an XML declaration.
std::string encode_edxml(const Package& package);

// Value parsers used by the codec, exposed for other readers of edXML dates. They accept
// `yyyy/MM/dd`, `dd/MM/yyyy`, `yyyy-MM-dd` (and `dd-MM-yyyy`), day and month with one or two
// digits, and only dates that exist; a timestamp is such a date, then a space or `T`, then
// `HH:mm:ss`. Surrounding white space is ignored. Nothing else is accepted.
bool parse_edxml_date(std::string_view text, Date& out);
bool parse_edxml_date_time(std::string_view text, DateTime& out);

// Canonical forms the encoder writes: `yyyy/MM/dd` and `yyyy/MM/dd HH:mm:ss`.
std::string format_edxml_date(const Date& date);
std::string format_edxml_date_time(const DateTime& date_time);

}  // namespace lienthong
