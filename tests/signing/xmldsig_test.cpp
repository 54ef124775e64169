#include "signing/xmldsig.hpp"

#include <gtest/gtest.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>

#include <functional>
#include <string>

#include "base/encoding.hpp"
#include "test_pki.hpp"

namespace lienthong {
namespace {

using testing::kDay;
using testing::kNow;
using testing::TestPki;

std::string sample(const char* name) {
  auto bytes = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/" + name);
  EXPECT_TRUE(bytes) << name;
  return bytes ? *bytes : std::string();
}

void replace_once(std::string& s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  ASSERT_NE(pos, std::string::npos) << "missing: " << from;
  s.replace(pos, from.size(), to);
}

class XmlDsig : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    signer_ = pki_->issue("Trần Thị Bình (Giám đốc)", 100);
    organisation_ = pki_->issue("Sở Tài chính tỉnh Tây Ninh", 101);
    trust_ = pki_->trust();
    package_ = sample("status_processing_05.edxml");
  }

  std::string sign(const std::string& xml, const SigningKey& key,
                   SignatureRole role = SignatureRole::signer, bool sha1 = false) {
    SignOptions o;
    o.role = role;
    o.at = kNow - 3600;
    o.legacy_sha1 = sha1;
    auto signed_xml = sign_package(xml, key, o);
    EXPECT_TRUE(signed_xml) << signed_xml.error().message;
    return signed_xml ? *signed_xml : std::string();
  }
  std::string sign_both(const std::string& xml) {
    return sign(sign(xml, signer_), organisation_, SignatureRole::organisation);
  }
  Verdict verify(const std::string& xml, VerifyPolicy policy = {}) {
    if (!policy.at) policy.at = kNow;
    return verify_package(xml, trust_, policy);
  }

  static TestPki* pki_;
  SigningKey signer_;
  SigningKey organisation_;
  TrustStore trust_;
  std::string package_;
};
TestPki* XmlDsig::pki_ = nullptr;

// An xmlsec context with no allow-lists, holding `key`.
xmlSecDSigCtxPtr plain_xmlsec_context(const SigningKey& key) {
  xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(nullptr);
  EVP_PKEY_up_ref(key.key.get());
  ctx->signKey = xmlSecKeyCreate();
  xmlSecKeySetValue(ctx->signKey, xmlSecOpenSSLEvpKeyAdopt(key.key.get()));
  return ctx;
}

// Signs the way an attacker's tool would, with any transforms and URI, so that the signature is
// mathematically valid and only the verifier's policy can refuse it.
std::string forge(const std::string& xml, const SigningKey& key,
                  const std::function<void(xmlNode*)>& add_transforms, const char* uri = "") {
  xmldsig_init();
  auto doc = parse_xml(xml);
  EXPECT_TRUE(doc);
  xmlNode* root = xmlDocGetRootElement(doc->get());
  xmlNode* header = xml_first_element(xml_first_element(root));
  const bool ec = EVP_PKEY_get_base_id(key.key.get()) == EVP_PKEY_EC;
  xmlNode* sig = xmlSecTmplSignatureCreate(
      doc->get(), xmlSecTransformExclC14NId,
      ec ? xmlSecTransformEcdsaSha256Id : xmlSecTransformRsaSha256Id, nullptr);
  xmlAddChild(header, sig);
  xmlNode* ref =
      xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, nullptr, to_xml(uri), nullptr);
  add_transforms(ref);
  xmlNode* key_info = xmlSecTmplSignatureEnsureKeyInfo(sig, nullptr);
  xmlNode* x509 = xmlNewChild(key_info, sig->ns, to_xml("X509Data"), nullptr);
  xmlNewChild(x509, sig->ns, to_xml("X509Certificate"),
              to_xml(base64_encode(to_der(key.cert.get())).c_str()));
  xmlSecDSigCtxPtr ctx = plain_xmlsec_context(key);
  EXPECT_EQ(xmlSecDSigCtxSign(ctx, sig), 0);
  xmlSecDSigCtxDestroy(ctx);
  return serialize_xml(doc->get(), false);
}

