#include "signing/xmldsig.hpp"

#include <utility>

#include <libxml/c14n.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <libxml/xmlsave.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "base/encoding.hpp"
#include "signing/c14n.hpp"

namespace lienthong {
namespace {

// ---- algorithm allow-lists ----------------------------------------------------------------

constexpr std::string_view kEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
constexpr std::string_view kExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
constexpr std::string_view kC14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
constexpr std::string_view kC14n11 = "http://www.w3.org/2006/12/xml-c14n11";

bool is_c14n(std::string_view alg) {
  return alg == kExcC14n || alg == kC14n || alg == kC14n11;
}

// libxml2's mode for a canonicalization URI; kC14nDefault when a node-set is left as the last
// transform's output, which XML-DSig turns into octets with inclusive C14N 1.0.
constexpr int kC14nDefault = XML_C14N_1_0;
int c14n_mode(std::string_view alg) {
  return alg == kExcC14n ? XML_C14N_EXCLUSIVE_1_0 : alg == kC14n11 ? XML_C14N_1_1 : XML_C14N_1_0;
}

struct Algorithm {
  std::string_view uri;
  const char* name;
  bool sha1;
  const EVP_MD* (*md)();
  bool ec;  // signature algorithms: ECDSA, else RSA PKCS#1 v1.5
};

constexpr Algorithm kSignatureAlgorithms[] = {
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "ECDSA-SHA256", false, md_sha256, true},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", "ECDSA-SHA384", false, md_sha384, true},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", "ECDSA-SHA512", false, md_sha512, true},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "RSA-SHA256", false, md_sha256, false},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "RSA-SHA384", false, md_sha384, false},
    {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "RSA-SHA512", false, md_sha512, false},
    {"http://www.w3.org/2000/09/xmldsig#rsa-sha1", "RSA-SHA1", true, md_sha1, false},
    {"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1", "ECDSA-SHA1", true, md_sha1, true},
};
constexpr Algorithm kDigestAlgorithms[] = {
    {"http://www.w3.org/2001/04/xmlenc#sha256", "SHA-256", false, md_sha256, false},
    {"http://www.w3.org/2001/04/xmldsig-more#sha384", "SHA-384", false, md_sha384, false},
    {"http://www.w3.org/2001/04/xmlenc#sha512", "SHA-512", false, md_sha512, false},
    {"http://www.w3.org/2000/09/xmldsig#sha1", "SHA-1", true, md_sha1, false},
};

template <std::size_t N>
const Algorithm* find_algorithm(const Algorithm (&table)[N], std::string_view uri) {
  for (const auto& a : table) {
    if (a.uri == uri) return &a;
  }
  return nullptr;
}

// ---- xmlsec plumbing ----------------------------------------------------------------------

thread_local std::string t_xmlsec_error;

void capture_xmlsec_error(const char* /*file*/, int /*line*/, const char* func,
                          const char* /*object*/, const char* subject, int /*reason*/,
                          const char* msg) {
  if (!t_xmlsec_error.empty()) return;  // the first error is the cause
  t_xmlsec_error = std::string(func ? func : "") + (subject ? std::string(" ") + subject : "") +
                   (msg ? std::string(": ") + msg : "");
}

// ---- tree helpers -------------------------------------------------------------------------

bool is_dsig(const xmlNode* n, std::string_view name) {
  return n && n->type == XML_ELEMENT_NODE && xml_ns_uri(n) == kDsigNs && xml_local_name(n) == name;
}

bool is_edxml(const xmlNode* n, std::string_view name) {
  if (!n || n->type != XML_ELEMENT_NODE || xml_local_name(n) != name) return false;
  auto ns = xml_ns_uri(n);
  return ns == kEdxmlNs || ns.empty();
}

xmlNode* child_edxml(xmlNode* parent, std::string_view name) {
  for (xmlNode* c = xml_first_element(parent); c; c = xml_next_element(c)) {
    if (is_edxml(c, name)) return c;
  }
  return nullptr;
}

xmlNode* find_header(xmlDoc* doc) {
  xmlNode* root = xmlDocGetRootElement(doc);
  if (!is_edxml(root, "edXML")) return nullptr;
  return child_edxml(child_edxml(root, "edXMLEnvelope"), "edXMLHeader");
}

std::vector<xmlNode*> header_signatures(xmlNode* header) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = xml_first_element(header); c; c = xml_next_element(c)) {
    if (is_dsig(c, "Signature")) out.push_back(c);
  }
  return out;
}

std::string attr(const xmlNode* n, const char* name) {
  std::string v;
  xml_attribute(n, name, v);
  return v;
}

std::string at_line(const xmlNode* n) {
  return "line " + std::to_string(xml_line(n)) + ": ";
}

const char* id_for(SignatureRole role) {
  return role == SignatureRole::signer ? "lienthong-signer" : "lienthong-organisation";
}

// Registers `value` of `node`'s Id attribute as an XML ID so xmlsec can resolve "#value".
void register_id(xmlDoc* doc, xmlNode* node, const std::string& value) {
  xmlAttr* a = xmlHasProp(node, to_xml("Id"));
  if (!a) return;
  if (xmlAttr* existing = xmlGetID(doc, to_xml(value.c_str())); existing == a) return;
  xmlAddID(nullptr, doc, to_xml(value.c_str()), a);
}

}  // namespace

void xmldsig_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    xml_init();
    if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(nullptr) < 0 ||
        xmlSecCryptoInit() < 0) {
      throw std::runtime_error("cannot initialise xmlsec with its OpenSSL backend");
    }
    xmlSecErrorsSetCallback(capture_xmlsec_error);
  });
}

// ================================ signing ==================================================

namespace {
const char* complete_signature(xmlDoc* doc, xmlNode* sig, xmlNode* properties, EVP_PKEY* key,
                               bool sha1);
}  // namespace

