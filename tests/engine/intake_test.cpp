#include "engine/intake.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "adapters/edxml/edxml_codec.hpp"
#include "signing/pki.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1795395600;
constexpr const char* kFrom = "000.00.11.H53";  // the sample's sender
constexpr const char* kTo = "000.00.01.A53";

std::string sample() {
  auto bytes = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml");
  EXPECT_TRUE(bytes);
  return *bytes;
}

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-intake-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = open_sqlite_store((dir_ / "node.db").string());
    CertSpec ca_spec;
    ca_spec.common_name = "Test CA";
    ca_spec.is_ca = true;
    ca_spec.not_before = kNow - 86400;
    ca_spec.not_after = kNow + 86400 * 365;
    ca_ = issue_certificate(ca_spec, ca_key_.get(), nullptr, ca_key_.get());
    trust_.add_anchor(share(ca_.get()));
    signer_ = issue("Signer", 10);
    organisation_ = issue("Organisation", 11);
    stranger_ = issue("Stranger from the same CA", 12);
    AgencyEntry from{kFrom, "Sở Tài chính tỉnh Tây Ninh", "", true, "", {}, {}};
    from.signer_fingerprints.insert(cert_fingerprint_sha256(signer_.cert.get()));
    from.organisation_fingerprints.insert(cert_fingerprint_sha256(organisation_.cert.get()));
    directory_.add(from);
    directory_.add(AgencyEntry{kTo, "Văn phòng Tỉnh ủy Tây Ninh", "", true, "", {}, {}});
    intake_ = std::make_unique<Intake>(*store_, codec_, trust_, directory_, clock_, IntakePolicy{});
  }
  void TearDown() override {
    intake_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  SigningKey issue(const char* cn, long serial) {
    SigningKey k;
    k.key = generate_key(KeyType::ec_p256);
    CertSpec spec;
    spec.common_name = cn;
    spec.not_before = kNow - 86400;
    spec.not_after = kNow + 86400 * 365;
    spec.serial = serial;
    k.cert = issue_certificate(spec, k.key.get(), ca_.get(), ca_key_.get());
    return k;
  }
  std::string signed_package(const std::string& xml, const SigningKey* signer = nullptr) {
    SignOptions s;
    s.at = kNow;
    auto one = sign_package(xml, signer ? *signer : signer_, s);
    EXPECT_TRUE(one) << one.error().message;
    s.role = SignatureRole::organisation;
    auto two = sign_package(*one, organisation_, s);
    EXPECT_TRUE(two) << two.error().message;
    return *two;
  }
  std::int64_t audit_count() {
    auto events = store_->audit_events(1, 100000);
    return events ? static_cast<std::int64_t>(events->size()) : -1;
  }
  Error refused(std::string bytes, Submitter who = {"clerk-stc", kFrom, "r"}) {
    const auto before = audit_count();
    auto r = intake_->submit_sync(std::move(bytes), who);
    EXPECT_FALSE(r) << "accepted";
    EXPECT_EQ(audit_count(), before);  // a refusal leaves nothing behind
    return r ? Error{} : r.error();
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  Pkey ca_key_ = generate_key(KeyType::ec_p256);
  Cert ca_;
  SigningKey signer_, organisation_, stranger_;
  TrustStore trust_;
  Directory directory_;
  EdxmlCodec codec_;
  ManualClock clock_{kNow};
  std::unique_ptr<Intake> intake_;
};

TEST_F(IntakeTest, AcceptsASignedPackageDurablyAndOnlyOnce) {
  const std::string pkg = signed_package(sample());
  auto first = intake_->submit_sync(pkg, {"clerk-stc", kFrom, "req-1"});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->duplicate);
  EXPECT_GT(first->document, 0);
  EXPECT_EQ(first->message_id, "document|000.00.11.H53|000.00.11.H53,2020/10/30,2491/STC-BCTC|0");
  auto stored = store_->document(first->document);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->original, pkg);  // the signed bytes exactly as received
  EXPECT_EQ((*stored)->recipients, std::vector<std::string>{kTo});
  auto events = store_->audit_events(1, 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].action, "document.received");
  EXPECT_EQ((*events)[0].request_id, "req-1");
  EXPECT_EQ((*events)[0].actor, "clerk-stc");

  auto again = intake_->submit_sync(pkg, {"clerk-stc", kFrom, "req-2"});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->document, first->document);
  EXPECT_EQ(audit_count(), 1);
}

