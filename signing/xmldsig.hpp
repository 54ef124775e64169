#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "base/xml.hpp"
#include "signing/crypto.hpp"
#include "signing/trust_store.hpp"
#include "signing/verdict.hpp"

namespace lienthong {

inline constexpr const char* kDsigNs = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr const char* kEdxmlNs = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
inline constexpr const char* kSigningTimeNs = "urn:lienthong:signature:1";

// Process-wide libxml2 + xmlsec (OpenSSL) setup. Idempotent and thread-safe.
void xmldsig_init();

struct SignOptions {
  SignatureRole role = SignatureRole::signer;
  std::optional<std::time_t> at;  // signing time; now when absent
  XmlLimits limits;
  // RSA-SHA1/ECDSA-SHA1 with SHA-1 digests, as deployed systems still emit: only to reproduce
  // their packages (interoperability tests). Never the default.
  bool legacy_sha1 = false;
};

// Adds an enveloped XML-DSig signature as the last child of edXMLHeader. sign_package returns the
// input bytes with the signature spliced in before the header's end tag (the whole document is
// re-serialised only when CDATA, comments or a non-UTF-8 encoding make the splice uncertain).
//
// Construction (NĐ 30/2020, two signatures): the authorised signer signs first; the organisation
// signs second. Each signature has one Reference URI="" (enveloped-signature + exc-c14n, SHA-256)
// and one Reference to its own signed SignatureProperties holding the signing time. The enveloped
// transform removes only the signature being computed, so the organisation's signature covers the
// document and the signer's signature. The signer's signature is verified on the document with the
// later signatures removed. Altering the content breaks both; altering the first signature breaks
// the second.
Expected<std::string> sign_package(std::string_view xml, const SigningKey& key,
                                   const SignOptions& options = {});
Expected<void> sign_package_doc(xmlDoc* doc, const SigningKey& key,
                                const SignOptions& options = {});
// The bytes of a package that sign_package_doc has just signed, given the bytes it was parsed
// from: those bytes with the new signature spliced in (or, failing that, the tree serialised).
Expected<std::string> signed_bytes(xmlDoc* signed_doc, std::string_view xml);
// The same for a spooled package, written to a new spool (in `spool_dir`, or the system's
// temporary directory): memory holds the tree, never the bytes whole.
Expected<std::shared_ptr<Spool>> signed_bytes(xmlDoc* signed_doc, const Spool& xml,
                                              const std::string& spool_dir = {});

struct VerifyPolicy {
  bool allow_sha1 = false;        // accept SHA-1 (deployed systems still send it), reported weak
  std::optional<std::time_t> at;  // when certificates must be valid; now when absent
  XmlLimits limits;
};

// Checks every signature of the package: structure, algorithms, references and transforms against
// the allow-lists, the certificate chain (validity, CRLs, key usage), and the cryptography.
Verdict verify_package(std::string_view xml, const TrustStore& trust,
                       const VerifyPolicy& policy = {});
Verdict verify_package_doc(xmlDoc* doc, const TrustStore& trust, const VerifyPolicy& policy = {});

}  // namespace lienthong
