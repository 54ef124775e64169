#include "signing/verdict.hpp"

namespace lienthong {

const char* to_string(VerdictCode code) {
  switch (code) {
    case VerdictCode::valid:
      return "valid";
    case VerdictCode::xml_rejected:
      return "xml_rejected";
    case VerdictCode::no_signature:
      return "no_signature";
    case VerdictCode::malformed_signature:
      return "malformed_signature";
    case VerdictCode::unexpected_structure:
      return "unexpected_structure";
    case VerdictCode::unexpected_reference:
      return "unexpected_reference";
    case VerdictCode::transform_not_allowed:
      return "transform_not_allowed";
    case VerdictCode::algorithm_not_allowed:
      return "algorithm_not_allowed";
    case VerdictCode::comment_in_signed_content:
      return "comment_in_signed_content";
    case VerdictCode::certificate_invalid:
      return "certificate_invalid";
    case VerdictCode::certificate_untrusted:
      return "certificate_untrusted";
    case VerdictCode::certificate_expired:
      return "certificate_expired";
    case VerdictCode::certificate_not_yet_valid:
      return "certificate_not_yet_valid";
    case VerdictCode::certificate_revoked:
      return "certificate_revoked";
    case VerdictCode::revocation_unknown:
      return "revocation_unknown";
    case VerdictCode::key_usage_not_signing:
      return "key_usage_not_signing";
    case VerdictCode::digest_mismatch:
      return "digest_mismatch";
    case VerdictCode::bad_signature_value:
      return "bad_signature_value";
  }
  return "unknown";
}

const char* to_string(SignatureRole role) {
  return role == SignatureRole::signer ? "signer" : "organisation";
}

}  // namespace lienthong
