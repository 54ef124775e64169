#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace lienthong {

enum class VerdictCode {
  valid,
  xml_rejected,  // not parsed: malformed, DTD, too large, too deep
  no_signature,
  malformed_signature,    // a Signature that does not follow XML-DSig
  unexpected_structure,   // signature in the wrong place, wrapped, duplicated ids, too many
  unexpected_reference,   // a Reference other than the whole document
  transform_not_allowed,  // XPath, XSLT, c14n with comments, ...
  algorithm_not_allowed,  // by policy: SHA-1 without allow_sha1, HMAC, weak keys
  comment_in_signed_content,
  certificate_invalid,  // not decodable, or missing from KeyInfo
  certificate_untrusted,
  certificate_expired,
  certificate_not_yet_valid,
  certificate_revoked,
  revocation_unknown,  // CRL checking is on and no valid CRL covers the certificate
  key_usage_not_signing,
  digest_mismatch,
  bad_signature_value,
};

// Stable machine-readable name, e.g. "digest_mismatch".
const char* to_string(VerdictCode code);

enum class SignatureRole { signer, organisation };
const char* to_string(SignatureRole role);

// What one signature says and whether it holds.
struct SignatureVerdict {
  int index = 0;  // 1-based position in the header
  SignatureRole role = SignatureRole::signer;
  VerdictCode code = VerdictCode::valid;
  std::string reason;
  std::string subject;  // RFC 2253
  std::string common_name;
  std::string issuer;
  std::string serial;
  std::string fingerprint_sha256;
  std::optional<std::time_t> signing_time;  // from the signed SignatureProperties, if present
  std::string signature_algorithm;
  std::string digest_algorithm;
  bool weak = false;  // SHA-1, accepted only by policy
  long line = 0;
};

// The verdict on a whole package: valid only when every signature is.
struct Verdict {
  VerdictCode code = VerdictCode::valid;
  std::string reason;
  std::vector<SignatureVerdict> signatures;
  std::vector<std::string> notes;  // things worth knowing that do not fail the package
  bool weak = false;

  bool valid() const { return code == VerdictCode::valid; }
};

}  // namespace lienthong
