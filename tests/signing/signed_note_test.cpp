#include "signing/signed_note.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

// The example key and note of the reference implementation, golang.org/x/mod/sumdb/note.
constexpr std::string_view kVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kSkey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kSignature =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(SignedNote, SignsExactlyAsTheReferenceImplementation) {
  auto signer = parse_note_signer(kSkey);
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_EQ(note_signer_text(*signer), kSkey);
  EXPECT_EQ(note_verifier_text(*signer), kVkey);
  auto note = sign_note(kText, *signer);
  ASSERT_TRUE(note) << note.error().message;
  EXPECT_EQ(*note,
            std::string(kText) + "\n" + std::string(kSignature));  // Ed25519 is deterministic

  auto verifier = parse_note_verifier(kVkey);
  ASSERT_TRUE(verifier) << verifier.error().message;
  auto text = open_note(*note, *verifier);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, kText);
}

TEST(SignedNote, RefusesAlteredNotesAndForeignKeys) {
  auto verifier = parse_note_verifier(kVkey);
  ASSERT_TRUE(verifier);
  const std::string note = std::string(kText) + "\n" + std::string(kSignature);

  std::string altered = note;
  altered[3] = 'X';
  auto r = open_note(altered, *verifier);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "note.bad_signature");

  auto other = generate_note_signer("lienthong.example/tay-ninh");
  ASSERT_TRUE(other);
  r = open_note(note, note_verifier_of(*other));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "note.unsigned");

  // A second signer's line beside the first: either key opens the note.
  auto cosigned = sign_note(kText, *other);
  ASSERT_TRUE(cosigned);
  const std::string both = note + cosigned->substr(kText.size() + 1);
  EXPECT_TRUE(open_note(both, *verifier));
  EXPECT_TRUE(open_note(both, note_verifier_of(*other)));

  for (const std::string& broken :
       {std::string(kText), std::string(kText) + "\n- PeterNeumann abc\n",
        std::string(kText) + "\n" + std::string(kSignature.substr(0, kSignature.size() - 1))}) {
    auto m = open_note(broken, *verifier);
    ASSERT_FALSE(m) << broken;
    EXPECT_EQ(m.error().code, "note.malformed") << broken;
  }
  EXPECT_FALSE(
      parse_note_verifier("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  EXPECT_FALSE(
      parse_note_verifier("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  EXPECT_FALSE(parse_note_signer(kVkey));
  EXPECT_FALSE(sign_note("no newline", *other));
  EXPECT_FALSE(sign_note("a\n\nb\n", *other));
}

TEST(SignedNote, AGeneratedKeyRoundTripsThroughItsText) {
  auto signer = generate_note_signer("lienthong.example/chinh-phu");
  ASSERT_TRUE(signer);
  auto again = parse_note_signer(note_signer_text(*signer));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->id, signer->id);
  auto verifier = parse_note_verifier(note_verifier_text(*signer));
  ASSERT_TRUE(verifier) << verifier.error().message;
  auto note = sign_note("hello\n", *again);
  ASSERT_TRUE(note);
  EXPECT_TRUE(open_note(*note, *verifier));
}

// The example checkpoint of C2SP tlog-checkpoint.
TEST(Checkpoint, ReadsAndWritesTheC2spText) {
  const std::string text =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  auto c = parse_checkpoint(text);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(c->size, 20852163u);
  EXPECT_EQ(base64_encode(std::string_view(reinterpret_cast<const char*>(c->root.data()), 32)),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(c->extensions.empty());
  EXPECT_EQ(checkpoint_text(*c), text);

  Checkpoint with = *c;
  with.extensions = {"lienthong audit 2026-12-01"};
  auto back = parse_checkpoint(checkpoint_text(with));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, with);

  const std::pair<std::string, std::string> broken[] = {
      {"origin\n12\n", "line 3: missing: origin, size, root"},
      {"\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "line 1: the origin is empty"},
      {"o\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
       "line 2: the tree size is not a decimal number"},
      {"o\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
       "line 2: the tree size is too large"},
      {"o\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
       "line 3: the root is not the base64 of 32 bytes"},
      {"o\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n", "line 4: an empty line"},
  };
  for (const auto& [bad, why] : broken) {
    auto r = parse_checkpoint(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "checkpoint.malformed");
    EXPECT_EQ(r.error().message, why) << bad;
  }
}

}  // namespace
}  // namespace lienthong