// Plain xmlsec with no allow-lists, as a naive verifier would run it: proves that a hostile test
// package really carries a mathematically valid signature, so only our policy refuses it.
bool naive_xmlsec_accepts(const std::string& xml, const SigningKey& key) {
  auto doc = parse_xml(xml);
  if (!doc) return false;
  xmlNode* header = xml_first_element(xml_first_element(xmlDocGetRootElement(doc->get())));
  xmlNode* sig = nullptr;
  for (xmlNode* c = xml_first_element(header); c; c = xml_next_element(c)) {
    if (xml_local_name(c) == "Signature" && xml_ns_uri(c) == kDsigNs) sig = c;
  }
  if (!sig) return false;
  xmlSecDSigCtxPtr ctx = plain_xmlsec_context(key);
  bool ok = xmlSecDSigCtxVerify(ctx, sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded;
  xmlSecDSigCtxDestroy(ctx);
  return ok;
}

TEST_F(XmlDsig, SignerSignatureVerifiesWithWhoAndWhen) {
  auto v = verify(sign(package_, signer_));
  ASSERT_TRUE(v.valid()) << v.reason;
  ASSERT_EQ(v.signatures.size(), 1u);
  const auto& s = v.signatures[0];
  EXPECT_EQ(s.role, SignatureRole::signer);
  EXPECT_EQ(s.common_name, "Trần Thị Bình (Giám đốc)");
  EXPECT_NE(s.subject.find("OU=000.00.11.H53"), std::string::npos) << s.subject;
  EXPECT_NE(s.issuer.find("CN=Test CA"), std::string::npos);
  ASSERT_TRUE(s.signing_time);
  EXPECT_EQ(*s.signing_time, kNow - 3600);
  EXPECT_EQ(s.signature_algorithm, "ECDSA-SHA256");
  EXPECT_EQ(s.digest_algorithm, "SHA-256");
  EXPECT_FALSE(v.weak);
}

TEST_F(XmlDsig, SignerThenOrganisationBothVerifyIndependently) {
  auto both = sign_both(package_);
  auto v = verify(both);
  ASSERT_TRUE(v.valid()) << v.reason;
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_EQ(v.signatures[0].role, SignatureRole::signer);
  EXPECT_EQ(v.signatures[1].role, SignatureRole::organisation);
  EXPECT_EQ(v.signatures[1].common_name, "Sở Tài chính tỉnh Tây Ninh");
}

// Our own signer computes the digests and the value: a plain XML-DSig implementation must agree,
// for every key type and digest we sign with, for the first signature and the second.
TEST_F(XmlDsig, PlainXmlsecAcceptsWhatWeSign) {
  SigningKey rsa_signer = pki_->issue("RSA signer", 110, KeyType::rsa_2048);
  SigningKey rsa_organisation = pki_->issue("RSA organisation", 111, KeyType::rsa_2048);
  struct Case {
    const char* name;
    const SigningKey* signer;
    const SigningKey* organisation;
    bool sha1;
  };
  for (const Case& c : {Case{"ECDSA-SHA256", &signer_, &organisation_, false},
                        Case{"ECDSA-SHA1", &signer_, &organisation_, true},
                        Case{"RSA-SHA256", &rsa_signer, &rsa_organisation, false},
                        Case{"RSA-SHA1", &rsa_signer, &rsa_organisation, true}}) {
    SCOPED_TRACE(c.name);
    const std::string one = sign(package_, *c.signer, SignatureRole::signer, c.sha1);
    EXPECT_TRUE(naive_xmlsec_accepts(one, *c.signer));
    const std::string both = sign(one, *c.organisation, SignatureRole::organisation, c.sha1);
    EXPECT_TRUE(naive_xmlsec_accepts(both, *c.organisation));
    VerifyPolicy policy;
    policy.allow_sha1 = true;
    auto v = verify(both, policy);
    ASSERT_EQ(v.signatures.size(), 2u);
    EXPECT_EQ(v.signatures[0].signature_algorithm, c.name);
    EXPECT_EQ(v.signatures[0].code, VerdictCode::valid) << v.signatures[0].reason;
    EXPECT_EQ(v.signatures[1].code, VerdictCode::valid) << v.signatures[1].reason;
    // And a plain implementation refuses it once the content changes.
    std::string altered = both;
    replace_once(altered, "Đang xử lý văn bản đến", "Đã hoàn thành");
    EXPECT_FALSE(naive_xmlsec_accepts(altered, *c.organisation));
  }
}

TEST_F(XmlDsig, SigningKeepsTheSendersBytes) {
  auto signed_xml = sign(package_, signer_);
  const auto end = package_.find("</edXML:edXMLHeader>");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(signed_xml.substr(0, end), package_.substr(0, end));
  EXPECT_EQ(signed_xml.substr(signed_xml.size() - (package_.size() - end)), package_.substr(end));
  EXPECT_TRUE(verify(signed_xml).valid());
}

// A large package is parsed from its spool and signed into a new one: the same bytes as signing it
// in memory, and both signatures verify over a 12 MB attachment.
TEST_F(XmlDsig, SpooledPackagesAreSignedIntoANewSpool) {
  std::string big = sample("edoc_new.edxml");
  const auto open = big.find("UEsDBBQACAgIAEuSPE0");
  ASSERT_NE(open, std::string::npos);
  const auto close = big.find('<', open);
  big.replace(open, close - open, base64_encode(std::string(9'000'000, '\x5a')));
  const XmlLimits limits{.max_bytes = 32 << 20};
  auto once = [&](const std::string& xml, const SigningKey& key, SignatureRole role) {
    auto spool = Spool::create();
    EXPECT_TRUE(spool && (*spool)->append(xml));
    auto doc = parse_xml(**spool, limits);
    EXPECT_TRUE(doc) << doc.error().message;
    SignOptions o;
    o.role = role;
    o.at = kNow - 3600;
    o.limits = limits;
    EXPECT_TRUE(sign_package_doc(doc->get(), key, o));
    auto out = signed_bytes(doc->get(), **spool);
    EXPECT_TRUE(out) << out.error().message;
    auto bytes = (*out)->read_all();
    EXPECT_TRUE(bytes);
    return *bytes;
  };
  const std::string signer_only = once(big, signer_, SignatureRole::signer);
  EXPECT_EQ(signer_only.substr(0, 1000), big.substr(0, 1000));
  EXPECT_TRUE(signer_only.substr(signer_only.size() - 1000) == big.substr(big.size() - 1000));
  const std::string both = once(signer_only, organisation_, SignatureRole::organisation);
  VerifyPolicy policy;
  policy.limits = limits;
  auto v = verify(both, policy);
  ASSERT_TRUE(v.valid()) << v.reason;
  EXPECT_EQ(v.signatures.size(), 2u);
}

TEST_F(XmlDsig, SigningFindsTheHeaderAmongSameNamedElements) {
  // An unknown element named like the header, before and inside it, must not fool the splice.
  std::string tricky = package_;
  replace_once(tricky, "<edXML:MessageHeader>",
               "<edXML:MessageHeader><edXML:edXMLHeader>x</edXML:edXMLHeader >");
  replace_once(tricky, "</edXML:edXMLHeader>",
               "<edXML:edXMLHeader/><edXML:edXMLHeader></edXML:edXMLHeader\n></edXML:edXMLHeader>");
  auto v = verify(sign_both(tricky));
  EXPECT_TRUE(v.valid()) << v.reason;
}

TEST_F(XmlDsig, SigningDocumentsWithCdataFallsBackToSerialising) {
  std::string cdata = package_;
  replace_once(cdata, "<edXML:Description>Đang xử lý văn bản đến",
               "<edXML:Description><![CDATA[</edXML:edXMLHeader>]]>Đang xử lý văn bản đến");
  auto v = verify(sign_both(cdata));
  EXPECT_TRUE(v.valid()) << v.reason;
}

TEST_F(XmlDsig, RsaKeysSignWithSha256) {
  SigningKey rsa = pki_->issue("RSA signer", 102, KeyType::rsa_2048);
  auto v = verify(sign(package_, rsa));
  ASSERT_TRUE(v.valid()) << v.reason;
  EXPECT_EQ(v.signatures[0].signature_algorithm, "RSA-SHA256");
}

TEST_F(XmlDsig, SigningOrderIsEnforced) {
  auto once = sign(package_, signer_);
  SignOptions again;
  auto twice = sign_package(once, signer_, again);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, "sign.order");
  auto both = sign_both(package_);
  SignOptions org;
  org.role = SignatureRole::organisation;
  EXPECT_EQ(sign_package(both, organisation_, org).error().code, "sign.order");
  EXPECT_EQ(sign_package("<not-edxml/>", signer_).error().code, "edxml.missing_element");
}

