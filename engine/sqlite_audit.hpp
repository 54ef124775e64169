#pragma once

// How an audit event is read from its table: shared by the store and the audit log, which each
// have their own connection to the same database.

#include "engine/sqlite.hpp"
#include "engine/store.hpp"

namespace lienthong::sqlite {

// Select these, in this order, for audit_event_from.
inline constexpr const char* kAuditEventColumns =
    "seq, at, actor, agency, action, document, detail, request_id, prev_hash, hash";

inline AuditEvent audit_event_from(const Stmt& st) {
  AuditEvent e;
  e.seq = st.int64(0);
  e.at = st.int64(1);
  e.actor = st.text(2);
  e.agency = st.text(3);
  e.action = st.text(4);
  e.document = st.int64(5);
  e.detail = st.text(6);
  e.request_id = st.text(7);
  e.prev_hash = st.blob(8);
  e.hash = st.blob(9);
  return e;
}

}  // namespace lienthong::sqlite