Expected<void> sign_package_doc(xmlDoc* doc, const SigningKey& key, const SignOptions& options) {
  xmldsig_init();
  xmlNode* header = find_header(doc);
  if (!header) {
    return Error{"edxml.missing_element",
                 "not an edXML package: edXML/edXMLEnvelope/edXMLHeader is missing"};
  }
  auto existing = header_signatures(header);
  const char* id = id_for(options.role);
  if (options.role == SignatureRole::signer && !existing.empty()) {
    return Error{
        "sign.order",
        "the package is already signed; the authorised signer's signature must come first"};
  }
  for (xmlNode* s : existing) {
    if (attr(s, "Id") == id_for(SignatureRole::organisation)) {
      return Error{"sign.order", "the package already carries the organisation's signature"};
    }
  }
  if (existing.size() >= 2)
    return Error{"sign.order", "the package already carries two signatures"};

  const bool ec = EVP_PKEY_get_base_id(key.key.get()) == EVP_PKEY_EC;
  const xmlSecTransformId sign_method =
      options.legacy_sha1 ? (ec ? xmlSecTransformEcdsaSha1Id : xmlSecTransformRsaSha1Id)
                          : (ec ? xmlSecTransformEcdsaSha256Id : xmlSecTransformRsaSha256Id);
  const xmlSecTransformId digest =
      options.legacy_sha1 ? xmlSecTransformSha1Id : xmlSecTransformSha256Id;
  xmlNode* sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, sign_method, to_xml(id));
  if (!sig) return Error{"sign.internal", "cannot create the signature template"};
  xmlAddChild(header, sig);
  auto fail = [&](const char* what) {
    xmlUnlinkNode(sig);
    xmlFreeNode(sig);
    std::string detail = std::exchange(t_xmlsec_error, {});
    return Error{"sign.failed", std::string(what) + (detail.empty() ? "" : ": " + detail)};
  };

  xmlNode* ref = xmlSecTmplSignatureAddReference(sig, digest, nullptr, to_xml(""), nullptr);
  if (!ref || !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ||
      !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId)) {
    return fail("cannot add the document reference");
  }
  const std::string props_id = std::string(id) + "-properties";
  xmlNode* props_ref = xmlSecTmplSignatureAddReference(sig, digest, nullptr,
                                                       to_xml(("#" + props_id).c_str()), nullptr);
  if (!props_ref || !xmlSecTmplReferenceAddTransform(props_ref, xmlSecTransformExclC14NId)) {
    return fail("cannot add the properties reference");
  }
  xmlNode* object = xmlSecTmplSignatureAddObject(sig, nullptr, nullptr, nullptr);
  if (!object) return fail("cannot add the signature object");
  xmlNode* props = xmlNewChild(object, sig->ns, to_xml("SignatureProperties"), nullptr);
  xmlSetProp(props, to_xml("Id"), to_xml(props_id.c_str()));
  xmlNode* prop = xmlNewChild(props, sig->ns, to_xml("SignatureProperty"), nullptr);
  xmlSetProp(prop, to_xml("Target"), to_xml((std::string("#") + id).c_str()));
  const std::string when = format_utc(options.at ? *options.at : std::time(nullptr));
  xmlNode* signing_time = xmlNewChild(prop, nullptr, to_xml("SigningTime"), to_xml(when.c_str()));
  xmlSetNs(signing_time, xmlNewNs(signing_time, to_xml(kSigningTimeNs), nullptr));
  register_id(doc, props, props_id);

  // KeyInfo written by hand so the signer's certificate is always first, then its chain.
  xmlNode* key_info = xmlSecTmplSignatureEnsureKeyInfo(sig, nullptr);
  xmlNode* x509_data = xmlNewChild(key_info, sig->ns, to_xml("X509Data"), nullptr);
  xmlNewChild(x509_data, sig->ns, to_xml("X509Certificate"),
              to_xml(base64_encode(to_der(key.cert.get())).c_str()));
  for (const auto& c : key.chain) {
    xmlNewChild(x509_data, sig->ns, to_xml("X509Certificate"),
                to_xml(base64_encode(to_der(c.get())).c_str()));
  }

  if (const char* failed = complete_signature(doc, sig, props, key.key.get(), options.legacy_sha1))
    return fail(failed);
  return {};
}

namespace {

std::string qualified_name(const xmlNode* n) {
  std::string q =
      n->ns && n->ns->prefix ? reinterpret_cast<const char*>(n->ns->prefix) + std::string(":") : "";
  return q + std::string(xml_local_name(n));
}

// Where the end tag of `target` starts in `bytes`, the text `doc` was parsed from; npos when it
// cannot be known for certain. Without CDATA, comments or PIs, "</name" occurs only in end tags,
// so the end tag of `target` is the k-th "</name", k its rank among same-named elements in the
// order they close (post-order).
std::size_t end_tag_offset(xmlDoc* doc, xmlNode* target, std::string_view bytes) {
  const std::string name = qualified_name(target);
  std::size_t rank = 0;
  bool found = false;
  bool plain = true;
  // Iterative post-order walk.
  struct Frame {
    xmlNode* node;
    bool expanded;
  };
  std::vector<Frame> stack;
  for (xmlNode* n = doc->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    stack.push_back({n, false});
  }
  while (!stack.empty() && plain && !found) {
    Frame& f = stack.back();
    if (!f.expanded) {
      f.expanded = true;
      xmlNode* node = f.node;
      std::vector<xmlNode*> kids;
      for (xmlNode* c = node->children; c; c = c->next) {
        if (c->type == XML_CDATA_SECTION_NODE || c->type == XML_COMMENT_NODE ||
            c->type == XML_PI_NODE) {
          plain = false;
        } else if (c->type == XML_ELEMENT_NODE) {
          kids.push_back(c);
        }
      }
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, false});
      continue;
    }
    xmlNode* node = f.node;
    stack.pop_back();
    if (qualified_name(node) == name) {
      ++rank;
      found = node == target;
    }
  }
  for (xmlNode* n = doc->children; n; n = n->next) {
    if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE) plain = false;
  }
  if (!plain || !found) return std::string_view::npos;
  const std::string needle = "</" + name;
  std::size_t pos = 0;
  for (std::size_t seen = 0;; ++pos) {
    pos = bytes.find(needle, pos);
    if (pos == std::string_view::npos) return pos;
    std::size_t after = pos + needle.size();
    while (after < bytes.size() && (bytes[after] == ' ' || bytes[after] == '\t' ||
                                    bytes[after] == '\r' || bytes[after] == '\n')) {
      ++after;
    }
    if (after < bytes.size() && bytes[after] == '>' && ++seen == rank) return pos;
  }
}

bool utf8_compatible(const xmlDoc* doc) {
  if (!doc->encoding) return true;
  std::string enc = reinterpret_cast<const char*>(doc->encoding);
  for (auto& c : enc) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return enc == "UTF-8" || enc == "UTF8" || enc == "US-ASCII" || enc == "ASCII";
}

}  // namespace

namespace {

// Where the signature sign_package_doc just added goes in the signer's bytes, and its text; npos
// when the bytes cannot be kept (another encoding, comments or CDATA in the way).
struct Splice {
  std::size_t at = std::string_view::npos;
  std::string signature;
};

Splice splice_of(xmlDoc* doc, std::string_view xml) {
  Splice s;
  xmlNode* header = find_header(doc);
  xmlNode* sig = header ? header->last : nullptr;
  if (!sig || !utf8_compatible(doc)) return s;
  s.at = end_tag_offset(doc, header, xml);
  if (s.at == std::string_view::npos) return s;
  std::unique_ptr<xmlBuffer, decltype(&xmlBufferFree)> buf(xmlBufferCreate(), xmlBufferFree);
  xmlNodeDump(buf.get(), doc, sig, 0, 0);
  s.signature.assign(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                     static_cast<std::size_t>(xmlBufferLength(buf.get())));
  return s;
}

int write_spool(void* context, const char* data, int len) {
  auto* spool = static_cast<Spool*>(context);
  return spool->append(std::string_view(data, static_cast<std::size_t>(len))) ? len : -1;
}

}  // namespace

Expected<std::string> signed_bytes(xmlDoc* signed_doc, std::string_view xml) {
  // The sender's bytes stay as they were, with the new Signature spliced in before the header's
  // end tag: cheaper than re-serialising (attachments dominate) and kinder to diffs. The
  // signature's own namespace declarations make it independent of where it stands.
  Splice s = splice_of(signed_doc, xml);
  if (s.at == std::string_view::npos) return serialize_xml(signed_doc, false);
  std::string out;
  out.reserve(xml.size() + s.signature.size());
  out.append(xml.substr(0, s.at));
  out.append(s.signature);
  out.append(xml.substr(s.at));
  return out;
}