// Re-signs the package's last signature with xmlsec after `edit` has changed its algorithms, so
// that the verifier meets canonicalizations our signer never writes.
std::string resign(const std::string& xml, const SigningKey& key,
                   const std::function<void(xmlNode* signed_info)>& edit) {
  xmldsig_init();
  auto doc = parse_xml(xml);
  EXPECT_TRUE(doc);
  xmlNode* header = xml_first_element(xml_first_element(xmlDocGetRootElement(doc->get())));
  xmlNode* sig = nullptr;
  for (xmlNode* c = xml_first_element(header); c; c = xml_next_element(c)) {
    if (xml_local_name(c) == "Signature" && xml_ns_uri(c) == kDsigNs) sig = c;
  }
  EXPECT_NE(sig, nullptr);
  edit(xml_first_element(sig));
  xmlNode* props = xml_first_element(xml_next_element(
      xml_next_element(xml_next_element(xml_first_element(sig)))));  // Object/SignatureProperties
  xmlAttr* id = xmlHasProp(props, to_xml("Id"));
  EXPECT_NE(id, nullptr);
  xmlAddID(nullptr, doc->get(), id->children->content, id);
  xmlSecDSigCtxPtr ctx = plain_xmlsec_context(key);
  EXPECT_EQ(xmlSecDSigCtxSign(ctx, sig), 0);
  xmlSecDSigCtxDestroy(ctx);
  return serialize_xml(doc->get(), false);
}

void set_algorithm(xmlNode* n, std::string_view uri) {
  xmlSetProp(n, to_xml("Algorithm"), to_xml(std::string(uri).c_str()));
}

