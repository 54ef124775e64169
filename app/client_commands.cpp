// `lienthong send` and `lienthong status`: a clerk's client of a node's REST API. The only
// translation unit of the CLI that includes Asio and Beast.

// Boost 1.81's Asio coroutine headers use std::exchange without including <utility> (g++ 12).
#include <utility>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "adapters/edxml/codec.hpp"
#include "adapters/http_api/report_format.hpp"
#include "app/args.hpp"
#include "app/commands.hpp"
#include "base/agency_code.hpp"
#include "base/http_url.hpp"
#include "engine/package.hpp"
#include "engine/report.hpp"
#include "signing/crypto.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong::cli {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::uint64_t kMaxAnswer = 64 << 20;

constexpr const char* kSendHelp =
    R"(usage: lienthong send --server URL --token TOKEN [--key KEY.pem --cert CERT.pem]
                      [--to CODE]... [--ca CA.pem] [--timeout SECONDS] [--json] FILE.edxml

Sends the edXML package FILE ('-' for standard input) to the node at URL (http://host:port, or
https://host:port with its certificate checked against --ca, else the system's CAs) as the clerk
whose API token is TOKEN (or the environment variable LIENTHONG_TOKEN).
  --to CODE         the package's recipients (<To>) become these agency codes (repeatable); the
                    package is re-encoded, which drops any signature, so --key is then required
  --key, --cert     sign the package as the authorised signer before sending it (the node adds
                    the organisation's signature); without them FILE is sent as is, signed already
  --timeout         seconds allowed to connect, to send and to read the answer (default 10)
Prints one line: 'accepted: document ID (message id ...)', 'already held: document ID', or
'refused: CODE: MESSAGE (HTTP STATUS)'; --json prints the node's JSON answer instead.
Exit 0 when the node took the package or already held it, 1 when it refused it, 2 on a usage or
input error, or when the node cannot be reached or fails.
)";

constexpr const char* kStatusHelp =
    R"(usage: lienthong status --server URL --token TOKEN [--ca CA.pem] [--timeout SECONDS] [--json]
                        (ID | --agency CODE [--limit N])

Asks the node at URL (see 'lienthong send --help') as the clerk whose token is TOKEN (or
LIENTHONG_TOKEN):
  ID                the document's fields, the latest status each recipient sent back, with its
                    meaning, and the document's history (time, actor, action)
  --agency CODE     the documents the agency sent, newest first (at most N, 1 to 500, default
                    50), with each recipient's latest status, as a table
--json prints the node's JSON answer instead.
Exit 0 on an answer, 1 when the node refuses the request (no such document, a token that is not
valid, another agency's documents), 2 on a usage error, or when the node cannot be reached
(--timeout, default 10 s) or fails.
)";

constexpr const char* kReportHelp =
    R"(usage: lienthong report --server URL --token TOKEN [--ca CA.pem] [--timeout SECONDS]
                        (--period PERIOD | --from DATE --to DATE) [--agency CODE]
                        [--group-by agency,type,channel] [--format table|csv|json]

The auditors' report of the node at URL (see 'lienthong send --help'), asked as the user whose
token is TOKEN (or LIENTHONG_TOKEN): an auditor or administrator sees every agency, a clerk their
own. For the PERIOD 2026 (a year), 2026-Q3 (a quarter), 2026-11 (a month) or 2026-11-30 (a day),
or from one day to another (both included), in the node's local time:
  hand-overs and the share done electronically, steps and dossiers completed and the share on
  time, open tasks past their due time, dossiers by submission channel and the share online;
  every share against its target, and every agency short of one flagged with the gap.
--agency CODE     that agency and the agencies under it (default: all)
--group-by LIST   rows per agency (each with the agencies under it; the default), document type,
                  channel, or a combination
--format          table (default), csv (UTF-8 for spreadsheets) or json
Figures and their definitions: README, "Reports". Exit 0 on a report, 1 when the node refuses
(a token that is not valid, another agency's report), 2 on a usage error or an unreachable node.
)";

// Where the node is and who asks it.
struct Client : HttpUrl {
  std::string url;  // as given, without trailing '/': names the server in messages
  std::string token;
  std::string ca_file;
  std::chrono::seconds timeout{10};
};

Expected<Client> parse_server(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto parsed = parse_http_url(url);
  if (!parsed) return Error{"cli.usage", "--server '" + url + "': " + parsed.error().message};
  Client c;
  static_cast<HttpUrl&>(c) = std::move(*parsed);
  c.url = url;
  return c;
}

// The options every client command takes.
Expected<Client> client_from(const Args& args) {
  if (!args.has("server")) return Error{"cli.usage", "missing --server URL"};
  auto c = parse_server(args.get("server"));
  if (!c) return c;
  const char* env = std::getenv("LIENTHONG_TOKEN");
  c->token = args.get("token", env ? env : "");
  if (c->token.empty()) return Error{"cli.usage", "missing --token TOKEN (or LIENTHONG_TOKEN)"};
  if (c->token.find_first_of("\r\n") != std::string::npos)
    return Error{"cli.usage", "the token holds a line break"};
  c->ca_file = args.get("ca");
  if (!c->ca_file.empty() && !c->tls) return Error{"cli.usage", "--ca is for https:// servers"};
  if (args.has("timeout")) {
    const std::string t = args.get("timeout");
    if (t.empty() || t.size() > 4 || t.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(t) < 1) {
      return Error{"cli.usage", "--timeout is a whole number of seconds from 1 to 9999"};
    }
    c->timeout = std::chrono::seconds(std::stoi(t));
  }
  return c;
}

struct Answer {
  unsigned status = 0;
  std::string body;
};

std::string describe(const error_code& ec, const Client& c) {
  return ec == beast::error::timeout
             ? "timed out after " + std::to_string(c.timeout.count()) + " s (--timeout)"
             : ec.message();
}

template <class Stream>
net::awaitable<Expected<Answer>> exchange(Stream& stream, const Client& c,
                                          http::request<http::string_body>& request) {
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(c.timeout);
  auto [wec, written] = co_await http::async_write(stream, request, use_tuple);
  if (wec) co_return Error{"client.io", c.url + ": sending the request: " + describe(wec, c)};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswer);
  tcp.expires_after(c.timeout);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (rec) co_return Error{"client.io", c.url + ": reading the answer: " + describe(rec, c)};
  co_return Answer{parser.get().result_int(), std::move(parser.get().body())};
}

