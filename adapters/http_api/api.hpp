#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "adapters/http_api/server.hpp"
#include "config/node_config.hpp"
#include "engine/intake.hpp"
#include "engine/router.hpp"
#include "engine/store.hpp"

namespace lienthong {

// What the REST API works on: one node's store, intake and router, and its configured users.
struct ApiContext {
  const NodeConfig& config;
  Store& store;
  Intake& intake;
  const Router& router;
  WorkflowRegistry& registry;
  Directory& directory;
  const BusinessCalendar& calendar;
  const Clock& clock;
  std::function<void()> changed;                // wakes the node's background work after a write
  std::function<void(const std::string&)> log;  // one JSON object per line; empty: no request log
  std::function<std::string()> metrics;         // GET /metrics: the Prometheus text; empty: 404
};

// HTTP status for each error code family, so that clients can act on the class alone (the REST
// API and the peering endpoints answer the same errors the same way).
int http_status_of(const Error& e);

// The REST API under /api/v1 (see README and docs/openapi.yaml). Every error is JSON
// {"error":{"code","message"}} with a stable code; bad input changes nothing.
class Api {
 public:
  explicit Api(ApiContext ctx) : ctx_(std::move(ctx)) {}
  void handle(HttpRequest&& request, Responder respond);

 private:
  ApiContext ctx_;
  std::atomic<std::uint64_t> next_request_{1};
};

}  // namespace lienthong
