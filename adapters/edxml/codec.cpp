#include "adapters/edxml/codec.hpp"

#include <libxml/tree.h>

#include <charconv>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

// ------------------------------------------------------------------------------------------------
// Values

constexpr std::string_view kWhiteSpace = " \t\r\n";

std::string_view trim(std::string_view s) {
  const auto begin = s.find_first_not_of(kWhiteSpace);
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(kWhiteSpace);
  return s.substr(begin, end - begin + 1);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads min_digits..max_digits decimal digits at s[pos]; advances pos.
bool read_digits(std::string_view s, std::size_t& pos, std::size_t min_digits,
                 std::size_t max_digits, int& out, std::size_t* count = nullptr) {
  std::size_t n = 0;
  int value = 0;
  while (pos + n < s.size() && n < max_digits && is_digit(s[pos + n])) {
    value = value * 10 + (s[pos + n] - '0');
    ++n;
  }
  if (n < min_digits || (pos + n < s.size() && is_digit(s[pos + n]))) return false;
  pos += n;
  out = value;
  if (count) *count = n;
  return true;
}

bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

bool is_real_date(const Date& d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d.year < 1 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1) return false;
  const int days = kDays[d.month - 1] + (d.month == 2 && is_leap_year(d.year) ? 1 : 0);
  return d.day <= days;
}

// A date at s[pos]: year first (`yyyy/MM/dd`, `yyyy-MM-dd`) or last (`dd/MM/yyyy`, `dd-MM-yyyy`).
bool read_date(std::string_view s, std::size_t& pos, Date& out) {
  int first = 0, month = 0, last = 0;
  std::size_t first_len = 0, last_len = 0;
  if (!read_digits(s, pos, 1, 4, first, &first_len)) return false;
  if (pos >= s.size() || (s[pos] != '/' && s[pos] != '-')) return false;
  const char separator = s[pos++];
  if (!read_digits(s, pos, 1, 2, month)) return false;
  if (pos >= s.size() || s[pos] != separator) return false;
  ++pos;
  if (!read_digits(s, pos, 1, 4, last, &last_len)) return false;
  Date d;
  if (first_len == 4 && last_len <= 2) {
    d = Date{first, month, last};
  } else if (first_len <= 2 && last_len == 4) {
    d = Date{last, month, first};
  } else {
    return false;
  }
  if (!is_real_date(d)) return false;
  out = d;
  return true;
}

std::string pad(int value, int width) {
  std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) < width) {
    digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
  }
  return digits;
}

// Quotes a value for an error message, shortened (on a UTF-8 boundary) when long.
std::string quoted(std::string_view value) {
  constexpr std::size_t kMax = 80;
  if (value.size() <= kMax) return "'" + std::string(value) + "'";
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(value.substr(0, cut)) + "...'";
}

// ------------------------------------------------------------------------------------------------
// Decoding

bool in_edxml_namespace(const xmlNode* node) {
  const auto ns = xml_ns_uri(node);
  return ns.empty() || ns == kEdxmlNamespace;
}

std::string at(const xmlNode* node) {
  return "line " + std::to_string(xml_line(node)) + ": <" + std::string(xml_local_name(node)) + ">";
}

Error invalid_value(const xmlNode* node, std::string_view value, std::string_view expected) {
  return Error{"edxml.invalid_value",
               at(node) + " " + quoted(value) + " is not " + std::string(expected)};
}

Error duplicate(const xmlNode* node, const xmlNode* parent) {
  return Error{"edxml.duplicate_element", at(node) + " appears more than once in <" +
                                              std::string(xml_local_name(parent)) + ">"};
}

std::string leaf_text(const xmlNode* node) {
  return std::string(trim(xml_text(node)));
}

ExtraElement to_extra(const xmlNode* node) {
  ExtraElement e;
  e.name = xml_local_name(node);
  e.ns = xml_ns_uri(node);
  for (const xmlAttr* a = node->properties; a; a = a->next) {
    std::string name = reinterpret_cast<const char*>(a->name);
    if (a->ns && a->ns->href) {
      name = "{" + std::string(reinterpret_cast<const char*>(a->ns->href)) + "}" + name;
    }
    e.attributes.emplace_back(std::move(name), xml_text(reinterpret_cast<const xmlNode*>(a)));
  }
  std::string text;
  for (const xmlNode* c = node->children; c; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
      text += reinterpret_cast<const char*>(c->content);
    } else if (c->type == XML_ELEMENT_NODE) {
      e.children.push_back(to_extra(c));
    }
  }
  e.text = trim(text);
  return e;
}

