#include "app/commands.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "adapters/edxml/codec.hpp"
#include "app/args.hpp"
#include "app/demo_federation.hpp"
#include "app/json_output.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"

#ifndef LIENTHONG_SAMPLES_DIR
#define LIENTHONG_SAMPLES_DIR "tests/data/edxml"
#endif

namespace lienthong::cli {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPkiHelp = R"(usage: lienthong pki demo DIR

Writes a demo PKI for development and demonstrations (never production):
  DIR/ca.pem       the trust anchor          DIR/ca.key   its key
  DIR/crl.pem      an empty CRL of the CA
  DIR/<agency code>/organisation.{key,pem}  the agency's organisation certificate
  DIR/<agency code>/signer.{key,pem}        its authorised signer's certificate
)";

constexpr const char* kSignHelp =
    R"(usage: lienthong sign (--key KEY.pem --cert CERT.pem | --p12 FILE.p12 [--password PW])
                      [--role signer|organisation] IN -o OUT

Adds an enveloped XML-DSig signature (ECDSA P-256 or RSA, SHA-256, exc-c14n) to the edXML header
of IN and writes OUT ('-' for standard output). The authorised signer signs first, then the
organisation. The PKCS#12 password may also come from LIENTHONG_P12_PASSWORD.
)";

constexpr const char* kVerifyHelp =
    R"(usage: lienthong verify [--trust CA.pem]... [--crl CRL]... [--allow-sha1] [--at TIME] [--json] IN

Checks every signature of IN: structure, algorithms, references and transforms against the
allow-lists, the certificate chain to a --trust anchor (validity at --at, default now, e.g.
2026-11-22T08:00:00Z), the --crl lists, key usage, and the cryptography.
Exit 0 only when the package is valid; 1 when it is not; 2 on a usage error.
)";

constexpr const char* kInspectHelp = R"(usage: lienthong inspect [--json] IN

Decodes the edXML package IN (QCVN 102:2016) and prints its fields.
)";

constexpr const char* kDemoHelp =
    R"(usage: lienthong demo [--dir DIR] [--samples DIR] [--workflows DIR] [--no-federation]

Makes a demo PKI, signs the sample packages as their senders (signer, then organisation),
verifies them, and shows a tampered copy being refused. Then starts three nodes on loopback
(mutual TLS between them), sends a sample document to agencies on all three, walks it with
their clerks, recalls it, walks a dossier at a one-stop desk, and prints what happened.
Writes under DIR (default ./var/demo); --no-federation stops after the signatures.
)";

Expected<void> write_output(const std::string& path, const std::string& bytes) {
  if (path == "-") {
    std::cout << bytes;
    return {};
  }
  return write_file(path, bytes);
}

std::string describe(const Verdict& v) {
  std::string out = std::string(v.valid() ? "VALID" : "INVALID") + " (" + to_string(v.code) +
                    "): " + v.reason + "\n";
  for (const auto& s : v.signatures) {
    out += "  #" + std::to_string(s.index) + " " + to_string(s.role) + ": " + to_string(s.code);
    if (!s.common_name.empty()) out += " — " + s.common_name;
    if (s.signing_time) out += ", signed " + format_utc(*s.signing_time);
    if (!s.signature_algorithm.empty()) out += ", " + s.signature_algorithm;
    if (s.weak) out += " (weak)";
    out += "\n";
    if (!s.subject.empty())
      out += "     subject: " + s.subject + "\n     issuer:  " + s.issuer + "\n";
    if (s.code != VerdictCode::valid) out += "     reason:  " + s.reason + "\n";
  }
  for (const auto& n : v.notes) out += "  note: " + n + "\n";
  return out;
}

std::string date_text(const std::optional<Date>& d) {
  return d ? format_edxml_date(*d) : "-";
}

std::string describe(const Package& p) {
  std::string out;
  auto line = [&](const char* label, const std::string& value) {
    if (!value.empty()) out += std::string(label) + value + "\n";
  };
  if (p.kind == PackageKind::document) {
    const auto& d = p.document;
    out += "edXML document package\n";
    line("  from:        ", d.from.organ_id + "  " + d.from.organ_name);
    for (const auto& t : d.to) line("  to:          ", t.organ_id + "  " + t.organ_name);
    line("  document id: ", d.document_id);
    line("  code:        ", d.code_number + "/" + d.code_notation);
    line("  type:        ", d.type + " " + d.type_name);
    line("  subject:     ", d.subject);
    line("  promulgated: ", d.promulgation_place + ", " + date_text(d.promulgation_date));
    line("  due date:    ", date_text(d.due_date));
    if (d.other_info.priority) line("  priority:    ", std::to_string(*d.other_info.priority));
    line("  signer:      ", d.signer_full_name);
  } else {
    const auto& s = p.status;
    const char* meaning = status_code_meaning(s.status_code);
    out += "edXML status packet\n";
    line("  from:        ", s.from.organ_id + "  " + s.from.organ_name);
    line("  status:      ", s.status_code + " (" + (meaning ? meaning : "unknown code") + ")");
    line("  description: ", s.description);
    line("  answers:     ", s.response_for.document_id);
    if (s.timestamp) line("  at:          ", format_edxml_date_time(*s.timestamp));
    line("  staff:       ", s.staff_info.staff);
  }
  if (p.trace_header_list) {
    for (const auto& t : p.trace_header_list->trace_headers) {
      line("  trace:       ",
           t.organ_id + (t.timestamp ? " at " + format_edxml_date_time(*t.timestamp) : ""));
    }
    if (const auto& b = p.trace_header_list->business) {
      line("  business:    ", "type " + (b->doc_type ? std::to_string(*b->doc_type) : "-") + ", " +
                                  b->doc_reason +
                                  (b->paper.value_or(0) == 1 ? ", with paper copy" : ""));
    }
  }
  for (const auto& a : p.attachments) {
    line("  attachment:  ", a.attachment_name + " (" + a.content_type + ", " +
                                std::to_string(a.data.size()) + " bytes, sha256 " + a.sha256_hex +
                                ")");
  }
  return out;
}

}  // namespace