Expected<std::shared_ptr<Spool>> signed_bytes(xmlDoc* signed_doc, const Spool& xml,
                                              const std::string& spool_dir) {
  auto out = Spool::create(spool_dir);
  if (!out) return out.error();
  // The header comes before the attachments: its end tag lies in the first few kilobytes.
  constexpr std::size_t kHead = 4 << 20;
  std::string head(std::min<std::uint64_t>(xml.size(), kHead), '\0');
  if (xml.read_at(0, head.data(), head.size()) != static_cast<long>(head.size())) {
    return Error{"sign.io", "cannot read the package"};
  }
  Splice s = splice_of(signed_doc, head);
  if (s.at == std::string_view::npos) {
    xmlSaveCtxtPtr save = xmlSaveToIO(write_spool, nullptr, out->get(), "UTF-8", 0);
    if (!save || xmlSaveDoc(save, signed_doc) < 0) {
      if (save) xmlSaveClose(save);
      return Error{"sign.io", "cannot write the signed package"};
    }
    if (xmlSaveClose(save) < 0) return Error{"sign.io", "cannot write the signed package"};
    return out;
  }
  std::uint64_t offset = 0;
  auto r = (*out)->append(std::string_view(head).substr(0, s.at));
  if (r) r = (*out)->append(s.signature);
  if (r) {
    r = xml.for_each_piece([&](std::string_view piece) -> Expected<void> {
      const std::uint64_t from = std::max<std::uint64_t>(offset, s.at);
      const std::uint64_t end = offset + piece.size();
      offset = end;
      if (from >= end) return {};
      return (*out)->append(piece.substr(static_cast<std::size_t>(from - (end - piece.size()))));
    });
  }
  if (!r) return r.error();
  return out;
}

Expected<std::string> sign_package(std::string_view xml, const SigningKey& key,
                                   const SignOptions& options) {
  auto doc = parse_xml(xml, options.limits);
  if (!doc) return doc.error();
  if (auto ok = sign_package_doc(doc->get(), key, options); !ok) return ok.error();
  return signed_bytes(doc->get(), xml);
}

// ================================ verification =============================================