TEST_F(XmlDsig, EveryAllowedCanonicalizationVerifiesAsXmlsecDoes) {
  const std::string c14n10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
  const std::string c14n11 = "http://www.w3.org/2006/12/xml-c14n11";
  const std::string exc = "http://www.w3.org/2001/10/xml-exc-c14n#";
  // The envelope declares xmlns:edXML above the signature, which inclusive canonicalization
  // carries into SignedInfo and SignatureProperties and exclusive canonicalization leaves out
  // unless the prefix list names it.
  struct Variant {
    const char* name;
    std::function<void(xmlNode*)> edit;
  };
  auto references = [](xmlNode* signed_info) {
    xmlNode* doc_ref = xml_next_element(xml_next_element(xml_first_element(signed_info)));
    return std::pair{doc_ref, xml_next_element(doc_ref)};
  };
  const Variant variants[] = {
      {"inclusive 1.0, the document's node-set left to the default, properties untransformed",
       [&](xmlNode* si) {
         set_algorithm(xml_first_element(si), c14n10);
         auto [doc_ref, props_ref] = references(si);
         xmlNode* second = xml_next_element(xml_first_element(xml_first_element(doc_ref)));
         xmlUnlinkNode(second);
         xmlFreeNode(second);
         xmlNode* transforms = xml_first_element(props_ref);
         xmlUnlinkNode(transforms);
         xmlFreeNode(transforms);
       }},
      {"C14N 1.1 everywhere",
       [&](xmlNode* si) {
         set_algorithm(xml_first_element(si), c14n11);
         auto [doc_ref, props_ref] = references(si);
         set_algorithm(xml_next_element(xml_first_element(xml_first_element(doc_ref))), c14n11);
         set_algorithm(xml_first_element(xml_first_element(props_ref)), c14n11);
       }},
      {"exclusive with an InclusiveNamespaces prefix list",
       [&](xmlNode* si) {
         auto [doc_ref, props_ref] = references(si);
         for (xmlNode* t : {xml_next_element(xml_first_element(xml_first_element(doc_ref))),
                            xml_first_element(xml_first_element(props_ref))}) {
           set_algorithm(t, exc);
           xmlNode* inc = xmlNewChild(t, nullptr, to_xml("InclusiveNamespaces"), nullptr);
           xmlSetNs(inc, xmlNewNs(inc, to_xml(exc.c_str()), to_xml("ec")));
           xmlSetProp(inc, to_xml("PrefixList"), to_xml("edXML unused #default"));
         }
       }},
  };
  // A namespace no element uses: exclusive canonicalization writes it only when the prefix list
  // names it, so the document's canonical form depends on the list.
  std::string package = package_;
  replace_once(package, "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">",
               "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\" xmlns:unused=\"urn:x\">");
  for (const auto& variant : variants) {
    SCOPED_TRACE(variant.name);
    auto one = resign(sign(package, signer_), signer_, variant.edit);
    EXPECT_TRUE(naive_xmlsec_accepts(one, signer_));
    auto v = verify(one);
    EXPECT_TRUE(v.valid()) << v.reason;
    auto both = sign(one, organisation_, SignatureRole::organisation);
    v = verify(both);
    EXPECT_TRUE(v.valid()) << v.reason;
    // Both signatures under the same canonicalization: the second reuses the first's canonical
    // document, less nothing; the first's is that document less its own signature.
    auto same = resign(both, organisation_, variant.edit);
    EXPECT_TRUE(naive_xmlsec_accepts(same, organisation_));
    v = verify(same);
    EXPECT_TRUE(v.valid()) << v.reason;
    auto altered_both = same;
    replace_once(altered_both, "Đang xử lý văn bản đến", "Đã hoàn thành");
    v = verify(altered_both);
    ASSERT_EQ(v.signatures.size(), 2u);
    EXPECT_EQ(v.signatures[0].code, VerdictCode::digest_mismatch);
    EXPECT_EQ(v.signatures[1].code, VerdictCode::digest_mismatch);

    auto altered = one;
    replace_once(altered, "Đang xử lý văn bản đến", "Đã hoàn thành");
    EXPECT_FALSE(naive_xmlsec_accepts(altered, signer_));
    EXPECT_EQ(verify(altered).code, VerdictCode::digest_mismatch);
    altered = one;
    replace_once(altered, format_utc(kNow - 3600), format_utc(kNow - 7200));
    EXPECT_FALSE(naive_xmlsec_accepts(altered, signer_));
    EXPECT_EQ(verify(altered).code, VerdictCode::digest_mismatch);
  }
}

TEST_F(XmlDsig, EcdsaValueOfTheWrongLengthIsABadValue) {
  auto signed_xml = sign(package_, signer_);
  auto b = signed_xml.find("<SignatureValue>") + 16;
  auto e = signed_xml.find("</SignatureValue>", b);
  auto value = base64_decode(signed_xml.substr(b, e - b));
  ASSERT_TRUE(value);
  signed_xml.replace(b, e - b, base64_encode(value->substr(1)));
  auto v = verify(signed_xml);
  EXPECT_EQ(v.code, VerdictCode::bad_signature_value) << v.reason;
  EXPECT_NE(v.reason.find("length"), std::string::npos) << v.reason;
}

TEST_F(XmlDsig, AlteredContentBreaksBothSignatures) {
  auto both = sign_both(package_);
  replace_once(both, "Đang xử lý văn bản đến", "Đã hoàn thành");
  auto v = verify(both);
  EXPECT_EQ(v.code, VerdictCode::digest_mismatch) << v.reason;
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_EQ(v.signatures[0].code, VerdictCode::digest_mismatch);
  EXPECT_EQ(v.signatures[1].code, VerdictCode::digest_mismatch);
}