int cmd_pki(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kPkiHelp, 0;
  auto args = parse_args(argv, {});
  if (!args) return usage_error("pki", args.error().message, kPkiHelp);
  if (args->positional.size() != 2 || args->positional[0] != "demo") {
    return usage_error("pki", "expected 'pki demo DIR'", kPkiHelp);
  }
  fs::path dir = args->positional[1];
  if (auto ok = write_demo_pki(dir, std::time(nullptr)); !ok)
    return fail("pki", ok.error().message);
  std::cout << "demo PKI written to " << dir.string()
            << " (trust anchor: " << (dir / "ca.pem").string() << ")\n";
  for (const auto& a : demo_agencies()) std::cout << "  " << a.code << "  " << a.name << "\n";
  return 0;
}

int cmd_sign(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kSignHelp, 0;
  auto args = parse_args(argv, {.with_value = {"key", "cert", "p12", "password", "role", "o"}});
  if (!args) return usage_error("sign", args.error().message, kSignHelp);
  if (args->positional.size() != 1)
    return usage_error("sign", "expected one input file", kSignHelp);
  if (!args->has("o")) return usage_error("sign", "missing -o OUT", kSignHelp);
  SignOptions options;
  options.limits = kPackageLimits;
  std::string role = args->get("role", "signer");
  if (role == "organisation" || role == "organization") {
    options.role = SignatureRole::organisation;
  } else if (role != "signer") {
    return usage_error("sign", "--role must be signer or organisation", kSignHelp);
  }
  Expected<SigningKey> key = Error{"", ""};
  if (args->has("p12")) {
    auto der = read_file(args->get("p12"));
    if (!der) return fail("sign", der.error().message);
    const char* env = std::getenv("LIENTHONG_P12_PASSWORD");
    key = load_signing_key_pkcs12(*der, args->get("password", env ? env : ""));
  } else if (args->has("key") && args->has("cert")) {
    key = load_signing_key(args->get("key"), args->get("cert"));
  } else {
    return usage_error("sign", "give --key and --cert, or --p12", kSignHelp);
  }
  if (!key) return fail("sign", key.error().message);
  auto input = read_input(args->positional[0]);
  if (!input) return fail("sign", input.error().message);
  auto signed_xml = sign_package(*input, *key, options);
  if (!signed_xml) return fail("sign", args->positional[0] + ": " + signed_xml.error().message);
  if (auto ok = write_output(args->get("o"), *signed_xml); !ok)
    return fail("sign", ok.error().message);
  return 0;
}

int cmd_verify(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kVerifyHelp, 0;
  auto args =
      parse_args(argv, {.with_value = {"trust", "crl", "at"}, .flags = {"allow-sha1", "json"}});
  if (!args) return usage_error("verify", args.error().message, kVerifyHelp);
  if (args->positional.size() != 1)
    return usage_error("verify", "expected one input file", kVerifyHelp);
  TrustStore trust;
  for (const auto& path : args->all("trust")) {
    auto pem = read_file(path);
    if (!pem) return fail("verify", pem.error().message);
    if (auto ok = trust.add_anchors_pem(*pem); !ok)
      return fail("verify", path + ": " + ok.error().message);
  }
  for (const auto& path : args->all("crl")) {
    auto bytes = read_file(path);
    if (!bytes) return fail("verify", bytes.error().message);
    if (auto ok = trust.add_crl_bytes(*bytes); !ok)
      return fail("verify", path + ": " + ok.error().message);
  }
  VerifyPolicy policy;
  policy.limits = kPackageLimits;
  policy.allow_sha1 = args->flag("allow-sha1");
  if (args->has("at")) {
    auto at = parse_utc(args->get("at"));
    if (!at) return usage_error("verify", at.error().message, kVerifyHelp);
    policy.at = *at;
  }
  auto input = read_input(args->positional[0]);
  if (!input) return fail("verify", input.error().message);
  Verdict verdict = verify_package(*input, trust, policy);
  if (args->flag("json")) {
    std::cout << boost::json::serialize(to_json(verdict)) << "\n";
  } else {
    std::cout << describe(verdict);
  }
  return verdict.valid() ? 0 : 1;
}