// libxml2 keeps an element or attribute whose prefix is not declared, under its prefixed name and
// in no namespace. Such a document is not namespace-well-formed, and reading on would file the
// element wrongly (and write it back under a prefix that may be declared by then).
Expected<void> check_prefixes(xmlNode* root) {
  const auto prefix_of = [](std::string_view name) { return name.substr(0, name.find(':')); };
  std::vector<xmlNode*> stack{root};
  while (!stack.empty()) {
    xmlNode* node = stack.back();
    stack.pop_back();
    const auto name = xml_local_name(node);
    if (name.find(':') != std::string_view::npos) {
      return Error{"edxml.undeclared_prefix", at(node) + " uses the prefix '" +
                                                  std::string(prefix_of(name)) +
                                                  "', which is not declared"};
    }
    for (const xmlAttr* a = node->properties; a; a = a->next) {
      const std::string_view attribute = reinterpret_cast<const char*>(a->name);
      if (attribute.find(':') != std::string_view::npos) {
        return Error{"edxml.undeclared_prefix", at(node) + " has an attribute '" +
                                                    std::string(attribute) + "' whose prefix '" +
                                                    std::string(prefix_of(attribute)) +
                                                    "' is not declared"};
      }
    }
    for (xmlNode* c = xml_first_element(node); c; c = xml_next_element(c)) stack.push_back(c);
  }
  return {};
}

struct Rule;
using Rules = std::vector<Rule>;

// Where the unknown children of a container go: the `extra` of the nearest modelled container, and
// the rules of that container. The model flattens some containers (Code, ToPlaces, edXMLBody...)
// into their parent, so their unknown children move up; one that bears the name of an element the
// parent reads would be read as that element after a round trip, so it is refused instead.
struct Sink {
  std::vector<ExtraElement>& extra;
  const Rules& rules;
};

// What to do with one known child element.
using Handler = std::function<Expected<void>(xmlNode*, const Sink&)>;

constexpr bool kRepeated = true;
constexpr bool kRequired = true;

struct Rule {
  std::string_view name;
  Handler handle;
  bool repeated = false;  // may appear more than once; otherwise a second one is an error
  bool required = false;  // its absence is an error
  std::string_view ns{};  // empty: the QCVN namespace or none; otherwise exactly this namespace
};

// Index of the rule matching element, or rules.size().
std::size_t find_rule(const Rules& rules, const xmlNode* element) {
  const auto name = xml_local_name(element);
  std::size_t i = 0;
  while (i < rules.size() &&
         !(rules[i].name == name && (rules[i].ns.empty() ? in_edxml_namespace(element)
                                                         : xml_ns_uri(element) == rules[i].ns))) {
    ++i;
  }
  return i;
}

// Reads the element children of `parent`: a child matching a rule goes to its handler, any other
// child is kept whole in `sink.extra`, in document order.
Expected<void> read_children(xmlNode* parent, const Rules& rules, const Sink& sink) {
  std::vector<bool> seen(rules.size(), false);
  for (xmlNode* child = xml_first_element(parent); child; child = xml_next_element(child)) {
    const std::size_t i = find_rule(rules, child);
    if (i == rules.size()) {
      if (find_rule(sink.rules, child) != sink.rules.size()) {
        return Error{"edxml.unexpected_element", at(child) + " is not expected inside <" +
                                                     std::string(xml_local_name(parent)) + ">"};
      }
      sink.extra.push_back(to_extra(child));
      continue;
    }
    if (seen[i] && !rules[i].repeated) return duplicate(child, parent);
    seen[i] = true;
    if (auto r = rules[i].handle(child, sink); !r) return r;
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].required && !seen[i]) {
      return Error{"edxml.missing_element",
                   at(parent) + " has no <" + std::string(rules[i].name) + ">"};
    }
  }
  return {};
}

// Reads a modelled container: its unknown children go to its own `extra`.
Expected<void> read_children(xmlNode* parent, const Rules& rules,
                             std::vector<ExtraElement>& extra) {
  return read_children(parent, rules, Sink{extra, rules});
}

Handler skip() {
  return [](xmlNode*, const Sink&) -> Expected<void> { return {}; };
}