net::awaitable<Expected<Answer>> call_on(net::io_context& io, net::ssl::context* tls,
                                         const Client& c,
                                         http::request<http::string_body>& request) {
  tcp::resolver resolver(io);
  auto [rec, endpoints] = co_await resolver.async_resolve(c.host, c.port, use_tuple);
  if (rec)
    co_return Error{"client.unreachable",
                    c.url + ": cannot resolve " + c.host + ": " + rec.message()};
  if (!tls) {
    beast::tcp_stream stream(io);
    stream.expires_after(c.timeout);
    auto [cec, endpoint] = co_await stream.async_connect(endpoints, use_tuple);
    if (cec)
      co_return Error{"client.unreachable", "cannot connect to " + c.url + ": " + describe(cec, c)};
    co_return co_await exchange(stream, c, request);
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, *tls);
  SSL* ssl = stream.native_handle();
  if (c.literal) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c.host.c_str());
  } else {
    SSL_set1_host(ssl, c.host.c_str());
    SSL_set_tlsext_host_name(ssl, c.host.c_str());
  }
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(c.timeout);
  auto [cec, endpoint] = co_await tcp.async_connect(endpoints, use_tuple);
  if (cec)
    co_return Error{"client.unreachable", "cannot connect to " + c.url + ": " + describe(cec, c)};
  tcp.expires_after(c.timeout);
  auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, use_tuple);
  if (hec) {
    const long verify = SSL_get_verify_result(ssl);
    co_return Error{"client.tls", c.url + ": TLS handshake failed: " +
                                      (verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                                           : describe(hec, c))};
  }
  co_return co_await exchange(stream, c, request);
}