// Delivery reads what was just accepted from the cache: the model without its attachments'
// content, and the original's size; never a refused package or a copy of one already held.
TEST_F(IntakeTest, AnAcceptedDocumentIsRememberedForDeliveryOnceDurable) {
  PackageCache cache(8, 4 << 20);
  intake_->set_package_cache(&cache);
  EXPECT_EQ(refused("<edXML/>").code, "intake.invalid_edxml");
  EXPECT_EQ(cache.size(), 0u);
  const std::string pkg = signed_package(sample());
  auto first = intake_->submit_sync(pkg, {"clerk-stc", kFrom, "r1"});
  ASSERT_TRUE(first) << first.error().message;
  auto entry = cache.find(first->document);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->original_size, pkg.size());
  ASSERT_TRUE(entry->original);
  EXPECT_EQ(*entry->original, pkg);
  EXPECT_EQ(entry->package->document.from.organ_id, kFrom);
  ASSERT_FALSE(entry->package->attachments.empty());
  for (const auto& a : entry->package->attachments) {
    EXPECT_TRUE(a.data.empty());
    EXPECT_FALSE(a.sha256_hex.empty());
  }
  // What the store holds decodes to the same model.
  auto stored = store_->document(first->document);
  ASSERT_TRUE(stored && *stored);
  auto decoded = codec_.decode((*stored)->original);
  ASSERT_TRUE(decoded);
  for (auto& a : decoded->attachments) a.data.clear();
  EXPECT_TRUE(*decoded == *entry->package);
  ASSERT_TRUE(intake_->submit_sync(pkg, {"clerk-stc", kFrom, "r2"}));
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(IntakeTest, RefusesEachKindOfBadInputWithItsCode) {
  IntakePolicy small;
  small.max_bytes = 100;
  Intake tiny(*store_, codec_, trust_, directory_, clock_, small);
  auto big = tiny.submit_sync(std::string(101, 'x'), {});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, "intake.too_large");

  EXPECT_EQ(refused("<edXML><unclosed></edXML>").code, "intake.malformed");
  EXPECT_EQ(refused("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>").code,
            "intake.malformed");
  EXPECT_EQ(refused("<notedxml/>").code, "intake.invalid_edxml");
  EXPECT_EQ(refused(sample()).code, "signature.no_signature");

  std::string tampered = signed_package(sample());
  tampered.replace(tampered.find("Báo cáo tài chính tỉnh"), 3, "Bao");
  EXPECT_EQ(refused(tampered).code, "signature.digest_mismatch");

  std::string other_sender = sample();
  other_sender.replace(other_sender.find(kFrom), 13, "000.00.99.H53");
  EXPECT_EQ(refused(signed_package(other_sender)).code, "intake.unknown_sender");

  std::string unknown_to = sample();
  unknown_to.replace(unknown_to.find(kTo), 13, "000.00.99.A53");
  EXPECT_EQ(refused(signed_package(unknown_to)).code, "intake.unknown_recipient");

  Error not_yours = refused(signed_package(sample()), {"clerk-vptu", kTo, "r"});
  EXPECT_EQ(not_yours.code, "intake.not_your_agency");
  EXPECT_THAT(not_yours.message, HasSubstr("cannot send in the name of 000.00.11.H53"));

  Error stranger = refused(signed_package(sample(), &stranger_));
  EXPECT_EQ(stranger.code, "intake.signer_not_allowed");
  EXPECT_THAT(stranger.message, HasSubstr("Stranger from the same CA"));
}