Handler text_into(std::string& out) {
  return [&out](xmlNode* n, const Sink&) -> Expected<void> {
    out = leaf_text(n);
    return {};
  };
}

Handler append_text(std::vector<std::string>& out) {
  return [&out](xmlNode* n, const Sink&) -> Expected<void> {
    out.push_back(leaf_text(n));
    return {};
  };
}

Handler int_into(std::optional<int>& out) {
  return [&out](xmlNode* n, const Sink&) -> Expected<void> {
    const std::string text = leaf_text(n);
    out.reset();
    if (text.empty()) return {};
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return invalid_value(n, text, "an integer");
    }
    out = value;
    return {};
  };
}

Handler date_into(std::optional<Date>& out) {
  return [&out](xmlNode* n, const Sink&) -> Expected<void> {
    const std::string text = leaf_text(n);
    out.reset();
    if (text.empty()) return {};
    Date d;
    if (!parse_edxml_date(text, d)) return invalid_value(n, text, "a valid date");
    out = d;
    return {};
  };
}

Handler date_time_into(std::optional<DateTime>& out) {
  return [&out](xmlNode* n, const Sink&) -> Expected<void> {
    const std::string text = leaf_text(n);
    out.reset();
    if (text.empty()) return {};
    DateTime t;
    if (!parse_edxml_date_time(text, t)) {
      return invalid_value(n, text, "a valid timestamp (yyyy/MM/dd HH:mm:ss)");
    }
    out = t;
    return {};
  };
}

// The whole element, kept as written.
Handler element_into(std::vector<ExtraElement>& out) {
  return [&out](xmlNode* n, const Sink&) -> Expected<void> {
    out.push_back(to_extra(n));
    return {};
  };
}

// Each element child, kept as written.
Handler children_into(std::vector<ExtraElement>& out) {
  return [&out](xmlNode* n, const Sink&) -> Expected<void> {
    for (xmlNode* c = xml_first_element(n); c; c = xml_next_element(c)) out.push_back(to_extra(c));
    return {};
  };
}

// A container the model flattens into its parent (Code, SignerInfo, ToPlaces...): its unknown
// children go to the enclosing container's `extra`.
Handler group(Rules rules) {
  return [rules = std::move(rules)](xmlNode* n, const Sink& sink) {
    return read_children(n, rules, sink);
  };
}

// A modelled container read by `read` into `target`.
template <class T>
Handler into(T& target, Expected<void> (*read)(xmlNode*, T&)) {
  return [&target, read](xmlNode* n, const Sink&) { return read(n, target); };
}

// One more item of a repeated modelled container.
template <class T>
Handler append(std::vector<T>& list, Expected<void> (*read)(xmlNode*, T&)) {
  return [&list, read](xmlNode* n, const Sink&) { return read(n, list.emplace_back()); };
}

Expected<void> read_organization(xmlNode* node, Organization& o) {
  return read_children(node,
                       {{"OrganId", text_into(o.organ_id)},
                        {"OrganizationInCharge", text_into(o.organization_in_charge)},
                        {"OrganName", text_into(o.organ_name)},
                        {"OrganAdd", text_into(o.organ_add)},
                        {"Email", text_into(o.email)},
                        {"Telephone", text_into(o.telephone)},
                        {"Fax", text_into(o.fax)},
                        {"Website", text_into(o.website)}},
                       o.extra);
}

Expected<void> read_staff_info(xmlNode* node, StaffInfo& s) {
  return read_children(node,
                       {{"Department", text_into(s.department)},
                        {"Staff", text_into(s.staff)},
                        {"Email", text_into(s.email)},
                        {"Mobile", text_into(s.mobile)}},
                       s.extra);
}

Expected<void> read_other_info(xmlNode* node, OtherInfo& o) {
  return read_children(
      node,
      {{"Priority", int_into(o.priority)},
       {"SphereOfPromulgation", text_into(o.sphere_of_promulgation)},
       {"TyperNotation", text_into(o.typer_notation)},
       {"PromulgationAmount", int_into(o.promulgation_amount)},
       {"PageAmount", int_into(o.page_amount)},
       {"Direction", text_into(o.direction)},
       {"Appendixes", group({{"Appendix", append_text(o.appendixes), kRepeated}})}},
      o.extra);
}