namespace {

struct Failure {
  VerdictCode code;
  std::string reason;
};

// One Reference, as the structural check found it.
struct ReferenceShape {
  xmlNode* target = nullptr;  // the Signature for URI="", else the SignatureProperties
  bool whole_document = false;
  int c14n = kC14nDefault;
  std::vector<std::string> inclusive_prefixes;  // exc-c14n's InclusiveNamespaces PrefixList
  const Algorithm* digest = nullptr;
  xmlNode* digest_value = nullptr;
};

// What the structural check learnt about one Signature element.
struct Shape {
  xmlNode* signed_info = nullptr;
  int signed_info_c14n = kC14nDefault;
  xmlNode* signature_value = nullptr;
  std::vector<ReferenceShape> references;
  const Algorithm* signature_algorithm = nullptr;
  const Algorithm* digest_algorithm = nullptr;
  std::vector<std::string> certificates_der;
  xmlNode* properties = nullptr;  // SignatureProperties, when referenced
  std::string properties_id;
  std::optional<std::time_t> signing_time;
  bool weak = false;
};

std::optional<Failure> check_digest(xmlNode* method, const VerifyPolicy& policy, Shape& shape,
                                    ReferenceShape& ref) {
  const std::string alg = attr(method, "Algorithm");
  const Algorithm* a = find_algorithm(kDigestAlgorithms, alg);
  if (!a) {
    return Failure{VerdictCode::algorithm_not_allowed,
                   at_line(method) + "digest algorithm '" + alg + "' is not allowed"};
  }
  if (a->sha1 && !policy.allow_sha1) {
    return Failure{VerdictCode::algorithm_not_allowed,
                   at_line(method) + "SHA-1 digests are refused by this node's policy"};
  }
  if (xml_first_element(method)) {
    return Failure{VerdictCode::malformed_signature,
                   at_line(method) + "<DigestMethod> has children"};
  }
  shape.weak |= a->sha1;
  if (!shape.digest_algorithm || a->sha1) shape.digest_algorithm = a;
  ref.digest = a;
  return std::nullopt;
}

// Transforms of a reference: `whole_document` references need enveloped-signature first.
std::optional<Failure> check_transforms(xmlNode* transforms, bool whole_document,
                                        ReferenceShape& ref) {
  std::vector<std::string> algs;
  for (xmlNode* t = xml_first_element(transforms); t; t = xml_next_element(t)) {
    if (!is_dsig(t, "Transform")) {
      return Failure{
          VerdictCode::malformed_signature,
          at_line(t) + "unexpected <" + std::string(xml_local_name(t)) + "> in <Transforms>"};
    }
    std::string alg = attr(t, "Algorithm");
    for (xmlNode* c = xml_first_element(t); c; c = xml_next_element(c)) {
      bool prefix_list = alg == kExcC14n && xml_local_name(c) == "InclusiveNamespaces" &&
                         xml_ns_uri(c) == kExcC14n;
      if (!prefix_list) {
        return Failure{VerdictCode::transform_not_allowed, at_line(c) + "transform parameters <" +
                                                               std::string(xml_local_name(c)) +
                                                               "> are not allowed"};
      }
      const std::string prefixes = attr(c, "PrefixList");
      std::string_view list = prefixes;
      while (!list.empty()) {
        std::size_t end = list.find_first_of(" \t\r\n");
        if (end != 0) ref.inclusive_prefixes.emplace_back(list.substr(0, end));
        list = end == std::string_view::npos ? std::string_view{} : list.substr(end + 1);
      }
    }
    if (alg != kEnveloped && !is_c14n(alg)) {
      return Failure{VerdictCode::transform_not_allowed,
                     at_line(t) + "transform '" + alg + "' is not allowed"};
    }
    algs.push_back(std::move(alg));
  }
  if (!algs.empty() && is_c14n(algs.back())) ref.c14n = c14n_mode(algs.back());
  bool ok = whole_document ? (!algs.empty() && algs[0] == kEnveloped &&
                              (algs.size() == 1 || (algs.size() == 2 && is_c14n(algs[1]))))
                           : (algs.size() <= 1 && (algs.empty() || is_c14n(algs[0])));
  if (!ok) {
    return Failure{
        VerdictCode::transform_not_allowed,
        at_line(transforms) +
            (whole_document ? "the document reference must use enveloped-signature then at most "
                              "one canonicalization"
                            : "the properties reference may use one canonicalization only")};
  }
  return std::nullopt;
}

std::optional<Failure> check_object(xmlNode* sig, xmlNode* object, Shape& shape) {
  auto bad = [&](xmlNode* at, const std::string& why) {
    return Failure{VerdictCode::unexpected_structure, at_line(at) + why};
  };
  xmlNode* props = xml_first_element(object);
  if (!is_dsig(props, "SignatureProperties") || xml_next_element(props)) {
    return bad(object, "<Object> may hold only one <SignatureProperties>");
  }
  shape.properties = props;
  shape.properties_id = attr(props, "Id");
  xmlNode* prop = xml_first_element(props);
  if (!is_dsig(prop, "SignatureProperty") || xml_next_element(prop)) {
    return bad(props, "<SignatureProperties> must hold one <SignatureProperty>");
  }
  std::string sig_id = attr(sig, "Id");
  if (sig_id.empty() || attr(prop, "Target") != "#" + sig_id) {
    return bad(prop, "<SignatureProperty> does not target its own signature");
  }
  xmlNode* time = xml_first_element(prop);
  if (!time || xml_local_name(time) != "SigningTime" || xml_ns_uri(time) != kSigningTimeNs ||
      xml_next_element(time)) {
    return bad(prop, "<SignatureProperty> must hold one SigningTime");
  }
  auto t = parse_utc(xml_text(time));
  if (!t) return Failure{VerdictCode::malformed_signature, at_line(time) + t.error().message};
  shape.signing_time = *t;
  return std::nullopt;
}

std::optional<Failure> check_key_info(xmlNode* key_info, Shape& shape) {
  for (xmlNode* c = xml_first_element(key_info); c; c = xml_next_element(c)) {
    if (is_dsig(c, "X509Data")) {
      if (!shape.certificates_der.empty()) {
        return Failure{VerdictCode::malformed_signature, at_line(c) + "more than one <X509Data>"};
      }
      for (xmlNode* x = xml_first_element(c); x; x = xml_next_element(x)) {
        if (!is_dsig(x, "X509Certificate")) continue;  // names and serials are informational
        auto der = base64_decode(xml_text(x));
        if (!der || der->empty()) {
          return Failure{VerdictCode::certificate_invalid,
                         at_line(x) + "<X509Certificate> is not valid base64"};
        }
        shape.certificates_der.push_back(std::move(*der));
      }
    } else if (is_dsig(c, "RetrievalMethod")) {
      return Failure{VerdictCode::unexpected_reference,
                     at_line(c) + "<RetrievalMethod> would fetch a key from elsewhere"};
    } else if (!is_dsig(c, "KeyName") && !is_dsig(c, "KeyValue")) {
      return Failure{
          VerdictCode::malformed_signature,
          at_line(c) + "unexpected <" + std::string(xml_local_name(c)) + "> in <KeyInfo>"};
    }
  }
  if (shape.certificates_der.empty()) {
    return Failure{VerdictCode::certificate_invalid,
                   at_line(key_info) + "<KeyInfo> carries no <X509Certificate>"};
  }
  return std::nullopt;
}

// The structure of one Signature against the allow-lists, before any cryptography.
std::optional<Failure> check_shape(xmlNode* sig, const VerifyPolicy& policy, Shape& shape) {
  auto malformed = [](xmlNode* at, const std::string& why) {
    return Failure{VerdictCode::malformed_signature, at_line(at) + why};
  };
  xmlNode* signed_info = xml_first_element(sig);
  if (!is_dsig(signed_info, "SignedInfo"))
    return malformed(sig, "<Signature> must start with <SignedInfo>");
  xmlNode* value = xml_next_element(signed_info);
  if (!is_dsig(value, "SignatureValue")) return malformed(sig, "<SignatureValue> is missing");
  xmlNode* key_info = xml_next_element(value);
  if (!is_dsig(key_info, "KeyInfo")) {
    return Failure{VerdictCode::certificate_invalid,
                   at_line(sig) + "<KeyInfo> with the signer's certificate is missing"};
  }
  xmlNode* object = nullptr;
  for (xmlNode* c = xml_next_element(key_info); c; c = xml_next_element(c)) {
    if (!is_dsig(c, "Object") || object) {
      return Failure{
          VerdictCode::unexpected_structure,
          at_line(c) + "unexpected <" + std::string(xml_local_name(c)) + "> in <Signature>"};
    }
    object = c;
  }
  if (object) {
    if (auto f = check_object(sig, object, shape)) return f;
  }

  xmlNode* c14n = xml_first_element(signed_info);
  if (!is_dsig(c14n, "CanonicalizationMethod")) {
    return malformed(signed_info, "<CanonicalizationMethod> is missing");
  }
  const std::string c14n_alg = attr(c14n, "Algorithm");
  if (!is_c14n(c14n_alg) || xml_first_element(c14n)) {
    return Failure{VerdictCode::transform_not_allowed,
                   at_line(c14n) + "canonicalization '" + c14n_alg + "' is not allowed"};
  }
  shape.signed_info_c14n = c14n_mode(c14n_alg);
  shape.signed_info = signed_info;
  shape.signature_value = value;
  xmlNode* method = xml_next_element(c14n);
  if (!is_dsig(method, "SignatureMethod"))
    return malformed(signed_info, "<SignatureMethod> is missing");
  const std::string alg = attr(method, "Algorithm");
  shape.signature_algorithm = find_algorithm(kSignatureAlgorithms, alg);
  if (!shape.signature_algorithm || xml_first_element(method)) {
    return Failure{VerdictCode::algorithm_not_allowed,
                   at_line(method) + "signature algorithm '" + alg + "' is not allowed"};
  }
  if (shape.signature_algorithm->sha1 && !policy.allow_sha1) {
    return Failure{
        VerdictCode::algorithm_not_allowed,
        at_line(method) + "SHA-1 signatures (" + alg + ") are refused by this node's policy"};
  }
  shape.weak |= shape.signature_algorithm->sha1;

  int whole_document_refs = 0;
  bool properties_referenced = false;
  for (xmlNode* ref = xml_next_element(method); ref; ref = xml_next_element(ref)) {
    if (!is_dsig(ref, "Reference")) {
      return malformed(ref,
                       "unexpected <" + std::string(xml_local_name(ref)) + "> in <SignedInfo>");
    }
    xmlChar* uri_raw = xmlGetNoNsProp(ref, to_xml("URI"));
    if (!uri_raw) {
      return Failure{VerdictCode::unexpected_reference,
                     at_line(ref) + "a <Reference> without URI is not allowed"};
    }
    std::string uri(reinterpret_cast<char*>(uri_raw));
    xmlFree(uri_raw);
    bool whole = uri.empty();
    bool to_props = !whole && object && !shape.properties_id.empty() &&
                    uri == "#" + shape.properties_id && !properties_referenced;
    if (!whole && !to_props) {
      return Failure{VerdictCode::unexpected_reference,
                     at_line(ref) + "reference URI '" + uri +
                         "' is not allowed; only the whole document (URI=\"\") is signed"};
    }
    if (whole && ++whole_document_refs > 1) {
      return Failure{VerdictCode::unexpected_reference,
                     at_line(ref) + "the document is referenced twice"};
    }
    properties_referenced |= to_props;
    ReferenceShape& rs = shape.references.emplace_back();
    rs.whole_document = whole;
    rs.target = whole ? sig : shape.properties;
    xmlNode* c = xml_first_element(ref);
    if (is_dsig(c, "Transforms")) {
      if (auto f = check_transforms(c, whole, rs)) return f;
      c = xml_next_element(c);
    } else if (whole) {
      return Failure{
          VerdictCode::transform_not_allowed,
          at_line(ref) + "the document reference lacks the enveloped-signature transform"};
    }
    if (!is_dsig(c, "DigestMethod")) return malformed(ref, "<DigestMethod> is missing");
    if (auto f = check_digest(c, policy, shape, rs)) return f;
    c = xml_next_element(c);
    if (!is_dsig(c, "DigestValue") || xml_next_element(c)) {
      return malformed(ref, "<Reference> must end with one <DigestValue>");
    }
    rs.digest_value = c;
  }
  if (whole_document_refs == 0) {
    return Failure{VerdictCode::unexpected_reference,
                   at_line(signed_info) + "no <Reference URI=\"\"> covers the document"};
  }
  if (object && !properties_referenced) {
    return Failure{VerdictCode::unexpected_structure,
                   at_line(object) + "<Object> is not covered by the signature"};
  }
  return check_key_info(key_info, shape);
}

struct StackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const noexcept { X509_STORE_CTX_free(c); }
};

