#pragma once

#include <string>
#include <vector>

#include "engine/directory.hpp"
#include "engine/router.hpp"
#include "engine/store.hpp"
#include "workflows/calendar.hpp"

namespace lienthong {

// A hand-over that happened on paper (or electronically with a paper copy), registered by a clerk
// so that the electronic share has a true denominator.
struct PaperRegistration {
  std::string document_id;  // as on the paper: OrganId,yyyy/MM/dd,Number/Notation or free text
  std::string subject;
  std::string document_type;
  std::string from;
  std::string to;
  std::string channel = "paper";  // paper | electronic+paper
};

// Checks a registration made by a clerk of `clerk_agency`, who must be its sender or recipient.
Expected<void> check(const PaperRegistration& paper, const Directory& directory,
                     const std::string& clerk_agency);
Expected<std::int64_t> register_paper(StoreTx& tx, const PaperRegistration& paper,
                                      const Cause& cause, Timestamp now);

// A dossier received at an agency's one-stop desk.
struct DossierRegistration {
  std::string agency;  // the one-stop desk's agency, owner of the dossier workflow
  std::string procedure;
  std::string applicant;
  std::string channel;                 // online | in_person | post
  std::vector<std::string> consulted;  // agencies the dossier passes through
};

Expected<void> check(const DossierRegistration& dossier, const Directory& directory);
// Numbers the dossier {agency}-{yyMMdd}-{NNNN} (local day, no gaps) and starts `workflow`.
Expected<DossierRecord> register_dossier(StoreTx& tx, const Router& router,
                                         const BusinessCalendar& calendar,
                                         const DossierRegistration& dossier,
                                         const std::string& workflow, const Cause& cause,
                                         Timestamp now);

}  // namespace lienthong