Expected<void> read_document_header(xmlNode* node, DocumentHeader& h) {
  return read_children(
      node,
      {{"From", into(h.from, read_organization)},
       {"To", append(h.to, read_organization), kRepeated},
       {"DocumentId", text_into(h.document_id)},
       {"Code", group({{"CodeNumber", text_into(h.code_number)},
                       {"CodeNotation", text_into(h.code_notation)}})},
       {"PromulgationInfo", group({{"Place", text_into(h.promulgation_place)},
                                   {"PromulgationDate", date_into(h.promulgation_date)}})},
       {"DocumentType", group({{"Type", text_into(h.type)},
                               {"TypeDetail", text_into(h.type_detail)},
                               {"TypeName", text_into(h.type_name)}})},
       {"Subject", text_into(h.subject)},
       {"Content", text_into(h.content)},
       {"SignerInfo", group({{"Competence", text_into(h.signer_competence)},
                             {"Position", text_into(h.signer_position)},
                             {"FullName", text_into(h.signer_full_name)}})},
       {"DueDate", date_into(h.due_date)},
       {"ToPlaces", group({{"Place", append_text(h.to_places), kRepeated}})},
       {"OtherInfo", into(h.other_info, read_other_info)},
       {"SteeringType", int_into(h.steering_type)},
       {"ResponseFor", element_into(h.response_for), kRepeated},
       // Never reached (a StatusCode makes a status packet), but reserved: see Sink.
       {"StatusCode", skip()}},
      h.extra);
}

Expected<void> read_response_for(xmlNode* node, ResponseFor& r) {
  return read_children(node,
                       {{"OrganId", text_into(r.organ_id)},
                        {"Code", text_into(r.code)},
                        {"PromulgationDate", date_into(r.promulgation_date)},
                        {"DocumentId", text_into(r.document_id)}},
                       r.extra);
}

Expected<void> read_status_header(xmlNode* node, StatusHeader& s) {
  return read_children(node,
                       {{"From", into(s.from, read_organization)},
                        {"ResponseFor", into(s.response_for, read_response_for)},
                        {"StaffInfo", into(s.staff_info, read_staff_info)},
                        {"StatusCode", text_into(s.status_code)},
                        {"Description", text_into(s.description)},
                        {"Timestamp", date_time_into(s.timestamp)}},
                       s.extra);
}

Expected<void> read_trace_header(xmlNode* node, TraceHeader& t) {
  return read_children(
      node, {{"OrganId", text_into(t.organ_id)}, {"Timestamp", date_time_into(t.timestamp)}},
      t.extra);
}

Expected<void> read_business(xmlNode* node, Business& b) {
  return read_children(node,
                       {{"DocumentId", text_into(b.document_id)},
                        {"BussinessDocType", int_into(b.doc_type)},
                        {"BussinessDocReason", text_into(b.doc_reason)},
                        {"Paper", int_into(b.paper)},
                        {"StaffInfo", into(b.staff_info, read_staff_info)},
                        {"ReplacementInfoList", children_into(b.replacement_info_list)}},
                       b.extra);
}

Expected<void> read_trace_header_list(xmlNode* node, TraceHeaderList& l) {
  // QCVN spells it `Bussiness`; the correct spelling is read too, but only one of them may appear.
  Handler business = [&l, node](xmlNode* n, const Sink&) -> Expected<void> {
    if (l.business) return duplicate(n, node);
    return read_business(n, l.business.emplace());
  };
  return read_children(node,
                       {{"TraceHeader", append(l.trace_headers, read_trace_header), kRepeated},
                        {"Bussiness", business, kRepeated},
                        {"Business", business, kRepeated}},
                       l.extra);
}

bool has_edxml_child(xmlNode* node, std::string_view name) {
  for (xmlNode* c = xml_first_element(node); c; c = xml_next_element(c)) {
    if (xml_local_name(c) == name && in_edxml_namespace(c)) return true;
  }
  return false;
}

Expected<void> read_message_header(xmlNode* node, Package& p) {
  if (has_edxml_child(node, "StatusCode")) {
    p.kind = PackageKind::status;
    return read_status_header(node, p.status);
  }
  p.kind = PackageKind::document;
  return read_document_header(node, p.document);
}

