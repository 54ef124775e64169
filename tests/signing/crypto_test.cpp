#include "signing/crypto.hpp"

#include <gtest/gtest.h>
#include <openssl/pkcs12.h>

#include <filesystem>

#include "test_pki.hpp"

namespace lienthong {
namespace {

using testing::kNow;
using testing::TestPki;

TEST(Crypto, LoadsKeyAndCertificateFromPemFiles) {
  TestPki pki;
  SigningKey k = pki.issue("Trần Thị Bình", 10);
  auto dir = std::filesystem::temp_directory_path() / ("lt-crypto-" + std::to_string(::getpid()));
  ASSERT_TRUE(write_file(dir / "k.pem", to_pem(k.key.get()), true));
  ASSERT_TRUE(write_file(dir / "c.pem", to_pem(k.cert.get()) + to_pem(pki.ca.get())));
  auto loaded = load_signing_key(dir / "k.pem", dir / "c.pem");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(common_name(loaded->cert.get()), "Trần Thị Bình");
  EXPECT_EQ(loaded->chain.size(), 1u);

  SigningKey other = pki.issue("Other", 11);
  ASSERT_TRUE(write_file(dir / "k2.pem", to_pem(other.key.get()), true));
  auto mismatch = load_signing_key(dir / "k2.pem", dir / "c.pem");
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, "key.mismatch");
  EXPECT_EQ(load_signing_key(dir / "missing.pem", dir / "c.pem").error().code, "io.not_found");
  std::filesystem::remove_all(dir);
}

TEST(Crypto, LoadsPkcs12) {
  TestPki pki;
  SigningKey k = pki.issue("PKCS12 holder", 12, KeyType::rsa_2048);
  PKCS12* p12 =
      PKCS12_create("secret", "holder", k.key.get(), k.cert.get(), nullptr, 0, 0, 0, 0, 0);
  ASSERT_NE(p12, nullptr);
  int len = i2d_PKCS12(p12, nullptr);
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PKCS12(p12, &p);
  PKCS12_free(p12);
  auto loaded = load_signing_key_pkcs12(der, "secret");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(common_name(loaded->cert.get()), "PKCS12 holder");
  EXPECT_EQ(load_signing_key_pkcs12(der, "wrong").error().code, "pkcs12.invalid");
}

TEST(Crypto, RefusesWeakKeys) {
  EXPECT_TRUE(check_key_strength(generate_key(KeyType::ec_p256).get()));
  EXPECT_TRUE(check_key_strength(generate_key(KeyType::rsa_2048).get()));
  auto weak = check_key_strength(generate_key(KeyType::rsa_1024).get());
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code, "key.weak");
}

TEST(Crypto, UtcTimesRoundTrip) {
  EXPECT_EQ(format_utc(kNow), "2026-11-22T08:00:00Z");
  auto t = parse_utc("2026-11-22T08:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kNow);
  EXPECT_EQ(*parse_utc("2024-02-29T23:59:59Z"), 1709251199);
  EXPECT_EQ(*parse_utc("1970-01-01T00:00:00Z"), 0);
  for (const char* bad : {"2026-11-22 08:00:00", "2026-11-22T08:00:00", "2026-11-22T08:00:00+07",
                          "2026-11-22T08:00:0Z ", "2026-13-22T08:00:00Z", "2026-11-00T08:00:00Z",
                          "2026-11-22T24:00:00Z", "2026-11-22T08:60:00Z", " 026-11-22T08:00:00Z",
                          "2026-+1-22T08:00:00Z", "2026/11/22T08:00:00Z", ""}) {
    EXPECT_FALSE(parse_utc(bad)) << bad;
  }
}

TEST(Pki, DemoPkiWritesTheDocumentedLayout) {
  auto dir = std::filesystem::temp_directory_path() / ("lt-demo-pki-" + std::to_string(::getpid()));
  ASSERT_TRUE(write_demo_pki(dir, kNow));
  EXPECT_TRUE(std::filesystem::exists(dir / "ca.pem"));
  for (const auto& a : demo_agencies()) {
    for (const char* f : {"organisation.key", "organisation.pem", "signer.key", "signer.pem"}) {
      EXPECT_TRUE(std::filesystem::exists(dir / a.code / f)) << a.code << "/" << f;
    }
    auto k = load_signing_key(dir / a.code / "signer.key", dir / a.code / "signer.pem");
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(std::filesystem::status(dir / a.code / "signer.key").permissions() &
                  std::filesystem::perms::others_read,
              std::filesystem::perms::none);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lienthong
