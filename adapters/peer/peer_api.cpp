#include "adapters/peer/peer_api.hpp"

#include <openssl/x509v3.h>

#include "adapters/http_api/api.hpp"
#include "base/encoding.hpp"

namespace lienthong {

Expected<void> PeerIdentities::add(const std::string& peer, std::string_view trust_pem) {
  auto certs = load_certificates_pem(trust_pem);
  if (!certs) return certs.error();
  if (certs->empty()) return Error{"peer.trust", "no certificate for peer " + peer};
  Cert& first = certs->front();
  if (X509_check_ca(first.get()) == 0) {
    pinned_[cert_fingerprint_sha256(first.get())] = peer;
  } else {
    by_ca_.emplace_back(std::move(first), peer);
  }
  return {};
}

std::optional<std::string> PeerIdentities::identify(std::string_view certificate_der) const {
  if (certificate_der.empty()) return std::nullopt;
  // A certificate's fingerprint is the SHA-256 of its DER: no need to parse it for a pinned peer,
  // nor again for one already identified (the TLS layer verified its chain on this connection).
  const std::string fingerprint = sha256_hex(certificate_der);
  if (auto it = pinned_.find(fingerprint); it != pinned_.end()) return it->second;
  if (by_ca_.empty()) return std::nullopt;
  {
    std::lock_guard lock(mutex_);
    if (auto it = issued_.find(fingerprint); it != issued_.end()) return it->second;
  }
  auto cert = load_certificate_der(certificate_der);
  if (!cert) return std::nullopt;
  for (const auto& [ca, peer] : by_ca_) {
    // The TLS layer verified the chain to the client CA; this CA must be the direct issuer.
    if (X509_check_issued(ca.get(), cert->get()) == X509_V_OK && common_name(cert->get()) == peer) {
      std::lock_guard lock(mutex_);
      if (issued_.size() >= kMaxIssued) issued_.clear();
      issued_.emplace(fingerprint, peer);
      return peer;
    }
  }
  return std::nullopt;
}

namespace {

HttpResponse json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// One package's answer: the HTTP status and JSON object that POST /peer/v1/packages answers with,
// which is also one result of a batch. The statuses it owes are signed when it is written out.
struct PackageAnswer {
  int status = 0;
  std::string members;  // of the JSON object, without braces and without "statuses"
  std::vector<OwedStatus> owed;
  std::shared_ptr<const Package> package;
};

PackageAnswer answer_of(Expected<IntakeReceipt>&& r) {
  PackageAnswer a;
  if (!r) {
    a.status = http_status_of(r.error());
    a.members = "\"error\":{\"code\":" + json_quote(r.error().code) +
                ",\"message\":" + json_quote(r.error().message) + "}";
    return a;
  }
  a.status = r->duplicate ? 200 : 202;
  a.members = "\"id\":" + std::to_string(r->document) +
              ",\"message_id\":" + json_quote(r->message_id) +
              ",\"duplicate\":" + (r->duplicate ? "true" : "false");
  a.owed = std::move(r->statuses);
  a.package = std::move(r->package);
  return a;
}

// Signs what an answer owes and adds it as "statuses". The statuses count as delivered here: one
// that cannot be signed turns the answer into a 503, so that the sender tries again and the copy
// it sends brings them back.
void sign_owed(const StatusPackager& packager, PackageAnswer& a) {
  if (a.owed.empty()) return;
  std::string statuses;
  for (const OwedStatus& s : a.owed) {
    auto packet = packager.status_packet(s.from, *a.package, s.code, s.at);
    if (!packet) {
      a = answer_of(packet.error());
      a.status = 503;
      return;
    }
    statuses += (statuses.empty() ? "" : ",") + json_quote(*packet);
  }
  a.members += ",\"statuses\":[" + statuses + "]";
  a.owed.clear();
}

}  // namespace

Expected<std::vector<std::string>> split_batch(std::string_view body, std::size_t max_parts) {
  std::vector<std::string> parts;
  while (!body.empty()) {
    const std::size_t eol = body.find('\n');
    const std::string_view digits = body.substr(0, eol);
    if (eol == std::string_view::npos || digits.empty() || digits.size() > 12 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return Error{"peer.bad_batch", "part " + std::to_string(parts.size() + 1) +
                                         " does not start with its size in bytes and a newline"};
    }
    const std::size_t size = std::stoull(std::string(digits));
    body.remove_prefix(eol + 1);
    if (size >= body.size() || body[size] != '\n') {
      return Error{"peer.bad_batch", "part " + std::to_string(parts.size() + 1) + " is not " +
                                         std::to_string(size) + " bytes followed by a newline"};
    }
    if (parts.size() == max_parts) {
      return Error{"peer.bad_batch",
                   "a batch holds at most " + std::to_string(max_parts) + " packages"};
    }
    parts.emplace_back(body.substr(0, size));
    body.remove_prefix(size + 1);
  }
  if (parts.empty()) return Error{"peer.bad_batch", "the batch holds no package"};
  return parts;
}

void PeerApi::handle(HttpRequest&& req, Responder respond) {
  const std::string request_id = ctx_.node_id + "-peer-" + std::to_string(next_request_++);
  auto peer = ctx_.peers.identify(req.client_certificate_der);
  auto log = ctx_.log;
  auto reply = [respond, request_id, log, peer, target = req.target](HttpResponse r) {
    r.headers.emplace_back("X-Request-Id", request_id);
    auto note = [log, request_id, peer, target](int status) {
      if (!log) return;
      log("{\"event\":\"peer_request\",\"request_id\":" + json_quote(request_id) +
          ",\"peer\":" + json_quote(peer.value_or("")) + ",\"target\":" + json_quote(target) +
          ",\"status\":" + std::to_string(status) + "}");
    };
    if (!r.finish) {
      note(r.status);
    } else {
      // The status is final only once `finish` ran (signing the owed statuses may turn it 503);
      // the server answers 500 when it throws.
      r.finish = [finish = std::move(r.finish), note](HttpResponse& out) {
        try {
          finish(out);
        } catch (...) {
          note(500);
          throw;
        }
        note(out.status);
      };
    }
    respond(std::move(r));
  };
  if (!peer) {
    return reply(json_error(403, "peer.unknown_node",
                            "the client certificate belongs to no peer node configured here"));
  }
  std::string path = req.target.substr(0, req.target.find('?'));
  if (path == "/peer/v1/healthz") {
    if (req.method != "GET") return reply(json_error(405, "http.method", "use GET"));
    return reply(
        json(200, "{\"node\":" + json_quote(ctx_.node_id) + ",\"you\":" + json_quote(*peer) + "}"));
  }
  const bool batch = path == "/peer/v1/batches";
  if (path != "/peer/v1/packages" && !batch) {
    return reply(json_error(404, "http.not_found", "no such resource: " + req.target));
  }
  if (req.method != "POST") return reply(json_error(405, "http.method", "use POST"));
  Submitter who{"peer:" + *peer, "", request_id, *peer};
  who.statuses_in_ack = ctx_.packager && req.header("X-Lienthong-Ack") == "statuses";
  auto changed = ctx_.changed;
  const StatusPackager* packager = ctx_.packager;
  if (!batch) {
    ctx_.intake.submit(PackageBytes{std::move(req.body), std::move(req.body_file)}, std::move(who),
                       [reply, changed, packager](Expected<IntakeReceipt> r) {
                         if (changed && r && !r->duplicate) changed();
                         auto a = std::make_shared<PackageAnswer>(answer_of(std::move(r)));
                         HttpResponse answer = json(a->status, "");
                         // Signed on the connection's thread, not the store's writer that runs
                         // this.
                         answer.finish = [packager, a](HttpResponse& out) {
                           if (packager) sign_owed(*packager, *a);
                           out.status = a->status;
                           out.body = "{" + a->members + "}";
                         };
                         reply(std::move(answer));
                       });
    return;
  }
  auto body = PackageBytes{std::move(req.body), std::move(req.body_file)}.read_all();
  if (!body) return reply(json_error(500, body.error().code, body.error().message));
  auto parts = split_batch(*body, kMaxBatch);
  if (!parts) return reply(json_error(400, parts.error().code, parts.error().message));
  // Each package goes through intake on its own (the writer groups their commits); the answer
  // goes once the last is settled.
  struct Batch {
    std::mutex mutex;
    std::vector<PackageAnswer> answers;
    std::size_t pending = 0;
    bool changed = false;
  };
  auto state = std::make_shared<Batch>();
  state->answers.resize(parts->size());
  state->pending = parts->size();
  for (std::size_t i = 0; i < parts->size(); ++i) {
    ctx_.intake.submit(std::move((*parts)[i]), who,
                       [state, i, reply, changed, packager](Expected<IntakeReceipt> r) {
                         std::unique_lock lock(state->mutex);
                         state->changed |= r && !r->duplicate;
                         state->answers[i] = answer_of(std::move(r));
                         if (--state->pending > 0) return;
                         lock.unlock();
                         if (changed && state->changed) changed();
                         HttpResponse answer = json(200, "");
                         answer.finish = [packager, state](HttpResponse& out) {
                           out.body = "{\"results\":[";
                           for (std::size_t k = 0; k < state->answers.size(); ++k) {
                             PackageAnswer& a = state->answers[k];
                             if (packager) sign_owed(*packager, a);
                             out.body += (k ? ",{\"status\":" : "{\"status\":") +
                                         std::to_string(a.status) + "," + a.members + "}";
                           }
                           out.body += "]}";
                         };
                         reply(std::move(answer));
                       });
  }
}

}  // namespace lienthong
