#include "adapters/edxml/status_packager.hpp"

#include <gtest/gtest.h>

#include <string>

#include "adapters/edxml/codec.hpp"
#include "base/encoding.hpp"
#include "signing/xmldsig.hpp"
#include "tests/signing/test_pki.hpp"

namespace lienthong {
namespace {

using testing::kNow;

constexpr const char* kAgency = "000.00.01.A53";

std::string without_signature_value(std::string xml) {
  const std::string open = "<SignatureValue>", close = "</SignatureValue>";
  const std::size_t from = xml.find(open);
  const std::size_t to = xml.find(close, from);
  if (from == std::string::npos || to == std::string::npos) return xml;
  return xml.erase(from + open.size(), to - from - open.size());
}

// A status packet is signed on the encoder's tree: the bytes are those of the encoded packet
// signed after a parse (the signature value aside, which ECDSA draws anew each time), and it
// verifies.
TEST(SignedStatusPackager, SignsTheEncodedPacketWithoutParsingItBack) {
  testing::TestPki pki;
  std::map<std::string, SigningKey> keys;
  keys.emplace(kAgency, pki.issue("Văn phòng Bộ", 7));
  Directory directory;
  directory.add(AgencyEntry{kAgency, "Văn phòng Bộ Tài chính", "", true, "", {}, {}});
  SignedStatusPackager packager(directory, 7 * 3600, keys);

  auto bytes = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml");
  ASSERT_TRUE(bytes);
  auto answered = decode_edxml(*bytes);
  ASSERT_TRUE(answered) << answered.error().message;
  auto packet = packager.status_packet(kAgency, *answered, "01", kNow);
  ASSERT_TRUE(packet) << packet.error().message;

  VerifyPolicy policy;
  policy.at = kNow;
  const Verdict verdict = verify_package(*packet, pki.trust(), policy);
  EXPECT_TRUE(verdict.valid()) << verdict.reason;
  ASSERT_EQ(verdict.signatures.size(), 1u);

  auto status = decode_edxml(*packet);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->kind, PackageKind::status);
  EXPECT_EQ(status->status.status_code, "01");
  EXPECT_EQ(status->status.from.organ_id, kAgency);

  SignOptions options;
  options.role = SignatureRole::organisation;
  options.at = kNow;
  auto reference = sign_package(encode_edxml(*status), keys.at(kAgency), options);
  ASSERT_TRUE(reference);
  EXPECT_EQ(without_signature_value(*packet), without_signature_value(*reference));
  EXPECT_NE(packet->find("\n  <edXML:"), std::string::npos);  // indented as encode_edxml writes

  EXPECT_FALSE(packager.status_packet("000.00.02.B00", *answered, "01", kNow));  // no key
}

}  // namespace
}  // namespace lienthong