std::optional<Failure> check_chain(X509* leaf, const std::vector<Cert>& intermediates,
                                   const std::string& chain_key, const TrustStore& trust,
                                   std::time_t at) {
  if (trust.chain_known_valid(chain_key, at)) return std::nullopt;
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (const auto& c : intermediates) sk_X509_push(untrusted.get(), share(c.get()).release());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), trust.store(), leaf, untrusted.get()) != 1) {
    return Failure{VerdictCode::certificate_untrusted, openssl_error("cannot check the chain")};
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, at);
  if (trust.checks_revocation()) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    std::string what = std::string("certificate of '") + common_name(leaf) +
                       "': " + X509_verify_cert_error_string(err);
    ERR_clear_error();
    switch (err) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return Failure{VerdictCode::certificate_expired, what};
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return Failure{VerdictCode::certificate_not_yet_valid, what};
      case X509_V_ERR_CERT_REVOKED:
        return Failure{VerdictCode::certificate_revoked, what};
      case X509_V_ERR_UNABLE_TO_GET_CRL:
      case X509_V_ERR_CRL_HAS_EXPIRED:
      case X509_V_ERR_CRL_NOT_YET_VALID:
      case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        return Failure{VerdictCode::revocation_unknown, what};
      default:
        return Failure{VerdictCode::certificate_untrusted, what};
    }
  }
  std::time_t from = trust.checks_revocation() ? trust.crl_from() : 0;
  std::time_t until = trust.checks_revocation() ? trust.crl_until() : INT64_MAX;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    from = std::max(from, asn1_to_time(X509_get0_notBefore(c)));
    until = std::min(until, asn1_to_time(X509_get0_notAfter(c)));
  }
  trust.remember_valid_chain(chain_key, from, until);
  return std::nullopt;
}

std::optional<Failure> check_certificate(X509* leaf, const std::vector<Cert>& intermediates,
                                         const std::string& chain_key, const TrustStore& trust,
                                         std::time_t at) {
  if (auto strong = check_key_strength(X509_get0_pubkey(leaf)); !strong) {
    return Failure{VerdictCode::algorithm_not_allowed, strong.error().message};
  }
  if (trust.empty()) {
    return Failure{VerdictCode::certificate_untrusted, "no trust anchor is configured"};
  }
  if (auto f = check_chain(leaf, intermediates, chain_key, trust, at)) return f;
  if (!(X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) ||
      !(X509_get_key_usage(leaf) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
    return Failure{
        VerdictCode::key_usage_not_signing,
        "certificate of '" + common_name(leaf) + "' does not allow digital signatures (key usage)"};
  }
  if (X509_get_extension_flags(leaf) & EXFLAG_CA) {
    return Failure{VerdictCode::key_usage_not_signing,
                   "certificate of '" + common_name(leaf) + "' is a CA certificate"};
  }
  return std::nullopt;
}

// Takes signatures [from, to) out of the tree for the lifetime of this object, and puts each
// back where it stood: signature k is verified on the document as it was when k was made.
class SignaturesRemoved {
 public:
  SignaturesRemoved(const std::vector<xmlNode*>& sigs, std::size_t from, std::size_t to) {
    for (std::size_t i = to; i-- > from;) {
      removed_.push_back({sigs[i], sigs[i]->parent, sigs[i]->next});
      xmlUnlinkNode(sigs[i]);
    }
  }
  ~SignaturesRemoved() {
    for (auto it = removed_.rbegin(); it != removed_.rend(); ++it) {
      if (it->next) {
        xmlAddPrevSibling(it->next, it->node);
      } else {
        xmlAddChild(it->parent, it->node);
      }
    }
  }
  SignaturesRemoved(const SignaturesRemoved&) = delete;
  SignaturesRemoved& operator=(const SignaturesRemoved&) = delete;

 private:
  struct Removed {
    xmlNode* node;
    xmlNode* parent;
    xmlNode* next;
  };
  std::vector<Removed> removed_;
};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// A node-set that is one element's subtree, as libxml2's c14n asks for it. For a namespace node
// libxml2 passes the element it is in scope on as `parent`.
int in_subtree(void* root, xmlNode* node, xmlNode* parent) {
  for (xmlNode* n = node->type == XML_NAMESPACE_DECL ? parent : node; n; n = n->parent) {
    if (n == root) return 1;
  }
  return 0;
}

// Leaves only the path from the document down to `subtree` in the tree for the lifetime of this
// object: libxml2's c14n visits every node of the document to ask whether it is in the node-set,
// so a <SignedInfo> would cost a walk of the whole package. Nodes outside the subtree are never in
// it, and what the subtree's form takes from its ancestors (namespaces, xml: attributes) is found
// through parent pointers, which stay.
class PathOnly {
 public:
  explicit PathOnly(xmlNode* subtree) {
    for (xmlNode* n = subtree; n && n->parent; n = n->parent) {
      xmlNode* p = n->parent;
      saved_.push_back({n, p, n->prev, n->next, p->children, p->last});
      n->prev = n->next = nullptr;
      p->children = p->last = n;
    }
  }
  ~PathOnly() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      it->node->prev = it->prev;
      it->node->next = it->next;
      it->parent->children = it->first;
      it->parent->last = it->last;
    }
  }
  PathOnly(const PathOnly&) = delete;
  PathOnly& operator=(const PathOnly&) = delete;

 private:
  struct Saved {
    xmlNode* node;
    xmlNode* parent;
    xmlNode* prev;
    xmlNode* next;
    xmlNode* first;
    xmlNode* last;
  };
  std::vector<Saved> saved_;
};

// Where one element's canonical form starts and ends in the output: libxml2 asks whether a node
// is visible just before writing it, so the question about the element gives its start and the
// question about the node after it (a marker placed there) its end.
struct Marks {
  const xmlNode* element = nullptr;
  const xmlNode* after = nullptr;
  const std::string* written = nullptr;  // what reached the sink so far
  xmlOutputBuffer* out = nullptr;        // what is still buffered on the way
  std::size_t start = std::string::npos;
  std::size_t end = std::string::npos;
};

int mark_positions(void* marks, xmlNode* node, xmlNode* /*parent*/) {
  auto& m = *static_cast<Marks*>(marks);
  if (node == m.element || node == m.after) {
    std::size_t& at = node == m.element ? m.start : m.end;
    if (at == std::string::npos) at = m.written->size() + xmlOutputBufferGetSize(m.out);
  }
  return 1;
}