// The base64 text of an attachment, decoded a text node at a time (parse_xml cuts a long text
// into pieces): with `keep`, the bytes are kept; otherwise only their digest is.
Expected<void> read_content(xmlNode* n, Attachment& a, AttachmentData mode) {
  Base64Decoder decoder;
  Sha256 hash;
  std::string piece;
  std::string& out = mode == AttachmentData::keep ? a.data : piece;
  for (xmlNode* c = n->children; c; c = c->next) {
    if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) continue;
    if (!c->content) continue;
    const std::size_t before = out.size();
    auto r = decoder.feed(reinterpret_cast<const char*>(c->content), out);
    if (!r)
      return Error{"edxml.invalid_base64", at(n) + " is not valid base64: " + r.error().message};
    hash.update(std::string_view(out).substr(before));
    if (mode != AttachmentData::keep) piece.clear();
  }
  if (auto r = decoder.finish(); !r) {
    return Error{"edxml.invalid_base64", at(n) + " is not valid base64: " + r.error().message};
  }
  a.sha256_hex = hash.hex();
  return {};
}

Expected<void> read_attachment(xmlNode* node, Attachment& a, AttachmentData mode) {
  a.data.clear();
  a.sha256_hex = sha256_hex("");
  return read_children(node,
                       {{"ContentId", text_into(a.content_id)},
                        {"AttachmentName", text_into(a.attachment_name)},
                        {"Description", text_into(a.description)},
                        {"ContentType", text_into(a.content_type)},
                        {"ContentTransferEncoded",
                         [&a, mode](xmlNode* n, const Sink&) { return read_content(n, a, mode); }}},
                       a.extra);
}

Expected<void> read_reference(xmlNode* node, ManifestReference& r) {
  return read_children(node,
                       {{"ContentId", text_into(r.content_id)},
                        {"ContentType", text_into(r.content_type)},
                        {"Description", text_into(r.description)},
                        {"AttachmentName", text_into(r.attachment_name)}},
                       r.extra);
}

Expected<void> read_header(xmlNode* node, Package& p) {
  return read_children(
      node,
      {{"MessageHeader", [&p](xmlNode* n, const Sink&) { return read_message_header(n, p); }, false,
        kRequired},
       {"TraceHeaderList",
        [&p](xmlNode* n, const Sink&) {
          return read_trace_header_list(n, p.trace_header_list.emplace());
        }},
       // The XML-DSig signature belongs to the signing module.
       {"Signature", skip(), kRepeated, false, kXmlDsigNamespace}},
      p.extra_header);
}

// The model has no `extra` for edXMLBody and edXMLManifest: their unknown children go to the
// envelope's.
Expected<void> read_envelope(xmlNode* node, Package& p) {
  Handler manifest = [&p](xmlNode* n, const Sink& sink) {
    xml_attribute(n, "version", p.manifest_version);
    return read_children(n, {{"Reference", append(p.manifest, read_reference), kRepeated}}, sink);
  };
  Handler body = [&p, manifest](xmlNode* n, const Sink& sink) {
    p.has_body = true;
    return read_children(n, {{"edXMLManifest", manifest}}, sink);
  };
  return read_children(node,
                       {{"edXMLHeader", [&p](xmlNode* n, const Sink&) { return read_header(n, p); },
                         false, kRequired},
                        {"edXMLBody", body}},
                       p.extra_envelope);
}

// Nor for AttachmentEncoded: its unknown children go to the root's.
Expected<void> read_root(xmlNode* node, Package& p, AttachmentData mode) {
  Handler attachment = [&p, mode](xmlNode* n, const Sink&) {
    return read_attachment(n, p.attachments.emplace_back(), mode);
  };
  return read_children(
      node,
      {{"edXMLEnvelope", [&p](xmlNode* n, const Sink&) { return read_envelope(n, p); }, false,
        kRequired},
       {"AttachmentEncoded", group({{"Attachment", attachment, kRepeated}}), kRepeated}},
      p.extra_root);
}

// ------------------------------------------------------------------------------------------------
// Encoding

class Writer {
 public:
  Writer() : doc_(xmlNewDoc(to_xml("1.0"))) {
    root_ = xmlNewDocNode(doc_.get(), nullptr, to_xml("edXML"), nullptr);
    xmlDocSetRootElement(doc_.get(), root_);
    edxml_ = xmlNewNs(root_, to_xml(std::string(kEdxmlNamespace).c_str()), to_xml("edXML"));
    xmlSetNs(root_, edxml_);
  }

  xmlNode* root() const { return root_; }
  XmlDoc release() { return std::move(doc_); }