// Edits that change the canonical form and edits that do not (the signatures use exclusive c14n),
// each judged by our verifier exactly as by plain xmlsec, which canonicalizes with libxml2.
TEST_F(XmlDsig, EditsAreJudgedAsXmlsecJudgesThem) {
  const std::string signed_xml = sign(package_, signer_);
  ASSERT_TRUE(verify(signed_xml).valid());
  struct Edit {
    std::string from, to;
    bool still_valid;
  };
  const std::string ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
  const std::vector<Edit> edits = {
      {"<edXML:StatusCode>05</edXML:StatusCode>", "<edXML:StatusCode >05</edXML:StatusCode >",
       true},
      {"<edXML:From>", "<edXML:From xmlns:u=\"urn:unused\">", true},
      {"<edXML:From>", "<edXML:From xmlns=\"" + ns + "\">", true},
      {"nghean@gov.vn<", "nghean&#64;gov.vn<", true},
      {"nghean@gov.vn<", "nghean@gov.vn<![CDATA[]]><", true},
      {"0383 843049", "0383<![CDATA[ ]]>843049", true},
      {"<edXML:StatusCode>05</edXML:StatusCode>",
       "<x:StatusCode xmlns:x=\"" + ns + "\">05</x:StatusCode>", false},
      {"<edXML:StatusCode>", "<edXML:StatusCode a=\"1\">", false},
      {"Phong hanh chinh<", "Phong hanh chinh <", false},
      {"0383 840418<", "0383 840418&#13;<", false},
      {"<edXML:From>", "<edXML:From xmlns:edXML=\"urn:other\">", false},
  };
  for (const Edit& e : edits) {
    std::string edited = signed_xml;
    replace_once(edited, e.from, e.to);
    const bool ours = verify(edited).valid();
    EXPECT_EQ(ours, naive_xmlsec_accepts(edited, signer_)) << e.to;
    EXPECT_EQ(ours, e.still_valid) << e.to;
  }
}

TEST_F(XmlDsig, AlteredFirstSignatureBreaksTheSecond) {
  auto both = sign_both(package_);
  // Replace the signer's signature with another valid signature by the same signer, made later:
  // the first still verifies on its own, the organisation's no longer does.
  auto other_first = sign(package_ + "", signer_, SignatureRole::signer);
  auto value_of = [](const std::string& xml) {
    auto b = xml.find("<SignatureValue>");
    auto e = xml.find("</SignatureValue>", b);
    return xml.substr(b, e - b);
  };
  std::string first_value = value_of(both);
  std::string changed = value_of(other_first);
  if (changed == first_value) {  // ECDSA is randomised, but be sure the test changes something
    changed[changed.size() - 2] = changed[changed.size() - 2] == 'A' ? 'B' : 'A';
  }
  replace_once(both, first_value, changed);
  auto v = verify(both);
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_EQ(v.signatures[0].code, VerdictCode::valid) << v.signatures[0].reason;
  EXPECT_EQ(v.signatures[1].code, VerdictCode::digest_mismatch) << v.signatures[1].reason;
  EXPECT_FALSE(v.valid());
}

TEST_F(XmlDsig, BadSignatureValueIsNamed) {
  auto signed_xml = sign(package_, signer_);
  auto b = signed_xml.find("<SignatureValue>") + 16;
  signed_xml[b + 5] = signed_xml[b + 5] == 'A' ? 'B' : 'A';
  auto v = verify(signed_xml);
  EXPECT_EQ(v.code, VerdictCode::bad_signature_value) << v.reason;
}

// Once a key is seen often it verifies through its own precomputed table (signing/ecdsa_p256):
// the same packages must keep the same verdicts, good and bad.
TEST_F(XmlDsig, AKeySeenOftenKeepsItsVerdicts) {
  const std::string good = sign(package_, signer_);
  std::string bad = good;
  const auto b = bad.find("<SignatureValue>") + 16;
  bad[b + 5] = bad[b + 5] == 'A' ? 'B' : 'A';
  auto verifier = trust_.parsed_certificate(to_der(signer_.cert.get()))->p256;
  ASSERT_NE(verifier, nullptr);
  for (int i = 0; i < P256Verifier::kWarmUses; ++i) ASSERT_TRUE(verify(good).valid());
  verifier->wait_for_table();
  ASSERT_TRUE(verifier->has_table());
  EXPECT_TRUE(verify(good).valid());
  EXPECT_TRUE(verify(sign(package_, signer_)).valid());
  EXPECT_EQ(verify(bad).code, VerdictCode::bad_signature_value);
  std::string altered = good;
  replace_once(altered, "Đang xử lý văn bản đến", "Đã hoàn thành");
  EXPECT_EQ(verify(altered).code, VerdictCode::digest_mismatch);
}

TEST_F(XmlDsig, AlteredSigningTimeIsCaught) {
  auto signed_xml = sign(package_, signer_);
  replace_once(signed_xml, format_utc(kNow - 3600), format_utc(kNow - 7200));
  auto v = verify(signed_xml);
  EXPECT_EQ(v.code, VerdictCode::digest_mismatch) << v.reason;
  EXPECT_NE(v.reason.find("properties"), std::string::npos);
}