// Canonical form of `subtree` (the whole document when null, which is what a Reference URI=""
// names once enveloped-signature has taken the signature out), streamed into `sink`. Comments are
// never part of either node-set. `marks` (whole document only) locates one element's form.
bool canonicalize(xmlDoc* doc, xmlNode* subtree, int mode, const std::vector<std::string>& prefixes,
                  xmlOutputWriteCallback sink, void* sink_ctx, Marks* marks = nullptr) {
  const bool exclusive = mode == XML_C14N_EXCLUSIVE_1_0 && prefixes.empty();
  if (exclusive || (!subtree && mode == XML_C14N_1_0)) {
    auto to_sink = [&](std::string_view piece) {
      return sink(sink_ctx, piece.data(), static_cast<int>(piece.size())) >= 0;
    };
    switch (subtree ? canonicalize_element(subtree, to_sink)
                    : canonicalize_document(
                          doc, exclusive, to_sink, marks ? marks->element : nullptr,
                          marks ? &marks->start : nullptr, marks ? &marks->end : nullptr)) {
      case C14nOutcome::written:
        return true;
      case C14nOutcome::sink_failed:
        return false;
      case C14nOutcome::unsupported:
        break;
    }
  }
  std::vector<xmlChar*> list;
  for (const auto& p : prefixes) list.push_back(const_cast<xmlChar*>(to_xml(p.c_str())));
  list.push_back(nullptr);
  xmlOutputBuffer* out = xmlOutputBufferCreateIO(sink, nullptr, sink_ctx, nullptr);
  if (!out) return false;
  if (marks) marks->out = out;
  std::optional<PathOnly> path;
  if (subtree) path.emplace(subtree);
  int rc = xmlC14NExecute(doc,
                          subtree ? in_subtree
                          : marks ? mark_positions
                                  : nullptr,
                          subtree ? static_cast<void*>(subtree) : static_cast<void*>(marks), mode,
                          prefixes.empty() ? nullptr : list.data(), 0, out);
  return xmlOutputBufferClose(out) >= 0 && rc >= 0;
}

int digest_sink(void* ctx, const char* data, int len) {
  return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx), data, static_cast<std::size_t>(len)) == 1
             ? len
             : -1;
}

int string_sink(void* ctx, const char* data, int len) {
  static_cast<std::string*>(ctx)->append(data, static_cast<std::size_t>(len));
  return len;
}

// The canonical document is kept for the second signature only while it is small: a large one
// (a 100 MB attachment) is canonicalized once per signature instead, never held in memory.
constexpr std::size_t kSharedCanonicalMax = 8 << 20;

int capped_string_sink(void* ctx, const char* data, int len) {
  auto* bytes = static_cast<std::string*>(ctx);
  if (bytes->size() + static_cast<std::size_t>(len) > kSharedCanonicalMax) return -1;
  bytes->append(data, static_cast<std::size_t>(len));
  return len;
}

Failure cannot_canonicalize(const ReferenceShape& ref) {
  ERR_clear_error();
  return Failure{VerdictCode::malformed_signature,
                 ref.whole_document ? "the signed content cannot be canonicalized"
                                    : "the signature properties cannot be canonicalized"};
}

std::optional<Failure> compare_digest(const ReferenceShape& ref, const unsigned char* digest,
                                      unsigned int size) {
  auto expected = base64_decode(xml_text(ref.digest_value));
  if (!expected) {
    return Failure{VerdictCode::malformed_signature,
                   at_line(ref.digest_value) + "<DigestValue> is not valid base64"};
  }
  if (expected->size() != size || std::memcmp(expected->data(), digest, size) != 0) {
    return Failure{VerdictCode::digest_mismatch,
                   ref.whole_document ? "the signed content was altered (digest mismatch)"
                                      : "the signature properties were altered (digest mismatch)"};
  }
  return std::nullopt;
}

// The raw digest of the canonical form of `subtree` (the whole document when null); nullopt when
// it cannot be canonicalized.
std::optional<std::string> canonical_digest(xmlDoc* doc, xmlNode* subtree, int mode,
                                            const std::vector<std::string>& prefixes,
                                            const EVP_MD* type) {
  MdCtx md(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!md || EVP_DigestInit_ex(md.get(), type, nullptr) != 1 ||
      !canonicalize(doc, subtree, mode, prefixes, digest_sink, md.get()) ||
      EVP_DigestFinal_ex(md.get(), digest, &size) != 1) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::optional<Failure> check_reference(xmlDoc* doc, const ReferenceShape& ref) {
  auto digest = canonical_digest(doc, ref.whole_document ? nullptr : ref.target, ref.c14n,
                                 ref.inclusive_prefixes, ref.digest->md());
  if (!digest) return cannot_canonicalize(ref);
  return compare_digest(ref, reinterpret_cast<const unsigned char*>(digest->data()),
                        static_cast<unsigned int>(digest->size()));
}

std::optional<Failure> check_reference_parts(const ReferenceShape& ref,
                                             std::initializer_list<std::string_view> parts) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  MdCtx md(EVP_MD_CTX_new());
  bool ok = md && EVP_DigestInit_ex(md.get(), ref.digest->md(), nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(md.get(), part.data(), part.size()) == 1;
  }
  if (!ok || EVP_DigestFinal_ex(md.get(), digest, &size) != 1) return cannot_canonicalize(ref);
  return compare_digest(ref, digest, size);
}

// The canonical document as the second signature covers it (without itself, with the first
// signature), made while checking the first signature's reference, which covers the same bytes
// less the first signature's own canonical form: removing an element from a tree removes exactly
// its form from the canonical output, since how every other node is written depends only on its
// ancestors. One canonicalization of the whole document instead of two.
struct SharedCanonical {
  int mode = -1;
  std::vector<std::string> prefixes;
  std::string bytes;
};

// Signature 0's document reference, on the document without signature 1: canonicalizes it once,
// with signature 0 in place and located, keeps the bytes in `shared` and digests them less
// signature 0. nullopt in `done` when the positions are not usable (then nothing is kept).
std::optional<Failure> check_first_reference(xmlDoc* doc, xmlNode* sig, const ReferenceShape& ref,
                                             SharedCanonical& shared, bool& done) {
  done = false;
  xmlNode* marker = xmlNewDocText(doc, to_xml(""));  // renders as nothing
  if (!marker) return std::nullopt;
  marker->parent = sig->parent;
  marker->prev = sig;
  marker->next = sig->next;
  if (sig->next) {
    sig->next->prev = marker;
  } else {
    sig->parent->last = marker;
  }
  sig->next = marker;
  std::string bytes;
  Marks marks{sig, marker, &bytes};
  const bool ok = canonicalize(doc, nullptr, ref.c14n, ref.inclusive_prefixes, capped_string_sink,
                               &bytes, &marks);
  xmlUnlinkNode(marker);
  xmlFreeNode(marker);
  if (!ok) {
    ERR_clear_error();
    return std::nullopt;  // too large to keep, or a real fault the plain path reports again
  }
  if (marks.start >= marks.end || marks.end > bytes.size() || bytes[marks.start] != '<' ||
      bytes[marks.end - 1] != '>') {
    return std::nullopt;
  }
  done = true;
  const std::string_view all = bytes;
  auto f = check_reference_parts(ref, {all.substr(0, marks.start), all.substr(marks.end)});
  shared = SharedCanonical{ref.c14n, ref.inclusive_prefixes, std::move(bytes)};
  return f;
}