// One request on its own connection; the node's answer whatever its status.
Expected<Answer> call(const Client& c, http::verb verb, const std::string& target,
                      std::string body = {}, const char* content_type = nullptr) {
  std::optional<net::ssl::context> tls;
  if (c.tls) {
    tls.emplace(net::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    error_code ec;
    if (c.ca_file.empty()) {
      tls->set_default_verify_paths(ec);
    } else {
      auto pem = read_file(c.ca_file);
      if (!pem) return Error{"client.ca", "--ca: " + pem.error().message};
      tls->add_certificate_authority(net::buffer(*pem), ec);
      if (ec) return Error{"client.ca", "--ca " + c.ca_file + ": no PEM certificate in it"};
    }
    tls->set_verify_mode(net::ssl::verify_peer);
  }
  http::request<http::string_body> request{verb, c.prefix + target, 11};
  request.set(http::field::host, c.host_header());
  request.set(http::field::authorization, "Bearer " + c.token);
  request.set(http::field::accept, "application/json");
  request.set(http::field::user_agent, "lienthong-cli");
  if (content_type) request.set(http::field::content_type, content_type);
  request.keep_alive(false);
  request.body() = std::move(body);
  request.prepare_payload();

  net::io_context io{1};
  std::optional<Expected<Answer>> result;
  auto run = [&]() -> net::awaitable<void> {
    result = co_await call_on(io, tls ? &*tls : nullptr, c, request);
  };
  net::co_spawn(io, run(), net::detached);
  io.run();
  return result ? std::move(*result)
                : Expected<Answer>(Error{"client.internal", c.url + ": the exchange failed"});
}

json::value parse_json(const std::string& body) {
  error_code ec;
  json::value v = json::parse(body, ec);
  return ec ? json::value() : v;
}

std::string text_of(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  const json::value* m = o ? o->if_contains(key) : nullptr;
  if (!m) return {};
  if (m->is_string()) return std::string(m->as_string());
  if (m->is_int64()) return std::to_string(m->as_int64());
  return {};
}

std::int64_t int_of(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  const json::value* m = o ? o->if_contains(key) : nullptr;
  return m && m->is_int64() ? m->as_int64() : 0;
}

// "CODE: MESSAGE (HTTP STATUS)" from the node's error body, or the start of a body that is not one.
std::string error_text(const Answer& a) {
  const json::value v = parse_json(a.body);
  const json::value* o = v.is_object() ? v.as_object().if_contains("error") : nullptr;
  const json::value error = o ? *o : json::value();
  std::string out = text_of(error, "code") + ": " + text_of(error, "message");
  if (!error.is_object()) {
    out = a.body.substr(0, 200);
    std::replace(out.begin(), out.end(), '\n', ' ');
    if (out.empty()) out = "(no body)";
  }
  return out + " (HTTP " + std::to_string(a.status) + ")";
}

int exit_code_of(unsigned status) {
  if (status >= 200 && status < 300) return 0;
  return status >= 400 && status < 500 ? 1 : 2;
}

std::string when(std::int64_t at) {
  return at > 0 ? format_utc(static_cast<std::time_t>(at)) : "-";
}

std::string status_text(const std::string& code) {
  if (code.empty()) return "no status yet";
  const char* meaning = status_code_meaning(code);
  return code + " " + (meaning ? meaning : "(unknown code)");
}

// Width on a terminal: code points (Vietnamese text is precomposed).
std::size_t width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, std::size_t w) {
  const std::size_t n = width(s);
  return n >= w ? s : s + std::string(w - n, ' ');
}