TEST_F(XmlDsig, NoSignature) {
  auto v = verify(package_);
  EXPECT_EQ(v.code, VerdictCode::no_signature);
}

TEST_F(XmlDsig, SampleWithLegacySignatureElement) {
  // The production sample carries a <Signature> in the edXML namespace (not XML-DSig) with a
  // truncated certificate: it is not a signature, and the verdict says so.
  std::string edoc = sample("edoc_new.edxml");
  auto unsigned_verdict = verify(edoc);
  EXPECT_EQ(unsigned_verdict.code, VerdictCode::no_signature);
  EXPECT_NE(unsigned_verdict.reason.find("outside the XML-DSig namespace"), std::string::npos)
      << unsigned_verdict.reason;
  auto v = verify(sign_both(edoc));
  ASSERT_TRUE(v.valid()) << v.reason;
  EXPECT_EQ(v.notes.size(), 1u);
}

// ---- certificates -------------------------------------------------------------------------

TEST_F(XmlDsig, UntrustedCertificate) {
  SigningKey stranger = pki_->issue("Stranger", 200, KeyType::ec_p256, kNow - kDay, kNow + kDay,
                                    /*trusted=*/false);
  auto v = verify(sign(package_, stranger));
  EXPECT_EQ(v.code, VerdictCode::certificate_untrusted) << v.reason;
  EXPECT_EQ(v.signatures[0].common_name, "Stranger");
  TrustStore empty;
  EXPECT_EQ(verify_package(sign(package_, signer_), empty, {}).code,
            VerdictCode::certificate_untrusted);
}

TEST_F(XmlDsig, ExpiredAndNotYetValidCertificates) {
  SigningKey expired =
      pki_->issue("Expired", 201, KeyType::ec_p256, kNow - 400 * kDay, kNow - kDay);
  EXPECT_EQ(verify(sign(package_, expired)).code, VerdictCode::certificate_expired);
  SigningKey future = pki_->issue("Future", 202, KeyType::ec_p256, kNow + kDay, kNow + 400 * kDay);
  EXPECT_EQ(verify(sign(package_, future)).code, VerdictCode::certificate_not_yet_valid);
  // The same certificate is fine at a time when it was valid (the clock is injected).
  VerifyPolicy then;
  then.at = kNow - 2 * kDay;
  EXPECT_TRUE(verify(sign(package_, expired), then).valid());
}

TEST_F(XmlDsig, RevokedCertificateByCrl) {
  SigningKey revoked = pki_->issue("Revoked", 203);
  auto signed_xml = sign(package_, revoked);
  trust_.add_crl(issue_crl(pki_->ca.get(), pki_->ca_key.get(), {{203, kNow - kDay}}, kNow - kDay,
                           kNow + 7 * kDay));
  auto v = verify(signed_xml);
  EXPECT_EQ(v.code, VerdictCode::certificate_revoked) << v.reason;
  EXPECT_TRUE(verify(sign(package_, signer_)).valid());  // not on the list
}

TEST_F(XmlDsig, ExpiredCrlMeansRevocationUnknown) {
  trust_.add_crl(issue_crl(pki_->ca.get(), pki_->ca_key.get(), {}, kNow - 30 * kDay, kNow - kDay));
  EXPECT_EQ(verify(sign(package_, signer_)).code, VerdictCode::revocation_unknown);
}

TEST_F(XmlDsig, KeyUsageMustAllowSigning) {
  SigningKey encipher = pki_->issue("Encipher only", 204, KeyType::ec_p256, kNow - kDay,
                                    kNow + kDay, true, /*signing_usage=*/false);
  EXPECT_EQ(verify(sign(package_, encipher)).code, VerdictCode::key_usage_not_signing);
  SigningKey no_ext = pki_->issue("No key usage", 205, KeyType::ec_p256, kNow - kDay, kNow + kDay,
                                  true, true, /*usage_ext=*/false);
  EXPECT_EQ(verify(sign(package_, no_ext)).code, VerdictCode::key_usage_not_signing);
}

// ---- algorithms ---------------------------------------------------------------------------

TEST_F(XmlDsig, Sha1RefusedUnlessPolicyAllowsThenWeak) {
  SigningKey rsa = pki_->issue("Legacy RSA", 206, KeyType::rsa_2048);
  auto legacy = sign(package_, rsa, SignatureRole::signer, /*sha1=*/true);
  auto refused = verify(legacy);
  EXPECT_EQ(refused.code, VerdictCode::algorithm_not_allowed) << refused.reason;
  EXPECT_NE(refused.reason.find("SHA-1"), std::string::npos);
  VerifyPolicy allow;
  allow.allow_sha1 = true;
  auto accepted = verify(legacy, allow);
  ASSERT_TRUE(accepted.valid()) << accepted.reason;
  EXPECT_TRUE(accepted.weak);
  EXPECT_TRUE(accepted.signatures[0].weak);
  EXPECT_EQ(accepted.signatures[0].signature_algorithm, "RSA-SHA1");
}