TEST_F(IntakeTest, TheNodeAddsTheOrganisationSignatureForItsOwnClerksOnly) {
  const std::string xml = sample();
  SignOptions s;
  s.at = kNow;
  auto signer_only = sign_package(xml, signer_, s);
  ASSERT_TRUE(signer_only);
  // Without the organisation's key here, nobody can complete it.
  EXPECT_EQ(refused(*signer_only).code, "intake.organisation_unsigned");

  std::map<std::string, SigningKey> keys;
  keys.emplace(kFrom, std::move(organisation_));
  intake_->set_organisation_keys(&keys);
  auto r = intake_->submit_sync(*signer_only, {"clerk-stc", kFrom, "r"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->verdict.signatures.size(), 2u);
  EXPECT_EQ(r->verdict.signatures[1].role, SignatureRole::organisation);
  // What is stored (and delivered) carries both signatures.
  auto stored = store_->document(r->document);
  ASSERT_TRUE(stored && *stored);
  Verdict v = verify_package((*stored)->original, trust_, VerifyPolicy{.at = kNow});
  EXPECT_TRUE(v.valid()) << v.reason;
  EXPECT_EQ(v.signatures.size(), 2u);

  // Only the organisation's signature is not a document's either.
  s.role = SignatureRole::organisation;
  auto organisation_only = sign_package(xml, keys.at(kFrom), s);
  ASSERT_TRUE(organisation_only);
  EXPECT_EQ(refused(*organisation_only).code, "intake.organisation_unsigned");
}

// A document may be updated twice: the second update is not a copy of the first, while the same
// update sent again (even signed again) is.
TEST_F(IntakeTest, EachUpdateOfADocumentIsItsOwnButARetransmissionIsACopy) {
  auto base = decode_edxml(sample());
  ASSERT_TRUE(base);
  Package update = *base;
  update.extra_header.clear();
  if (!update.trace_header_list) update.trace_header_list = TraceHeaderList{};
  update.trace_header_list->business = Business{};
  update.trace_header_list->business->document_id = update.document.document_id;
  update.trace_header_list->business->doc_type = 2;
  update.document.subject = "Báo cáo, sửa lần một";
  const std::string first = signed_package(encode_edxml(update));
  update.document.subject = "Báo cáo, sửa lần hai";
  const std::string second = signed_package(encode_edxml(update));
  clock_.advance(5);
  const std::string second_again = signed_package(encode_edxml(update));
  ASSERT_NE(second, second_again);

  auto a = intake_->submit_sync(first, {"clerk-stc", kFrom, "r1"});
  auto b = intake_->submit_sync(second, {"clerk-stc", kFrom, "r2"});
  auto c = intake_->submit_sync(second_again, {"clerk-stc", kFrom, "r3"});
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(a->duplicate);
  EXPECT_FALSE(b->duplicate);
  EXPECT_NE(a->document, b->document);
  EXPECT_NE(a->message_id, b->message_id);
  EXPECT_THAT(a->message_id, HasSubstr("|000.00.11.H53,2020/10/30,2491/STC-BCTC|2|"));
  EXPECT_TRUE(c->duplicate);
  EXPECT_EQ(c->document, b->document);
}

TEST_F(IntakeTest, StatusPacketsAreKeyedByWhatTheyAnswer) {
  auto status = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/status_processing_05.edxml");
  ASSERT_TRUE(status);
  auto pkg = decode_edxml(*status);
  ASSERT_TRUE(pkg);
  EXPECT_EQ(message_id_of(*pkg),
            "status|000.00.00.H41|000.00.00.G22,2015/09/30,7816/VPCP-TTĐT|05|2015-09-20T11:08:36");
}

}  // namespace
}  // namespace lienthong
