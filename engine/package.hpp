#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lienthong {

// A calendar date as the packages carry it (no time zone: edXML dates are local Vietnamese dates).
struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  friend auto operator<=>(const Date&, const Date&) = default;
};

// A local date and time, `yyyy/MM/dd HH:mm:ss` in edXML.
struct DateTime {
  Date date;
  int hour = 0;
  int minute = 0;
  int second = 0;
  friend auto operator<=>(const DateTime&, const DateTime&) = default;
};

// An element the codec does not model, kept whole so nothing a sender wrote is dropped.
struct ExtraElement {
  std::string name;  // local name
  std::string ns;    // namespace URI, empty when none
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;  // direct text content
  std::vector<ExtraElement> children;
  friend bool operator==(const ExtraElement&, const ExtraElement&) = default;
};

struct Organization {
  std::string organ_id;  // agency code, e.g. 000.00.00.G22
  std::string organization_in_charge;
  std::string organ_name;
  std::string organ_add;
  std::string email;
  std::string telephone;
  std::string fax;
  std::string website;
  std::vector<ExtraElement> extra;
  friend bool operator==(const Organization&, const Organization&) = default;
};

struct StaffInfo {
  std::string department;
  std::string staff;
  std::string email;
  std::string mobile;
  std::vector<ExtraElement> extra;
  friend bool operator==(const StaffInfo&, const StaffInfo&) = default;
};

struct OtherInfo {
  std::optional<int> priority;  // 0 normal, 1 urgent, 2 very urgent, 3 express, 4 timed express
  std::string sphere_of_promulgation;
  std::string typer_notation;
  std::optional<int> promulgation_amount;
  std::optional<int> page_amount;
  std::string direction;  // free text in the wild ("true"/"false")
  std::vector<std::string> appendixes;
  std::vector<ExtraElement> extra;
  friend bool operator==(const OtherInfo&, const OtherInfo&) = default;
};

// MessageHeader of a document package.
struct DocumentHeader {
  Organization from;
  std::vector<Organization> to;
  std::string document_id;  // OrganId,yyyy/MM/dd,Number/Notation
  std::string code_number;
  std::string code_notation;
  std::string promulgation_place;
  std::optional<Date> promulgation_date;
  std::string type;         // DocumentType/Type
  std::string type_detail;  // DocumentType/TypeDetail
  std::string type_name;
  std::string subject;
  std::string content;
  std::string signer_competence;
  std::string signer_position;
  std::string signer_full_name;
  std::optional<Date> due_date;
  std::vector<std::string> to_places;
  OtherInfo other_info;
  std::optional<int> steering_type;        // 0 none, 1 directive, 2 report on a directive
  std::vector<ExtraElement> response_for;  // ResponseFor elements of a document, kept as written
  std::vector<ExtraElement> extra;
  friend bool operator==(const DocumentHeader&, const DocumentHeader&) = default;
};

// The document a status packet answers.
struct ResponseFor {
  std::string organ_id;
  std::string code;
  std::optional<Date> promulgation_date;
  std::string document_id;
  std::vector<ExtraElement> extra;
  friend bool operator==(const ResponseFor&, const ResponseFor&) = default;
};

// MessageHeader of a status packet.
struct StatusHeader {
  Organization from;
  ResponseFor response_for;
  StaffInfo staff_info;
  std::string status_code;  // kept as written; see status_code_meaning()
  std::string description;
  std::optional<DateTime> timestamp;
  std::vector<ExtraElement> extra;
  friend bool operator==(const StatusHeader&, const StatusHeader&) = default;
};

struct TraceHeader {
  std::string organ_id;
  std::optional<DateTime> timestamp;
  std::vector<ExtraElement> extra;
  friend bool operator==(const TraceHeader&, const TraceHeader&) = default;
};

struct Business {
  std::string document_id;
  std::optional<int> doc_type;  // 0 new, 1 revoke, 2 update, 3 replace
  std::string doc_reason;
  std::optional<int> paper;  // 1: a paper copy also travels
  StaffInfo staff_info;
  std::vector<ExtraElement> replacement_info_list;  // ReplacementInfoList children, kept as written
  std::vector<ExtraElement> extra;
  friend bool operator==(const Business&, const Business&) = default;
};

struct TraceHeaderList {
  std::vector<TraceHeader> trace_headers;
  std::optional<Business> business;
  std::vector<ExtraElement> extra;
  friend bool operator==(const TraceHeaderList&, const TraceHeaderList&) = default;
};

struct ManifestReference {
  std::string content_id;
  std::string content_type;
  std::string description;
  std::string attachment_name;
  std::vector<ExtraElement> extra;
  friend bool operator==(const ManifestReference&, const ManifestReference&) = default;
};

struct Attachment {
  std::string content_id;
  std::string attachment_name;
  std::string description;
  std::string content_type;
  std::string data;        // decoded bytes
  std::string sha256_hex;  // of data
  std::vector<ExtraElement> extra;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

enum class PackageKind { document, status };

// One edXML package (QCVN 102:2016). XML-DSig signatures are not part of the model: the signing
// module reads and writes them on the serialized bytes.
struct Package {
  PackageKind kind = PackageKind::document;
  DocumentHeader document;  // when kind == document
  StatusHeader status;      // when kind == status
  std::optional<TraceHeaderList> trace_header_list;
  std::string manifest_version;
  std::vector<ManifestReference> manifest;
  bool has_body = false;  // edXMLBody present
  std::vector<Attachment> attachments;
  std::vector<ExtraElement> extra_header;    // unknown children of edXMLHeader
  std::vector<ExtraElement> extra_envelope;  // unknown children of edXMLEnvelope
  std::vector<ExtraElement> extra_root;      // unknown children of edXML
  friend bool operator==(const Package&, const Package&) = default;
};

// Human meaning of an edXML status code, or nullptr for codes this node does not know.
const char* status_code_meaning(std::string_view code);

}  // namespace lienthong