TEST_F(XmlDsig, HmacAndUnknownAlgorithmsRefused) {
  auto signed_xml = sign(package_, signer_);
  replace_once(signed_xml, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
               "http://www.w3.org/2000/09/xmldsig#hmac-sha1");
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::algorithm_not_allowed);
}

TEST_F(XmlDsig, WeakRsaKeyRefused) {
  SigningKey weak;
  weak.key = generate_key(KeyType::rsa_1024);
  CertSpec spec;
  spec.common_name = "Weak";
  spec.not_before = kNow - kDay;
  spec.not_after = kNow + kDay;
  spec.serial = 207;
  weak.cert = issue_certificate(spec, weak.key.get(), pki_->ca.get(), pki_->ca_key.get());
  auto forged = forge(package_, weak, [](xmlNode* ref) {
    xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
  });
  ASSERT_TRUE(naive_xmlsec_accepts(forged, weak));  // the 1024-bit key is refused by policy
  EXPECT_EQ(verify(forged).code, VerdictCode::algorithm_not_allowed);
}

// ---- hostile packages ---------------------------------------------------------------------

TEST_F(XmlDsig, XxeIsRefusedBeforeAnythingElse) {
  std::string xxe = sign(package_, signer_);
  replace_once(xxe, "<edXML ",
               "<!DOCTYPE edXML [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<edXML ");
  auto v = verify(xxe);
  EXPECT_EQ(v.code, VerdictCode::xml_rejected);
  EXPECT_NE(v.reason.find("DOCTYPE"), std::string::npos);
}

TEST_F(XmlDsig, BillionLaughsIsRefused) {
  std::string lol = "<?xml version=\"1.0\"?><!DOCTYPE edXML [<!ENTITY a \"aaaaaaaaaa\">";
  std::string prev = "a";
  for (int i = 0; i < 9; ++i) {
    std::string name = prev + "a";
    lol += "<!ENTITY " + name + " \"" + std::string();
    for (int k = 0; k < 10; ++k) lol += "&" + prev + ";";
    lol += "\">";
    prev = name;
  }
  lol += "]><edXML>&" + prev + ";</edXML>";
  auto v = verify(lol);
  EXPECT_EQ(v.code, VerdictCode::xml_rejected) << v.reason;
}

TEST_F(XmlDsig, DeepNestingIsRefused) {
  std::string deep = "<edXML>";
  for (int i = 0; i < 100'000; ++i) deep += "<a>";
  for (int i = 0; i < 100'000; ++i) deep += "</a>";
  deep += "</edXML>";
  EXPECT_EQ(verify(deep).code, VerdictCode::xml_rejected);
}

TEST_F(XmlDsig, ExternalReferenceIsRefused) {
  for (const char* uri : {"file:///dev/zero", "http://example.invalid/doc.xml", "#xpointer(/)"}) {
    auto signed_xml = sign(package_, signer_);
    replace_once(signed_xml, "<Reference URI=\"\">",
                 std::string("<Reference URI=\"") + uri + "\">");
    auto v = verify(signed_xml);
    EXPECT_EQ(v.code, VerdictCode::unexpected_reference) << uri << ": " << v.reason;
  }
}

TEST_F(XmlDsig, RetrievalMethodIsRefused) {
  auto signed_xml = sign(package_, signer_);
  replace_once(signed_xml, "<X509Data>",
               "<RetrievalMethod URI=\"http://example.invalid/key\"/><X509Data>");
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::unexpected_reference);
}

TEST_F(XmlDsig, ValidXPathTransformIsStillRefused) {
  auto forged = forge(package_, signer_, [](xmlNode* ref) {
    xmlNode* t = xmlSecTmplReferenceAddTransform(ref, xmlSecTransformXPathId);
    const xmlChar* ns[] = {to_xml("dsig"), to_xml(kDsigNs), nullptr};
    ASSERT_EQ(xmlSecTmplTransformAddXPath(t, to_xml("not(ancestor-or-self::dsig:Signature)"), ns),
              0);
  });
  ASSERT_TRUE(naive_xmlsec_accepts(forged, signer_));
  auto v = verify(forged);
  EXPECT_EQ(v.code, VerdictCode::transform_not_allowed) << v.reason;
}

TEST_F(XmlDsig, XsltTransformIsRefused) {
  auto signed_xml = sign(package_, signer_);
  replace_once(signed_xml, "<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
               "<Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>");
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::transform_not_allowed);
}

TEST_F(XmlDsig, CanonicalizationWithCommentsIsRefused) {
  auto signed_xml = sign(package_, signer_);
  replace_once(signed_xml,
               "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
               "<CanonicalizationMethod "
               "Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#WithComments\"/>");
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::transform_not_allowed);
}

TEST_F(XmlDsig, CommentInSignedContentIsRefusedThoughTheMathHolds) {
  auto signed_xml = sign(package_, signer_);
  // URI="" drops comments before digesting, so this still verifies in xmlsec (the SAML
  // comment-truncation attack); the verdict must refuse it.
  replace_once(signed_xml, "<edXML:StatusCode>05", "<edXML:StatusCode>0<!-- -->5");
  ASSERT_TRUE(naive_xmlsec_accepts(signed_xml, signer_));
  auto v = verify(signed_xml);
  EXPECT_EQ(v.code, VerdictCode::comment_in_signed_content) << v.reason;
}