  // An `edXML:` element with no text, appended to parent.
  xmlNode* element(xmlNode* parent, const char* name) {
    return xmlNewChild(parent, edxml_, to_xml(name), nullptr);
  }

  // An `edXML:` leaf; empty text gives an empty element. Text is escaped on serialisation.
  void leaf(xmlNode* parent, const char* name, const std::string& text) {
    xmlNewTextChild(parent, edxml_, to_xml(name), text.empty() ? nullptr : to_xml(text.c_str()));
  }
  void leaf(xmlNode* parent, const char* name, const std::optional<int>& value) {
    leaf(parent, name, value ? std::to_string(*value) : std::string());
  }
  void leaf(xmlNode* parent, const char* name, const std::optional<Date>& value) {
    leaf(parent, name, value ? format_edxml_date(*value) : std::string());
  }
  void leaf(xmlNode* parent, const char* name, const std::optional<DateTime>& value) {
    leaf(parent, name, value ? format_edxml_date_time(*value) : std::string());
  }

  void extras(xmlNode* parent, const std::vector<ExtraElement>& elements) {
    for (const ExtraElement& e : elements) extra(parent, e);
  }

  void extra(xmlNode* parent, const ExtraElement& e) {
    xmlNode* node = xmlNewDocNode(doc_.get(), nullptr, to_xml(e.name.c_str()), nullptr);
    xmlAddChild(parent, node);  // linked first, so that namespace look-ups see the ancestors
    xmlSetNs(node, namespace_for(node, e.ns));
    for (const auto& [name, value] : e.attributes) {
      // A namespaced attribute is written `{uri}local` in the model.
      const auto close = name.find('}');
      if (!name.empty() && name.front() == '{' && close != std::string::npos) {
        const std::string local = name.substr(close + 1);
        xmlSetNsProp(node, namespace_for(node, name.substr(1, close - 1)), to_xml(local.c_str()),
                     to_xml(value.c_str()));
      } else {
        xmlSetNsProp(node, nullptr, to_xml(name.c_str()), to_xml(value.c_str()));
      }
    }
    if (!e.text.empty()) xmlAddChild(node, xmlNewDocText(doc_.get(), to_xml(e.text.c_str())));
    extras(node, e.children);
  }

 private:
  // The namespace `uri` in scope at node, declared on node with a fresh prefix when needed.
  xmlNs* namespace_for(xmlNode* node, const std::string& uri) {
    if (uri.empty()) return nullptr;
    if (uri == kEdxmlNamespace) return edxml_;
    xmlNs* ns = xmlSearchNsByHref(doc_.get(), node, to_xml(uri.c_str()));
    if (ns && ns->prefix) return ns;
    const std::string prefix = "ns" + std::to_string(++prefixes_);
    return xmlNewNs(node, to_xml(uri.c_str()), to_xml(prefix.c_str()));
  }

  XmlDoc doc_;
  xmlNode* root_ = nullptr;
  xmlNs* edxml_ = nullptr;
  int prefixes_ = 0;
};

void write_organization(Writer& w, xmlNode* parent, const char* name, const Organization& o) {
  xmlNode* n = w.element(parent, name);
  w.leaf(n, "OrganId", o.organ_id);
  w.leaf(n, "OrganizationInCharge", o.organization_in_charge);
  w.leaf(n, "OrganName", o.organ_name);
  w.leaf(n, "OrganAdd", o.organ_add);
  w.leaf(n, "Email", o.email);
  w.leaf(n, "Telephone", o.telephone);
  w.leaf(n, "Fax", o.fax);
  w.leaf(n, "Website", o.website);
  w.extras(n, o.extra);
}

void write_staff_info(Writer& w, xmlNode* parent, const StaffInfo& s) {
  xmlNode* n = w.element(parent, "StaffInfo");
  w.leaf(n, "Department", s.department);
  w.leaf(n, "Staff", s.staff);
  w.leaf(n, "Email", s.email);
  w.leaf(n, "Mobile", s.mobile);
  w.extras(n, s.extra);
}