std::string describe_document(const json::value& d) {
  std::string out = "document " + text_of(d, "id") + " (" + text_of(d, "kind") + ")\n";
  auto line = [&](const char* label, const std::string& value) {
    if (!value.empty()) out += std::string("  ") + label + value + "\n";
  };
  line("document id: ", text_of(d, "document_id"));
  line("subject:     ", text_of(d, "subject"));
  line("from:        ", text_of(d, "sender"));
  std::vector<std::string> recipients;
  if (const json::value* r = d.as_object().if_contains("recipients"); r && r->is_array()) {
    for (const auto& code : r->as_array()) {
      if (code.is_string()) recipients.emplace_back(code.as_string());
    }
  }
  for (const auto& r : recipients) line("to:          ", r);
  line("received:    ", when(int_of(d, "received_at")));
  line("message id:  ", text_of(d, "message_id"));
  line("sha256:      ", text_of(d, "sha256"));

  const json::value* latest = d.as_object().if_contains("latest_status");
  auto latest_of = [&](const std::string& agency) {
    return latest ? text_of(*latest, agency) : std::string();
  };
  out += "status by recipient:\n";
  for (const auto& r : recipients) out += "  " + r + "  " + status_text(latest_of(r)) + "\n";
  if (latest && latest->is_object()) {
    for (const auto& [agency, code] : latest->as_object()) {
      const std::string from(agency);
      if (std::find(recipients.begin(), recipients.end(), from) != recipients.end()) continue;
      out += "  " + from + "  " + status_text(latest_of(from)) + "\n";
    }
  }
  if (const json::value* list = d.as_object().if_contains("instances");
      list && list->is_array() && !list->as_array().empty()) {
    out += "workflows:\n";
    for (const auto& i : list->as_array()) {
      const bool finished = i.is_object() && i.as_object().if_contains("finished") &&
                            i.at("finished").is_bool() && i.at("finished").as_bool();
      const std::string final_status = text_of(i, "final_status");
      out += "  " + text_of(i, "agency") + "  " + text_of(i, "workflow") + " version " +
             text_of(i, "version") + ": " +
             (finished ? "finished" + (final_status.empty() ? "" : ", " + status_text(final_status))
                       : std::string("running")) +
             "\n";
    }
  }
  out += "history:\n";
  const json::value* history = d.as_object().if_contains("history");
  std::size_t actor_width = 0;
  if (history && history->is_array()) {
    for (const auto& e : history->as_array())
      actor_width = std::max(actor_width, width(text_of(e, "actor")));
    for (const auto& e : history->as_array()) {
      const std::string agency = text_of(e, "agency");
      out += "  " + when(int_of(e, "at")) + "  " + pad(text_of(e, "actor"), actor_width) + "  " +
             text_of(e, "action") + (agency.empty() ? "" : "  (" + agency + ")") + "\n";
    }
  }
  return out;
}