TEST_F(XmlDsig, SecondForgedSignatureIsRefused) {
  SigningKey stranger =
      pki_->issue("Forger", 300, KeyType::ec_p256, kNow - kDay, kNow + kDay, false);
  auto forged = sign(sign(package_, signer_), stranger, SignatureRole::organisation);
  auto v = verify(forged);
  EXPECT_EQ(v.code, VerdictCode::certificate_untrusted) << v.reason;
  EXPECT_EQ(v.signatures[0].code, VerdictCode::valid);
  EXPECT_EQ(v.signatures[1].code, VerdictCode::certificate_untrusted);

  // A copy of the signer's own signature pasted in as a second one does not verify either.
  auto once = sign(package_, signer_);
  auto b = once.find("<Signature ");
  auto e = once.find("</Signature>") + 12;
  std::string dup = once;
  dup.insert(e, once.substr(b, e - b));
  EXPECT_FALSE(verify(dup).valid());
}

TEST_F(XmlDsig, ThreeSignaturesAreRefused) {
  auto both = sign_both(package_);
  auto b = both.find("<Signature ");
  auto e = both.find("</Signature>") + 12;
  both.insert(both.rfind("</Signature>") + 12, both.substr(b, e - b));
  EXPECT_EQ(verify(both).code, VerdictCode::unexpected_structure);
}

// An element elsewhere with the Id a signature's properties go by (as Id, ID or id) could stand in
// for them: either signature's is refused, whichever way it is spelled.
TEST_F(XmlDsig, APropertiesIdThatIsNotUniqueIsRefused) {
  const std::string both = sign_both(package_);
  std::vector<std::string> ids;
  for (auto at = both.find("-properties\""); at != std::string::npos;
       at = both.find("-properties\"", at + 1)) {
    const auto start = both.rfind('"', at - 1) + 1;
    if (both.compare(start - 4, 4, "Id=\"") == 0)
      ids.push_back(both.substr(start, at + 11 - start));
  }
  ASSERT_EQ(ids.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    std::string decoy = both;
    replace_once(decoy, "</edXML:edXMLEnvelope>",
                 "<Decoy " + std::string(i == 0 ? "ID" : "id") + "=\"" + ids[i] +
                     "\"/></edXML:edXMLEnvelope>");
    auto v = verify(decoy);
    ASSERT_EQ(v.signatures.size(), 2u);
    EXPECT_EQ(v.signatures[i].code, VerdictCode::unexpected_structure) << v.signatures[i].reason;
    EXPECT_NE(v.signatures[i].reason.find("Id '" + ids[i] + "' is not unique"), std::string::npos)
        << v.signatures[i].reason;
  }
}

TEST_F(XmlDsig, MovedElementIsCaught) {
  auto signed_xml = sign(package_, signer_);
  // Move the Description before the StatusCode: same content, different document.
  std::string desc = "<edXML:Description>Đang xử lý văn bản đến</edXML:Description>";
  replace_once(signed_xml, desc, "");
  replace_once(signed_xml, "<edXML:StatusCode>", desc + "<edXML:StatusCode>");
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::digest_mismatch);
}

TEST_F(XmlDsig, SignatureMovedOutOfTheHeaderIsRefused) {
  auto signed_xml = sign(package_, signer_);
  auto b = signed_xml.find("<Signature ");
  auto e = signed_xml.find("</Signature>") + 12;
  std::string sig = signed_xml.substr(b, e - b);
  signed_xml.erase(b, e - b);
  replace_once(signed_xml, "</edXML:edXMLEnvelope>",
               "<edXML:edXMLBody>" + sig + "</edXML:edXMLBody></edXML:edXMLEnvelope>");
  auto v = verify(signed_xml);
  EXPECT_EQ(v.code, VerdictCode::unexpected_structure) << v.reason;
}

TEST_F(XmlDsig, WrappedContentInObjectIsRefused) {
  auto signed_xml = sign(package_, signer_);
  replace_once(signed_xml, "</KeyInfo>", "</KeyInfo><Object><edXML:MessageHeader/></Object>");
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::unexpected_structure);
}

TEST_F(XmlDsig, DuplicatePropertiesIdIsRefused) {
  auto signed_xml = sign(package_, signer_);
  replace_once(signed_xml, "<edXML:Description>",
               "<edXML:Description Id=\"lienthong-signer-properties\">");
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::unexpected_structure);
}

TEST_F(XmlDsig, MissingCertificateIsNamed) {
  auto signed_xml = sign(package_, signer_);
  auto b = signed_xml.find("<KeyInfo>");
  auto e = signed_xml.find("</KeyInfo>") + 10;
  signed_xml.erase(b, e - b);
  EXPECT_EQ(verify(signed_xml).code, VerdictCode::certificate_invalid);
}

}  // namespace
}  // namespace lienthong
