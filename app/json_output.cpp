#include "app/json_output.hpp"

#include <boost/json.hpp>

#include "adapters/edxml/codec.hpp"
#include "signing/crypto.hpp"

namespace lienthong::cli {
namespace json = boost::json;

namespace {

json::value opt(const std::optional<int>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(const std::optional<Date>& d) {
  return d ? json::value(format_edxml_date(*d)) : json::value(nullptr);
}
json::value opt(const std::optional<DateTime>& t) {
  return t ? json::value(format_edxml_date_time(*t)) : json::value(nullptr);
}

json::value extra(const std::vector<ExtraElement>& elements) {
  json::array out;
  for (const auto& e : elements) {
    json::object o{{"name", e.name}, {"text", e.text}};
    if (!e.ns.empty()) o["ns"] = e.ns;
    if (!e.attributes.empty()) {
      json::object attrs;
      for (const auto& [k, v] : e.attributes) attrs[k] = v;
      o["attributes"] = std::move(attrs);
    }
    if (!e.children.empty()) o["children"] = extra(e.children);
    out.push_back(std::move(o));
  }
  return out;
}

json::object organization(const Organization& o) {
  json::object j{{"organ_id", o.organ_id},
                 {"organization_in_charge", o.organization_in_charge},
                 {"organ_name", o.organ_name},
                 {"organ_add", o.organ_add},
                 {"email", o.email},
                 {"telephone", o.telephone},
                 {"fax", o.fax},
                 {"website", o.website}};
  if (!o.extra.empty()) j["extra"] = extra(o.extra);
  return j;
}

json::object staff(const StaffInfo& s) {
  json::object j{
      {"department", s.department}, {"staff", s.staff}, {"email", s.email}, {"mobile", s.mobile}};
  if (!s.extra.empty()) j["extra"] = extra(s.extra);
  return j;
}

}  // namespace

json::value to_json(const Verdict& v) {
  json::array sigs;
  for (const auto& s : v.signatures) {
    json::object o{{"index", s.index},
                   {"role", to_string(s.role)},
                   {"verdict", to_string(s.code)},
                   {"reason", s.reason},
                   {"subject", s.subject},
                   {"common_name", s.common_name},
                   {"issuer", s.issuer},
                   {"serial", s.serial},
                   {"fingerprint_sha256", s.fingerprint_sha256},
                   {"signing_time", s.signing_time ? json::value(format_utc(*s.signing_time))
                                                   : json::value(nullptr)},
                   {"signature_algorithm", s.signature_algorithm},
                   {"digest_algorithm", s.digest_algorithm},
                   {"weak", s.weak},
                   {"line", s.line}};
    sigs.push_back(std::move(o));
  }
  json::array notes;
  for (const auto& n : v.notes) notes.push_back(json::value(n));
  return json::object{{"valid", v.valid()}, {"verdict", to_string(v.code)}, {"reason", v.reason},
                      {"weak", v.weak},     {"signatures", sigs},           {"notes", notes}};
}

json::value to_json(const Package& p) {
  json::object j;
  j["kind"] = p.kind == PackageKind::document ? "document" : "status";
  if (p.kind == PackageKind::document) {
    const auto& d = p.document;
    json::array to;
    for (const auto& o : d.to) to.push_back(organization(o));
    json::array places;
    for (const auto& s : d.to_places) places.push_back(json::value(s));
    json::array appendixes;
    for (const auto& s : d.other_info.appendixes) appendixes.push_back(json::value(s));
    json::object other{{"priority", opt(d.other_info.priority)},
                       {"sphere_of_promulgation", d.other_info.sphere_of_promulgation},
                       {"typer_notation", d.other_info.typer_notation},
                       {"promulgation_amount", opt(d.other_info.promulgation_amount)},
                       {"page_amount", opt(d.other_info.page_amount)},
                       {"direction", d.other_info.direction},
                       {"appendixes", appendixes}};
    if (!d.other_info.extra.empty()) other["extra"] = extra(d.other_info.extra);
    json::object header{{"from", organization(d.from)},
                        {"to", to},
                        {"document_id", d.document_id},
                        {"code_number", d.code_number},
                        {"code_notation", d.code_notation},
                        {"promulgation_place", d.promulgation_place},
                        {"promulgation_date", opt(d.promulgation_date)},
                        {"type", d.type},
                        {"type_detail", d.type_detail},
                        {"type_name", d.type_name},
                        {"subject", d.subject},
                        {"content", d.content},
                        {"signer", json::object{{"competence", d.signer_competence},
                                                {"position", d.signer_position},
                                                {"full_name", d.signer_full_name}}},
                        {"due_date", opt(d.due_date)},
                        {"to_places", places},
                        {"other_info", other},
                        {"steering_type", opt(d.steering_type)}};
    if (!d.response_for.empty()) header["response_for"] = extra(d.response_for);
    if (!d.extra.empty()) header["extra"] = extra(d.extra);
    j["message_header"] = std::move(header);
  } else {
    const auto& s = p.status;
    const char* meaning = status_code_meaning(s.status_code);
    json::object header{
        {"from", organization(s.from)},
        {"response_for", json::object{{"organ_id", s.response_for.organ_id},
                                      {"code", s.response_for.code},
                                      {"promulgation_date", opt(s.response_for.promulgation_date)},
                                      {"document_id", s.response_for.document_id}}},
        {"staff_info", staff(s.staff_info)},
        {"status_code", s.status_code},
        {"status_meaning", meaning ? json::value(meaning) : json::value(nullptr)},
        {"description", s.description},
        {"timestamp", opt(s.timestamp)}};
    if (!s.extra.empty()) header["extra"] = extra(s.extra);
    j["message_header"] = std::move(header);
  }
  if (p.trace_header_list) {
    json::array traces;
    for (const auto& t : p.trace_header_list->trace_headers) {
      traces.push_back(json::object{{"organ_id", t.organ_id}, {"timestamp", opt(t.timestamp)}});
    }
    json::object trace{{"trace_headers", traces}};
    if (const auto& b = p.trace_header_list->business) {
      trace["business"] = json::object{{"document_id", b->document_id},
                                       {"doc_type", opt(b->doc_type)},
                                       {"doc_reason", b->doc_reason},
                                       {"paper", opt(b->paper)},
                                       {"staff_info", staff(b->staff_info)},
                                       {"replacement_info_list", extra(b->replacement_info_list)}};
    }
    j["trace_header_list"] = std::move(trace);
  }
  json::array manifest;
  for (const auto& r : p.manifest) {
    manifest.push_back(json::object{{"content_id", r.content_id},
                                    {"content_type", r.content_type},
                                    {"description", r.description},
                                    {"attachment_name", r.attachment_name}});
  }
  j["manifest"] = std::move(manifest);
  json::array attachments;
  for (const auto& a : p.attachments) {
    attachments.push_back(json::object{{"content_id", a.content_id},
                                       {"attachment_name", a.attachment_name},
                                       {"description", a.description},
                                       {"content_type", a.content_type},
                                       {"size", a.data.size()},
                                       {"sha256", a.sha256_hex}});
  }
  j["attachments"] = std::move(attachments);
  if (!p.extra_header.empty()) j["extra_header"] = extra(p.extra_header);
  if (!p.extra_envelope.empty()) j["extra_envelope"] = extra(p.extra_envelope);
  if (!p.extra_root.empty()) j["extra_root"] = extra(p.extra_root);
  return j;
}

}  // namespace lienthong::cli