std::string describe_outbox(const json::value& o) {
  const std::string agency = text_of(o, "agency");
  const json::value* docs = o.as_object().if_contains("documents");
  if (!docs || !docs->is_array() || docs->as_array().empty())
    return "no documents sent by " + agency + "\n";
  struct Row {
    std::string id, sent, document_id, recipient, status, subject;
  };
  std::vector<Row> rows{{"ID", "SENT", "DOCUMENT ID", "RECIPIENT", "STATUS", "SUBJECT"}};
  for (const auto& d : docs->as_array()) {
    Row first{text_of(d, "id"),     when(int_of(d, "sent_at")), text_of(d, "document_id"), "-", "-",
              text_of(d, "subject")};
    const json::value* latest =
        d.is_object() ? d.as_object().if_contains("latest_status") : nullptr;
    bool any = false;
    if (latest && latest->is_object()) {
      for (const auto& [recipient, code] : latest->as_object()) {
        Row row = any ? Row{} : first;
        row.recipient = std::string(recipient);
        row.status = status_text(code.is_string() ? std::string(code.as_string()) : "");
        rows.push_back(std::move(row));
        any = true;
      }
    }
    if (!any) rows.push_back(std::move(first));
  }
  std::size_t w[5] = {};
  for (const auto& r : rows) {
    const std::string* cells[5] = {&r.id, &r.sent, &r.document_id, &r.recipient, &r.status};
    for (int i = 0; i < 5; ++i) w[i] = std::max(w[i], width(*cells[i]));
  }
  std::string out = "documents sent by " + agency + ", newest first\n";
  for (const auto& r : rows) {
    std::string line = pad(r.id, w[0]) + "  " + pad(r.sent, w[1]) + "  " +
                       pad(r.document_id, w[2]) + "  " + pad(r.recipient, w[3]) + "  " +
                       pad(r.status, w[4]) + "  " + r.subject;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

int cmd_send(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kSendHelp, 0;
  auto args = parse_args(
      argv,
      {.with_value = {"server", "token", "ca", "timeout", "key", "cert", "to"}, .flags = {"json"}});
  if (!args) return usage_error("send", args.error().message, kSendHelp);
  auto client = client_from(*args);
  if (!client) return usage_error("send", client.error().message, kSendHelp);
  if (args->positional.size() != 1)
    return usage_error("send", "expected one package file", kSendHelp);
  if (args->has("key") != args->has("cert"))
    return usage_error("send", "give --key and --cert together", kSendHelp);
  std::vector<std::string> to;
  for (const auto& code : args->all("to")) {
    if (auto ok = validate_agency_code(code); !ok)
      return usage_error("send", "--to '" + code + "': " + ok.error().message, kSendHelp);
    if (std::find(to.begin(), to.end(), code) == to.end()) to.push_back(code);
  }
  if (!to.empty() && !args->has("key")) {
    return usage_error(
        "send", "--to changes the package, which voids its signatures: sign it with --key/--cert",
        kSendHelp);
  }
  const std::string& file = args->positional[0];
  auto bytes = read_input(file);
  if (!bytes) return fail("send", bytes.error().message);

  if (!to.empty()) {
    auto package = decode_edxml(*bytes, kPackageLimits);
    if (!package) {
      return fail("send",
                  file + ": " + package.error().message + " [" + package.error().code + "]");
    }
    if (package->kind != PackageKind::document)
      return fail("send", file + " is a status packet: --to applies to documents");
    std::vector<Organization> recipients;
    for (const auto& code : to) {
      auto known = std::find_if(package->document.to.begin(), package->document.to.end(),
                                [&](const Organization& o) { return o.organ_id == code; });
      recipients.push_back(known != package->document.to.end() ? *known
                                                               : Organization{.organ_id = code});
    }
    package->document.to = std::move(recipients);
    *bytes = encode_edxml(*package);
  }
  if (args->has("key")) {
    auto key = load_signing_key(args->get("key"), args->get("cert"));
    if (!key) return fail("send", key.error().message);
    auto signed_xml = sign_package(
        *bytes, *key, SignOptions{.role = SignatureRole::signer, .limits = kPackageLimits});
    if (!signed_xml) return fail("send", file + ": " + signed_xml.error().message);
    *bytes = std::move(*signed_xml);
  }

  auto answer =
      call(*client, http::verb::post, "/api/v1/documents", std::move(*bytes), "application/xml");
  if (!answer) return fail("send", answer.error().message);
  const int code = exit_code_of(answer->status);
  if (args->flag("json")) {
    std::cout << answer->body << "\n";
    return code;
  }
  if (answer->status == 202 || answer->status == 200) {
    const json::value v = parse_json(answer->body);
    if (answer->status == 202) {
      std::cout << "accepted: document " << text_of(v, "id") << " (message id "
                << text_of(v, "message_id") << ")\n";
    } else {
      std::cout << "already held: document " << text_of(v, "id") << "\n";
    }
    return 0;
  }
  if (code == 1) {
    std::cout << "refused: " << error_text(*answer) << "\n";
    return 1;
  }
  return fail("send", client->url + " answered " + error_text(*answer));
}

int cmd_status(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kStatusHelp, 0;
  auto args = parse_args(
      argv,
      {.with_value = {"server", "token", "ca", "timeout", "agency", "limit"}, .flags = {"json"}});
  if (!args) return usage_error("status", args.error().message, kStatusHelp);
  auto client = client_from(*args);
  if (!client) return usage_error("status", client.error().message, kStatusHelp);
  const bool by_agency = args->has("agency");
  if (by_agency == !args->positional.empty() || args->positional.size() > 1)
    return usage_error("status", "give a document ID or --agency CODE", kStatusHelp);
  if (args->has("limit") && !by_agency)
    return usage_error("status", "--limit goes with --agency", kStatusHelp);
  std::string target;
  if (by_agency) {
    const std::string agency = args->get("agency");
    if (auto ok = validate_agency_code(agency); !ok)
      return usage_error("status", "--agency '" + agency + "': " + ok.error().message, kStatusHelp);
    target = "/api/v1/agencies/" + agency + "/outbox";
    if (args->has("limit")) {
      const std::string limit = args->get("limit");
      if (limit.empty() || limit.size() > 3 ||
          limit.find_first_not_of("0123456789") != std::string::npos || std::stoi(limit) < 1 ||
          std::stoi(limit) > 500) {
        return usage_error("status", "--limit is a number from 1 to 500", kStatusHelp);
      }
      target += "?limit=" + limit;
    }
  } else {
    const std::string& id = args->positional[0];
    if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos ||
        id.find_first_not_of('0') == std::string::npos) {
      return usage_error("status", "a document ID is a positive whole number, not '" + id + "'",
                         kStatusHelp);
    }
    target = "/api/v1/documents/" + id;
  }

  auto answer = call(*client, http::verb::get, target);
  if (!answer) return fail("status", answer.error().message);
  const int code = exit_code_of(answer->status);
  if (args->flag("json")) {
    std::cout << answer->body << "\n";
    return code;
  }
  if (code == 1) {
    std::cerr << "lienthong status: " << error_text(*answer) << "\n";
    return 1;
  }
  const json::value v = parse_json(answer->body);
  if (code != 0 || !v.is_object()) {
    return fail("status",
                client->url + " answered " +
                    (code == 0 ? std::string("something that is not JSON") : error_text(*answer)));
  }
  std::cout << (by_agency ? describe_outbox(v) : describe_document(v));
  return 0;
}

int cmd_report(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kReportHelp, 0;
  auto args = parse_args(argv, {.with_value = {"server", "token", "ca", "timeout", "period", "from",
                                               "to", "agency", "group-by", "format"}});
  if (!args) return usage_error("report", args.error().message, kReportHelp);
  if (!args->positional.empty()) {
    return usage_error("report", "unexpected '" + args->positional[0] + "'", kReportHelp);
  }
  auto client = client_from(*args);
  if (!client) return usage_error("report", client.error().message, kReportHelp);
  std::string target = "/api/v1/reports?";
  // Checked here first, so that a mistake is a usage error before any network.
  if (args->has("period") && !args->has("from") && !args->has("to")) {
    auto p = parse_report_period(args->get("period"));
    if (!p) return usage_error("report", p.error().message, kReportHelp);
    target += "period=" + args->get("period");
  } else if (!args->has("period") && args->has("from") && args->has("to")) {
    auto p = report_period_between(args->get("from"), args->get("to"));
    if (!p) return usage_error("report", p.error().message, kReportHelp);
    target += "from=" + args->get("from") + "&to=" + args->get("to");
  } else {
    return usage_error("report", "give --period, or --from and --to", kReportHelp);
  }
  if (args->has("agency")) {
    const std::string agency = args->get("agency");
    if (auto ok = validate_agency_code(agency); !ok)
      return usage_error("report", "--agency '" + agency + "': " + ok.error().message, kReportHelp);
    target += "&agency=" + agency;
  }
  if (args->has("group-by")) {
    if (auto g = parse_report_group_by(args->get("group-by")); !g)
      return usage_error("report", g.error().message, kReportHelp);
    target += "&group_by=" + args->get("group-by");
  }
  const std::string format = args->get("format", "table");
  if (auto f = parse_report_format(format); !f) {
    return usage_error("report", f.error().message, kReportHelp);
  }
  target += "&format=" + format;
  auto answer = call(*client, http::verb::get, target);
  if (!answer) return fail("report", answer.error().message);
  const int code = exit_code_of(answer->status);
  if (code != 0) {
    std::cerr << "lienthong report: " << error_text(*answer) << "\n";
    return code;
  }
  std::cout << answer->body;
  return 0;
}

}  // namespace lienthong::cli
