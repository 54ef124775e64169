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

}  // namespace

void PeerApi::handle(HttpRequest&& req, Responder respond) {
  const std::string request_id = ctx_.node_id + "-peer-" + std::to_string(next_request_++);
  auto peer = ctx_.peers.identify(req.client_certificate_der);
  auto log = ctx_.log;
  auto reply = [respond, request_id, log, peer, target = req.target](HttpResponse r) {
    r.headers.emplace_back("X-Request-Id", request_id);
    if (log) {
      log("{\"event\":\"peer_request\",\"request_id\":" + json_quote(request_id) +
          ",\"peer\":" + json_quote(peer.value_or("")) + ",\"target\":" + json_quote(target) +
          ",\"status\":" + std::to_string(r.status) + "}");
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
  if (path != "/peer/v1/packages") {
    return reply(json_error(404, "http.not_found", "no such resource: " + req.target));
  }
  if (req.method != "POST") return reply(json_error(405, "http.method", "use POST"));
  Submitter who{"peer:" + *peer, "", request_id, *peer};
  who.statuses_in_ack = ctx_.packager && req.header("X-Lienthong-Ack") == "statuses";
  auto changed = ctx_.changed;
  ctx_.intake.submit(
      PackageBytes{std::move(req.body), std::move(req.body_file)}, std::move(who),
      [reply, changed, packager = ctx_.packager](Expected<IntakeReceipt> r) {
        if (!r) {
          return reply(json_error(http_status_of(r.error()), r.error().code, r.error().message));
        }
        if (changed && !r->duplicate) changed();
        HttpResponse answer = json(r->duplicate ? 200 : 202,
                                   "{\"id\":" + std::to_string(r->document) +
                                       ",\"message_id\":" + json_quote(r->message_id) +
                                       ",\"duplicate\":" + (r->duplicate ? "true" : "false"));
        if (r->statuses.empty()) {
          answer.body += "}";
          return reply(std::move(answer));
        }
        // Signed on the connection's thread, not the store's writer that runs this.
        answer.finish = [packager, owed = std::move(r->statuses),
                         package = std::move(r->package)](HttpResponse& a) {
          std::string statuses;
          for (const OwedStatus& s : owed) {
            auto packet = packager->status_packet(s.from, *package, s.code, s.at);
            if (!packet) {
              // Counted as delivered here: the sender must try again, and the copy it sends
              // brings them back.
              auto headers = std::move(a.headers);
              a = json_error(503, packet.error().code, packet.error().message);
              a.headers = std::move(headers);
              return;
            }
            statuses += (statuses.empty() ? "" : ",") + json_quote(*packet);
          }
          a.body += ",\"statuses\":[" + statuses + "]}";
        };
        reply(std::move(answer));
      });
}

}  // namespace lienthong