int cmd_inspect(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kInspectHelp, 0;
  auto args = parse_args(argv, {.flags = {"json"}});
  if (!args) return usage_error("inspect", args.error().message, kInspectHelp);
  if (args->positional.size() != 1)
    return usage_error("inspect", "expected one input file", kInspectHelp);
  auto input = read_input(args->positional[0]);
  if (!input) return fail("inspect", input.error().message);
  auto package = decode_edxml(*input, kPackageLimits);
  if (!package) {
    return fail("inspect", args->positional[0] + ": " + package.error().message + " [" +
                               package.error().code + "]");
  }
  if (args->flag("json")) {
    std::cout << boost::json::serialize(to_json(*package)) << "\n";
  } else {
    std::cout << describe(*package);
  }
  return 0;
}

int cmd_demo(const std::vector<std::string>& argv) {
  if (wants_help(argv)) return std::cout << kDemoHelp, 0;
  auto args =
      parse_args(argv, {.with_value = {"dir", "samples", "workflows"}, .flags = {"no-federation"}});
  if (!args) return usage_error("demo", args.error().message, kDemoHelp);
  const fs::path dir = args->get("dir", "var/demo");
  const fs::path samples = args->get("samples", LIENTHONG_SAMPLES_DIR);
  const fs::path pki = dir / "pki";
  std::cout << "1. Demo PKI (development only) in " << pki.string() << "\n";
  if (auto ok = write_demo_pki(pki, std::time(nullptr)); !ok)
    return fail("demo", ok.error().message);
  TrustStore trust;
  auto ca = read_file(pki / "ca.pem");
  auto crl = read_file(pki / "crl.pem");
  if (!ca || !crl) return fail("demo", (ca ? crl.error() : ca.error()).message);
  if (auto ok = trust.add_anchors_pem(*ca); !ok) return fail("demo", ok.error().message);
  if (auto ok = trust.add_crl_bytes(*crl); !ok) return fail("demo", ok.error().message);

  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(samples, ec)) {
    if (e.path().extension() == ".edxml") files.push_back(e.path());
  }
  if (ec || files.empty()) return fail("demo", "no .edxml samples in " + samples.string());
  std::sort(files.begin(), files.end());

  int failures = 0;
  for (const auto& file : files) {
    std::cout << "\n2. " << file.filename().string() << "\n";
    auto bytes = read_file(file);
    if (!bytes) return fail("demo", bytes.error().message);
    auto package = decode_edxml(*bytes);
    if (!package) return fail("demo", file.string() + ": " + package.error().message);
    std::cout << describe(*package);
    const std::string& sender = package->kind == PackageKind::document
                                    ? package->document.from.organ_id
                                    : package->status.from.organ_id;
    auto signer = load_signing_key(pki / sender / "signer.key", pki / sender / "signer.pem");
    auto organisation =
        load_signing_key(pki / sender / "organisation.key", pki / sender / "organisation.pem");
    if (!signer || !organisation) return fail("demo", "no demo keys for sender " + sender);
    auto once = sign_package(*bytes, *signer);
    if (!once) return fail("demo", once.error().message);
    SignOptions org;
    org.role = SignatureRole::organisation;
    auto twice = sign_package(*once, *organisation, org);
    if (!twice) return fail("demo", twice.error().message);
    const fs::path out = dir / "signed" / file.filename();
    if (auto ok = write_file(out, *twice); !ok) return fail("demo", ok.error().message);
    std::cout << "   signed by " << sender << " (signer, then organisation) -> " << out.string()
              << "\n";
    Verdict verdict = verify_package(*twice, trust);
    std::cout << "   verify: " << describe(verdict);
    failures += verdict.valid() ? 0 : 1;

    std::string tampered = *twice;
    auto pos = tampered.find("<edXML:MessageHeader>");
    if (pos != std::string::npos) tampered.insert(pos + 21, " ");
    Verdict refused = verify_package(tampered, trust);
    std::string first_line = describe(refused);
    first_line.resize(first_line.find('\n') + 1);
    std::cout << "   tampered copy (one space added to the header): " << first_line;
    failures += refused.valid() ? 1 : 0;
  }
  std::cout << "\nTry it yourself:\n  lienthong verify --trust " << (pki / "ca.pem").string()
            << " --crl " << (pki / "crl.pem").string() << " "
            << (dir / "signed" / files.front().filename()).string() << "\n";
  if (failures != 0) return 1;
  if (args->flag("no-federation")) return 0;
  return run_demo_federation(dir / "federation", samples / "edoc_new.edxml",
                             args->get("workflows", LIENTHONG_WORKFLOWS_DIR), std::cout);
}

}  // namespace lienthong::cli