void write_document_header(Writer& w, xmlNode* n, const DocumentHeader& h) {
  write_organization(w, n, "From", h.from);
  for (const Organization& to : h.to) write_organization(w, n, "To", to);
  w.leaf(n, "DocumentId", h.document_id);
  xmlNode* code = w.element(n, "Code");
  w.leaf(code, "CodeNumber", h.code_number);
  w.leaf(code, "CodeNotation", h.code_notation);
  xmlNode* promulgation = w.element(n, "PromulgationInfo");
  w.leaf(promulgation, "Place", h.promulgation_place);
  w.leaf(promulgation, "PromulgationDate", h.promulgation_date);
  xmlNode* type = w.element(n, "DocumentType");
  w.leaf(type, "Type", h.type);
  w.leaf(type, "TypeDetail", h.type_detail);
  w.leaf(type, "TypeName", h.type_name);
  w.leaf(n, "Subject", h.subject);
  w.leaf(n, "Content", h.content);
  xmlNode* signer = w.element(n, "SignerInfo");
  w.leaf(signer, "Competence", h.signer_competence);
  w.leaf(signer, "Position", h.signer_position);
  w.leaf(signer, "FullName", h.signer_full_name);
  w.leaf(n, "DueDate", h.due_date);
  xmlNode* places = w.element(n, "ToPlaces");
  for (const std::string& place : h.to_places) w.leaf(places, "Place", place);
  xmlNode* other = w.element(n, "OtherInfo");
  const OtherInfo& o = h.other_info;
  w.leaf(other, "Priority", o.priority);
  w.leaf(other, "SphereOfPromulgation", o.sphere_of_promulgation);
  w.leaf(other, "TyperNotation", o.typer_notation);
  w.leaf(other, "PromulgationAmount", o.promulgation_amount);
  w.leaf(other, "PageAmount", o.page_amount);
  w.leaf(other, "Direction", o.direction);
  xmlNode* appendixes = w.element(other, "Appendixes");
  for (const std::string& appendix : o.appendixes) w.leaf(appendixes, "Appendix", appendix);
  w.extras(other, o.extra);
  w.leaf(n, "SteeringType", h.steering_type);
  w.extras(n, h.response_for);
  w.extras(n, h.extra);
}

void write_status_header(Writer& w, xmlNode* n, const StatusHeader& s) {
  write_organization(w, n, "From", s.from);
  xmlNode* r = w.element(n, "ResponseFor");
  w.leaf(r, "OrganId", s.response_for.organ_id);
  w.leaf(r, "Code", s.response_for.code);
  w.leaf(r, "PromulgationDate", s.response_for.promulgation_date);
  w.leaf(r, "DocumentId", s.response_for.document_id);
  w.extras(r, s.response_for.extra);
  write_staff_info(w, n, s.staff_info);
  w.leaf(n, "StatusCode", s.status_code);  // always written: it is what makes a status packet
  w.leaf(n, "Description", s.description);
  w.leaf(n, "Timestamp", s.timestamp);
  w.extras(n, s.extra);
}

void write_trace_header_list(Writer& w, xmlNode* parent, const TraceHeaderList& l) {
  xmlNode* n = w.element(parent, "TraceHeaderList");
  for (const TraceHeader& t : l.trace_headers) {
    xmlNode* trace = w.element(n, "TraceHeader");
    w.leaf(trace, "OrganId", t.organ_id);
    w.leaf(trace, "Timestamp", t.timestamp);
    w.extras(trace, t.extra);
  }
  if (l.business) {
    const Business& b = *l.business;
    xmlNode* business = w.element(n, "Bussiness");
    w.leaf(business, "DocumentId", b.document_id);
    w.leaf(business, "BussinessDocType", b.doc_type);
    w.leaf(business, "BussinessDocReason", b.doc_reason);
    w.leaf(business, "Paper", b.paper);
    write_staff_info(w, business, b.staff_info);
    if (!b.replacement_info_list.empty()) {
      w.extras(w.element(business, "ReplacementInfoList"), b.replacement_info_list);
    }
    w.extras(business, b.extra);
  }
  w.extras(n, l.extra);
}

void write_body(Writer& w, xmlNode* envelope, const Package& p) {
  xmlNode* manifest = w.element(w.element(envelope, "edXMLBody"), "edXMLManifest");
  if (!p.manifest_version.empty()) {
    xmlSetProp(manifest, to_xml("version"), to_xml(p.manifest_version.c_str()));
  }
  for (const ManifestReference& r : p.manifest) {
    xmlNode* n = w.element(manifest, "Reference");
    w.leaf(n, "ContentId", r.content_id);
    w.leaf(n, "ContentType", r.content_type);
    w.leaf(n, "Description", r.description);
    w.leaf(n, "AttachmentName", r.attachment_name);
    w.extras(n, r.extra);
  }
}