// XML-DSig's ECDSA value is r || s, each as long as the group order; OpenSSL takes DER.
std::optional<std::string> ecdsa_value_to_der(std::string_view value, EVP_PKEY* key) {
  const std::size_t half = (static_cast<std::size_t>(EVP_PKEY_get_bits(key)) + 7) / 8;
  if (value.size() != 2 * half) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + half, static_cast<int>(half), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// The cryptography of signature `index`, on the document as it was when that signature was made:
// each reference's digest, then the signature value over the canonical SignedInfo. The shape was
// checked before, so only enveloped-signature and canonicalization transforms occur, the document
// (URI="") and the signature's own SignatureProperties are the only references, and xmlsec's
// general node-set engine (four times the cost of a parse) is not needed.
std::optional<Failure> check_cryptography(xmlDoc* doc, const std::vector<xmlNode*>& sigs,
                                          std::size_t index, const Shape& shape, EVP_PKEY* key,
                                          const P256Verifier* p256, SharedCanonical& shared) {
  SignaturesRemoved later(sigs, index + 1, sigs.size());
  for (const auto& ref : shape.references) {
    if (!ref.whole_document) {
      if (auto f = check_reference(doc, ref)) return f;
      continue;
    }
    if (index == 0 && sigs.size() == 2) {
      bool done = false;
      auto f = check_first_reference(doc, sigs[0], ref, shared, done);
      if (f) return f;
      if (done) continue;
    } else if (index == 1 && shared.mode == ref.c14n && shared.prefixes == ref.inclusive_prefixes) {
      if (auto f = check_reference_parts(ref, {shared.bytes})) return f;
      continue;
    }
    SignaturesRemoved enveloped(sigs, index, index + 1);
    if (auto f = check_reference(doc, ref)) return f;
  }
  const Algorithm& alg = *shape.signature_algorithm;
  if (alg.ec != (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) ||
      (!alg.ec && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)) {
    return Failure{VerdictCode::bad_signature_value,
                   std::string("the certificate's key cannot make ") + alg.name + " signatures"};
  }
  std::string signed_info;
  if (!canonicalize(doc, shape.signed_info, shape.signed_info_c14n, {}, string_sink,
                    &signed_info)) {
    return Failure{VerdictCode::malformed_signature,
                   at_line(shape.signed_info) + "<SignedInfo> cannot be canonicalized"};
  }
  auto value = base64_decode(xml_text(shape.signature_value));
  if (!value) {
    return Failure{VerdictCode::malformed_signature,
                   at_line(shape.signature_value) + "<SignatureValue> is not valid base64"};
  }
  auto mismatch = [] {
    return Failure{VerdictCode::bad_signature_value,
                   "the signature value does not match the signed information and key"};
  };
  if (alg.ec && p256 && alg.md == md_sha256 && value->size() == 64) {
    if (auto ok = p256->verify(sha256(signed_info), *value)) {
      if (*ok) return std::nullopt;
      return mismatch();
    }
  }
  if (alg.ec) {
    auto der = ecdsa_value_to_der(*value, key);
    if (!der) {
      return Failure{VerdictCode::bad_signature_value,
                     at_line(shape.signature_value) +
                         "the ECDSA signature value does not have the length of the key's r and s"};
    }
    *value = std::move(*der);
  }
  MdCtx md(EVP_MD_CTX_new());
  const bool ok =
      md && EVP_DigestVerifyInit(md.get(), nullptr, alg.md(), nullptr, key) == 1 &&
      EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(value->data()),
                       value->size(), reinterpret_cast<const unsigned char*>(signed_info.data()),
                       signed_info.size()) == 1;
  ERR_clear_error();
  if (!ok) return mismatch();
  return std::nullopt;
}

// Fills in the template sign_package_doc built (in place, under the header): both references'
// digests, then the value over the canonical SignedInfo, exactly as check_cryptography checks
// them; xmlsec's general transform engine would cost several parses. nullptr, or what failed.
const char* complete_signature(xmlDoc* doc, xmlNode* sig, xmlNode* properties, EVP_PKEY* key,
                               bool sha1) {
  const EVP_MD* md_type = sha1 ? md_sha1() : md_sha256();
  xmlNode* signed_info = xml_first_element(sig);
  xmlNode* signature_value = signed_info ? xml_next_element(signed_info) : nullptr;
  if (!signature_value || !is_dsig(signature_value, "SignatureValue"))
    return "the signature template is incomplete";
  auto digest_of = [&](xmlNode* subtree) -> std::optional<std::string> {
    std::optional<SignaturesRemoved> enveloped;
    if (!subtree) enveloped.emplace(std::vector<xmlNode*>{sig}, 0, 1);
    auto digest = canonical_digest(doc, subtree, XML_C14N_EXCLUSIVE_1_0, {}, md_type);
    if (!digest) return std::nullopt;
    return base64_encode(*digest);
  };
  // The document's reference comes first, then the properties'.
  int k = 0;
  for (xmlNode* ref = xml_first_element(signed_info); ref; ref = xml_next_element(ref)) {
    if (!is_dsig(ref, "Reference")) continue;
    xmlNode* digest_value = nullptr;
    for (xmlNode* c = xml_first_element(ref); c; c = xml_next_element(c)) {
      if (is_dsig(c, "DigestValue")) digest_value = c;
    }
    auto digest = digest_of(k++ == 0 ? nullptr : properties);
    if (!digest_value || !digest) {
      ERR_clear_error();
      return "the signed content cannot be canonicalized";
    }
    xmlNodeSetContent(digest_value, to_xml(digest->c_str()));
  }
  if (k != 2) return "the signature template is incomplete";
  std::string canonical;
  if (!canonicalize(doc, signed_info, XML_C14N_EXCLUSIVE_1_0, {}, string_sink, &canonical)) {
    ERR_clear_error();
    return "<SignedInfo> cannot be canonicalized";
  }
  MdCtx md(EVP_MD_CTX_new());
  // The context signs once: FINALISE spares the copy of it OpenSSL otherwise signs with.
  std::size_t size = static_cast<std::size_t>(std::max(EVP_PKEY_get_size(key), 0));
  std::string value(size, '\0');
  bool ok = md && size > 0 && EVP_DigestSignInit(md.get(), nullptr, md_type, nullptr, key) == 1;
  if (ok) EVP_MD_CTX_set_flags(md.get(), EVP_MD_CTX_FLAG_FINALISE);
  ok = ok && EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(value.data()), &size,
                            reinterpret_cast<const unsigned char*>(canonical.data()),
                            canonical.size()) == 1;
  value.resize(ok ? size : 0);
  if (ok && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    // OpenSSL gives DER; XML-DSig wants r || s, each as long as the group order.
    auto raw = ecdsa_der_to_raw(value, (static_cast<std::size_t>(EVP_PKEY_get_bits(key)) + 7) / 8);
    ok = raw.has_value();
    if (ok) value = std::move(*raw);
  }
  if (!ok) {
    ERR_clear_error();
    return "signing failed";
  }
  xmlNodeSetContent(signature_value, to_xml(base64_encode(value).c_str()));
  return nullptr;
}

