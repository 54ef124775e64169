#include "engine/registration.hpp"

#include <cstdio>

#include "base/agency_code.hpp"
#include "base/encoding.hpp"

namespace lienthong {

namespace {

Expected<void> known(const Directory& directory, const std::string& code, const char* what) {
  if (auto ok = validate_agency_code(code); !ok) {
    return Error{"registration.invalid", std::string(what) + ": " + ok.error().message};
  }
  if (!directory.find(code)) {
    return Error{"registration.unknown_agency",
                 std::string(what) + " " + code + " is not in this node's directory"};
  }
  return {};
}

Expected<void> at_most(const std::string& text, const char* what, std::size_t max) {
  if (text.size() <= max) return {};
  return Error{"registration.invalid",
               std::string(what) + " is longer than " + std::to_string(max) + " bytes"};
}

}  // namespace

Expected<void> check(const PaperRegistration& p, const Directory& directory,
                     const std::string& clerk_agency) {
  if (p.document_id.empty()) return Error{"registration.invalid", "document_id is required"};
  if (auto r = at_most(p.document_id, "document_id", 200); !r) return r;
  if (auto r = at_most(p.subject, "subject", 2000); !r) return r;
  if (auto r = at_most(p.document_type, "document_type", 100); !r) return r;
  if (p.channel != "paper" && p.channel != "electronic+paper") {
    return Error{"registration.invalid", "channel must be paper or electronic+paper"};
  }
  if (auto r = known(directory, p.from, "from"); !r) return r;
  if (auto r = known(directory, p.to, "to"); !r) return r;
  if (p.from == p.to) return Error{"registration.invalid", "from and to are the same agency"};
  if (!clerk_agency.empty() && clerk_agency != p.from && clerk_agency != p.to) {
    return Error{
        "registration.forbidden",
        "a clerk of " + clerk_agency + " registers only what their agency sent or received"};
  }
  return {};
}

Expected<std::int64_t> register_paper(StoreTx& tx, const PaperRegistration& p, const Cause& cause,
                                      Timestamp now) {
  NewDocument doc;
  doc.message_id = "paper|" + p.from + "|" + p.to + "|" + p.document_id;
  auto existing = tx.document_by_message_id(doc.message_id);
  if (!existing) return existing.error();
  if (*existing) {
    return Error{
        "registration.duplicate",
        "this paper hand-over is already registered as document " + std::to_string(**existing)};
  }
  doc.kind = "paper";
  doc.sender = p.from;
  doc.recipients = {p.to};
  doc.document_id = p.document_id;
  doc.subject = p.subject;
  doc.received_at = now;
  doc.original =
      "{\"document_id\":" + json_quote(p.document_id) + ",\"subject\":" + json_quote(p.subject) +
      ",\"type\":" + json_quote(p.document_type) + ",\"channel\":" + json_quote(p.channel) + "}";
  auto id = tx.insert_document(doc);
  if (!id) return id.error();
  if (auto r = tx.record_hand_over(
          {*id, p.from, p.to, p.channel, p.document_type, now, cause.actor, cause.request_id});
      !r)
    return r.error();
  AuditEvent e;
  e.at = now;
  e.actor = cause.actor;
  e.agency = cause.agency.empty() ? p.to : cause.agency;
  e.action = "paper.registered";
  e.document = *id;
  e.detail = doc.original;
  e.request_id = cause.request_id;
  if (auto a = tx.append_audit(std::move(e)); !a) return a.error();
  return *id;
}

Expected<void> check(const DossierRegistration& d, const Directory& directory) {
  if (auto r = known(directory, d.agency, "agency"); !r) return r;
  if (d.procedure.empty() || d.procedure.size() > 100) {
    return Error{"registration.invalid", "procedure is required (at most 100 bytes)"};
  }
  if (d.applicant.empty() || d.applicant.size() > 500) {
    return Error{"registration.invalid", "applicant is required (at most 500 bytes)"};
  }
  if (d.channel != "online" && d.channel != "in_person" && d.channel != "post") {
    return Error{"registration.invalid", "channel must be online, in_person or post"};
  }
  if (d.consulted.size() > 50)
    return Error{"registration.invalid", "at most 50 consulted agencies"};
  for (const auto& c : d.consulted) {
    if (auto r = known(directory, c, "consulted agency"); !r) return r;
  }
  return {};
}

Expected<DossierRecord> register_dossier(StoreTx& tx, const Router& router,
                                         const BusinessCalendar& calendar,
                                         const DossierRegistration& d, const std::string& workflow,
                                         const Cause& cause, Timestamp now) {
  const CivilDate day = calendar.local_date(now);
  char yymmdd[32];
  std::snprintf(yymmdd, sizeof yymmdd, "%02d%02d%02d", day.year % 100, day.month, day.day);
  auto n = tx.next_dossier_number(d.agency, yymmdd);
  if (!n) return n.error();
  if (*n > 9999) return Error{"registration.full", "more than 9999 dossiers today at " + d.agency};
  char number[16];
  std::snprintf(number, sizeof number, "%04d", *n);
  DossierRecord record;
  record.code = d.agency + "-" + yymmdd + "-" + number;
  record.agency = d.agency;
  record.procedure = d.procedure;
  record.applicant = d.applicant;
  record.channel = d.channel;
  record.submitted_at = now;

  NewDocument doc;
  doc.message_id = "dossier|" + record.code;
  doc.kind = "dossier";
  doc.sender = d.agency;
  doc.recipients = d.consulted;
  doc.document_id = record.code;
  doc.subject = d.procedure + ": " + d.applicant;
  doc.received_at = now;
  doc.original =
      "{\"code\":" + json_quote(record.code) + ",\"procedure\":" + json_quote(d.procedure) +
      ",\"applicant\":" + json_quote(d.applicant) + ",\"channel\":" + json_quote(d.channel) + "}";
  auto id = tx.insert_document(doc);
  if (!id) return id.error();
  record.document = *id;
  AuditEvent e;
  e.at = now;
  e.actor = cause.actor;
  e.agency = d.agency;
  e.action = "dossier.registered";
  e.document = *id;
  e.detail = doc.original;
  e.request_id = cause.request_id;
  e.tally = Tally{.agency = d.agency, .type = "dossier", .channel = d.channel, .dossiers = 1};
  if (auto a = tx.append_audit(std::move(e)); !a) return a.error();

  DocumentFacts facts;
  facts.type = "dossier";
  facts.sender = d.agency;
  facts.recipients = d.consulted;
  facts.meta = {{"procedure", d.procedure}, {"channel", d.channel}, {"code", record.code}};
  auto instance = router.start(tx, workflow, *id, d.agency, facts, cause, now);
  if (!instance) return instance.error();
  record.instance = *instance;
  if (auto r = tx.insert_dossier(record); !r) return r.error();
  return record;
}

}  // namespace lienthong