void write_attachments(Writer& w, const std::vector<Attachment>& attachments) {
  xmlNode* encoded = w.element(w.root(), "AttachmentEncoded");
  for (const Attachment& a : attachments) {
    xmlNode* n = w.element(encoded, "Attachment");
    w.leaf(n, "ContentId", a.content_id);
    w.leaf(n, "AttachmentName", a.attachment_name);
    w.leaf(n, "Description", a.description);
    w.leaf(n, "ContentType", a.content_type);
    w.leaf(n, "ContentTransferEncoded", base64_encode(a.data));
    w.extras(n, a.extra);
  }
}

}  // namespace

bool parse_edxml_date(std::string_view text, Date& out) {
  text = trim(text);
  std::size_t pos = 0;
  Date d;
  if (!read_date(text, pos, d) || pos != text.size()) return false;
  out = d;
  return true;
}

bool parse_edxml_date_time(std::string_view text, DateTime& out) {
  text = trim(text);
  std::size_t pos = 0;
  DateTime t;
  if (!read_date(text, pos, t.date)) return false;
  if (pos < text.size() && text[pos] == 'T') {
    ++pos;
  } else {
    const std::size_t spaces = pos;
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos == spaces) return false;
  }
  if (!read_digits(text, pos, 1, 2, t.hour) || pos >= text.size() || text[pos++] != ':' ||
      !read_digits(text, pos, 2, 2, t.minute) || pos >= text.size() || text[pos++] != ':' ||
      !read_digits(text, pos, 2, 2, t.second) || pos != text.size()) {
    return false;
  }
  if (t.hour > 23 || t.minute > 59 || t.second > 59) return false;
  out = t;
  return true;
}

std::string format_edxml_date(const Date& d) {
  return pad(d.year, 4) + "/" + pad(d.month, 2) + "/" + pad(d.day, 2);
}

std::string format_edxml_date_time(const DateTime& t) {
  return format_edxml_date(t.date) + " " + pad(t.hour, 2) + ":" + pad(t.minute, 2) + ":" +
         pad(t.second, 2);
}

Expected<Package> decode_edxml(std::string_view bytes, const XmlLimits& limits) {
  auto doc = parse_xml(bytes, limits);
  if (!doc) return std::move(doc).error();
  return decode_edxml(doc->get());
}

Expected<Package> decode_edxml(xmlDoc* doc, AttachmentData mode) {
  xmlNode* root = doc ? xmlDocGetRootElement(doc) : nullptr;
  if (!root) return Error{"edxml.not_edxml", "the document has no root element"};
  if (xml_local_name(root) != "edXML" || !in_edxml_namespace(root)) {
    std::string ns = std::string(xml_ns_uri(root));
    return Error{"edxml.not_edxml", at(root) + (ns.empty() ? "" : " in namespace '" + ns + "'") +
                                        " is not an edXML package: the root must be <edXML>, " +
                                        "in namespace '" + std::string(kEdxmlNamespace) +
                                        "' or in none"};
  }
  if (auto r = check_prefixes(root); !r) return r.error();
  Package p;
  if (auto r = read_root(root, p, mode); !r) return r.error();
  return p;
}

XmlDoc encode_edxml_doc(const Package& p) {
  Writer w;
  xmlNode* envelope = w.element(w.root(), "edXMLEnvelope");
  xmlNode* header = w.element(envelope, "edXMLHeader");
  xmlNode* message = w.element(header, "MessageHeader");
  if (p.kind == PackageKind::status) {
    write_status_header(w, message, p.status);
  } else {
    write_document_header(w, message, p.document);
  }
  if (p.trace_header_list) write_trace_header_list(w, header, *p.trace_header_list);
  w.extras(header, p.extra_header);
  // A manifest is never dropped, even when has_body was left false by hand.
  if (p.has_body || !p.manifest.empty() || !p.manifest_version.empty()) write_body(w, envelope, p);
  w.extras(envelope, p.extra_envelope);
  if (!p.attachments.empty()) write_attachments(w, p.attachments);
  w.extras(w.root(), p.extra_root);
  return w.release();
}

std::string encode_edxml(const Package& p) {
  XmlDoc doc = encode_edxml_doc(p);
  return serialize_xml(doc.get(), true);
}

}  // namespace lienthong