// Elements that make a tree unsafe to accept whatever the signatures say.
std::optional<Failure> check_tree(xmlDoc* doc, xmlNode* header, Verdict& verdict) {
  std::vector<xmlNode*> stack;
  for (xmlNode* n = doc->children; n; n = n->next) stack.push_back(n);
  while (!stack.empty()) {
    xmlNode* n = stack.back();
    stack.pop_back();
    if (n->type == XML_COMMENT_NODE) {
      return Failure{VerdictCode::comment_in_signed_content,
                     at_line(n) + "comments are not signed by XML-DSig and are refused"};
    }
    if (n->type != XML_ELEMENT_NODE) continue;
    if (xml_ns_uri(n) == kDsigNs) {
      if (!is_dsig(n, "Signature") || n->parent != header) {
        return Failure{VerdictCode::unexpected_structure,
                       at_line(n) + "XML-DSig <" + std::string(xml_local_name(n)) +
                           "> stands outside edXMLHeader (signature wrapping?)"};
      }
      continue;  // its inside is checked by check_shape
    }
    if (xml_local_name(n) == "Signature" && xml_ns_uri(n) != kDsigNs) {
      verdict.notes.push_back(at_line(n) +
                              "a <Signature> outside the XML-DSig namespace is not a signature "
                              "and was treated as content");
    }
    for (xmlNode* c = n->children; c; c = c->next) stack.push_back(c);
  }
  return std::nullopt;
}

// Every Id attribute value in the document, for the duplicate check.
// The values of every Id, ID and id attribute of the document's elements, in one walk.
std::vector<std::string_view> id_values(xmlDoc* doc) {
  std::vector<std::string_view> out;
  std::vector<xmlNode*> stack;
  if (xmlNode* root = xmlDocGetRootElement(doc)) stack.push_back(root);
  while (!stack.empty()) {
    xmlNode* n = stack.back();
    stack.pop_back();
    for (xmlAttr* a = n->properties; a; a = a->next) {
      std::string_view name = reinterpret_cast<const char*>(a->name);
      if ((name == "Id" || name == "ID" || name == "id") && a->children && a->children->content) {
        out.emplace_back(reinterpret_cast<const char*>(a->children->content));
      }
    }
    for (xmlNode* c = n->children; c; c = c->next) {
      if (c->type == XML_ELEMENT_NODE) stack.push_back(c);
    }
  }
  return out;
}

}  // namespace

Verdict verify_package_doc(xmlDoc* doc, const TrustStore& trust, const VerifyPolicy& policy) {
  xmldsig_init();
  Verdict verdict;
  auto refuse = [&](VerdictCode code, std::string reason) {
    verdict.code = code;
    verdict.reason = std::move(reason);
    return verdict;
  };
  xmlNode* header = find_header(doc);
  if (!header) {
    return refuse(VerdictCode::unexpected_structure,
                  "not an edXML package: edXML/edXMLEnvelope/edXMLHeader is missing");
  }
  if (auto f = check_tree(doc, header, verdict)) return refuse(f->code, f->reason);
  auto sigs = header_signatures(header);
  if (sigs.empty()) {
    return refuse(VerdictCode::no_signature,
                  verdict.notes.empty()
                      ? "the package carries no XML-DSig signature"
                      : "the package carries no XML-DSig signature; " + verdict.notes.front());
  }
  if (sigs.size() > 2) {
    return refuse(VerdictCode::unexpected_structure,
                  at_line(sigs[2]) + "more than two signatures (signer and organisation)");
  }
  const std::time_t at = policy.at ? *policy.at : std::time(nullptr);
  SharedCanonical shared;
  std::optional<std::vector<std::string_view>> ids;  // gathered once, when first needed
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    SignatureVerdict sv;
    sv.index = static_cast<int>(i) + 1;
    sv.line = xml_line(sigs[i]);
    const std::string id = attr(sigs[i], "Id");
    sv.role = id == id_for(SignatureRole::organisation) ? SignatureRole::organisation
              : id == id_for(SignatureRole::signer)     ? SignatureRole::signer
              : i == 0                                  ? SignatureRole::signer
                                                        : SignatureRole::organisation;
    auto judge = [&]() -> std::optional<Failure> {
      const auto expected = i == 0 ? SignatureRole::signer : SignatureRole::organisation;
      if (sigs.size() == 2 && sv.role != expected) {
        return Failure{VerdictCode::unexpected_structure,
                       at_line(sigs[i]) + "the " + to_string(sv.role) +
                           "'s signature stands in the wrong place"};
      }
      Shape shape;
      if (auto f = check_shape(sigs[i], policy, shape)) return f;
      sv.signature_algorithm = shape.signature_algorithm->name;
      sv.digest_algorithm = shape.digest_algorithm ? shape.digest_algorithm->name : "";
      sv.weak = shape.weak;
      sv.signing_time = shape.signing_time;
      if (!shape.properties_id.empty() && !ids) ids = id_values(doc);
      if (!shape.properties_id.empty() &&
          std::count(ids->begin(), ids->end(), shape.properties_id) != 1) {
        return Failure{VerdictCode::unexpected_structure,
                       at_line(sigs[i]) + "Id '" + shape.properties_id + "' is not unique"};
      }
      auto leaf = trust.parsed_certificate(shape.certificates_der.front());
      if (!leaf) return Failure{VerdictCode::certificate_invalid, leaf.error().message};
      std::string chain_key = sha256(shape.certificates_der.front());
      std::vector<Cert> intermediates;
      for (std::size_t k = 1; k < shape.certificates_der.size(); ++k) {
        auto c = trust.certificate(shape.certificates_der[k]);
        if (!c) return Failure{VerdictCode::certificate_invalid, c.error().message};
        intermediates.push_back(std::move(*c));
        chain_key += sha256(shape.certificates_der[k]);
      }
      X509* cert = leaf->cert.get();
      const CertificateFacts& facts = *leaf->facts;
      sv.subject = facts.subject;
      sv.common_name = facts.common_name;
      sv.issuer = facts.issuer;
      sv.serial = facts.serial;
      sv.fingerprint_sha256 = facts.fingerprint_sha256;
      if (auto f = check_certificate(cert, intermediates, chain_key, trust, at)) return f;
      return check_cryptography(doc, sigs, i, shape, X509_get0_pubkey(cert), leaf->p256.get(),
                                shared);
    };
    if (auto f = judge()) {
      sv.code = f->code;
      sv.reason = f->reason;
    } else {
      sv.reason = sv.weak ? "valid, but with a weak (SHA-1) algorithm allowed by policy" : "valid";
    }
    verdict.weak |= sv.weak;
    verdict.signatures.push_back(std::move(sv));
  }
  for (const auto& sv : verdict.signatures) {
    if (sv.code != VerdictCode::valid) {
      return refuse(sv.code, std::string(to_string(sv.role)) + " signature #" +
                                 std::to_string(sv.index) + ": " + sv.reason);
    }
  }
  verdict.reason = verdict.weak ? "all signatures valid; SHA-1 accepted by policy (weak)"
                                : "all signatures valid";
  return verdict;
}

Verdict verify_package(std::string_view xml, const TrustStore& trust, const VerifyPolicy& policy) {
  auto doc = parse_xml(xml, policy.limits);
  if (!doc) {
    Verdict v;
    v.code = VerdictCode::xml_rejected;
    v.reason = doc.error().message;
    return v;
  }
  return verify_package_doc(doc->get(), trust, policy);
}

}  // namespace lienthong
