#include "base/spool.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "base/encoding.hpp"
#include "base/xml.hpp"

namespace lienthong {
namespace {

std::shared_ptr<Spool> spool_of(std::string_view bytes) {
  auto spool = Spool::create();
  EXPECT_TRUE(spool) << spool.error().message;
  EXPECT_TRUE((*spool)->append(bytes));
  return *spool;
}

TEST(Spool, KeepsWhatIsAppendedAndLeavesNoFileBehind) {
  const auto dir = std::filesystem::temp_directory_path() / "lienthong-spool-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string bytes;
  for (int i = 0; bytes.size() < (3u << 20); ++i) bytes += std::to_string(i) + '\0';
  {
    auto spool = Spool::create(dir.string());
    ASSERT_TRUE(spool) << spool.error().message;
    ASSERT_TRUE((*spool)->append(bytes.substr(0, 10)));
    ASSERT_TRUE((*spool)->append(bytes.substr(10)));
    EXPECT_EQ((*spool)->size(), bytes.size());
    auto all = (*spool)->read_all();
    ASSERT_TRUE(all);
    EXPECT_TRUE(*all == bytes);
    char part[5];
    EXPECT_EQ((*spool)->read_at(bytes.size() - 3, part, sizeof part), 3);
    EXPECT_EQ(std::string(part, 3), bytes.substr(bytes.size() - 3));
    std::size_t pieces = 0;
    std::string again;
    ASSERT_TRUE((*spool)->for_each_piece([&](std::string_view p) -> Expected<void> {
      ++pieces;
      again.append(p);
      return {};
    }));
    EXPECT_GT(pieces, 1u);
    EXPECT_TRUE(again == bytes);
    auto sha = (*spool)->sha256_hex();
    ASSERT_TRUE(sha);
    EXPECT_EQ(*sha, sha256_hex(bytes));
    EXPECT_TRUE(std::filesystem::is_empty(dir)) << "the spool file has a name";
  }
  std::filesystem::remove_all(dir);
}

TEST(Spool, ReportsADirectoryItCannotWriteIn) {
  auto spool = Spool::create("/nonexistent/lienthong");
  ASSERT_FALSE(spool);
  EXPECT_EQ(spool.error().code, "spool.io");
  EXPECT_NE(spool.error().message.find("/nonexistent/lienthong"), std::string::npos);
}

// libxml2 refuses a text node over 10 MB unless told otherwise; an attachment is such a node.
// It comes back cut into text nodes of about 1 MiB whose concatenation is the text.
TEST(ParseXml, ReadsAHugeTextNodeFromASpoolInPieces) {
  const std::string text(12'500'000, 'Q');
  const std::string xml = "<?xml version=\"1.0\"?>\n<a><b>" + text + "</b><c>x</c></a>";
  auto doc = parse_xml(*spool_of(xml), XmlLimits{.max_bytes = 20 << 20});
  ASSERT_TRUE(doc) << doc.error().message;
  xmlNode* b = xml_first_element(xmlDocGetRootElement(doc->get()));
  int pieces = 0;
  for (xmlNode* c = b->children; c; c = c->next) {
    ASSERT_EQ(c->type, XML_TEXT_NODE);
    EXPECT_LE(std::strlen(reinterpret_cast<const char*>(c->content)), (1u << 20) + (64u << 10));
    ++pieces;
  }
  EXPECT_GE(pieces, 11);
  EXPECT_TRUE(xml_text(b) == text);
  EXPECT_EQ(xml_text(xml_next_element(b)), "x");

  auto from_memory = parse_xml(xml, XmlLimits{.max_bytes = 20 << 20});
  ASSERT_TRUE(from_memory) << from_memory.error().message;
  EXPECT_EQ(serialize_xml(from_memory->get(), false), serialize_xml(doc->get(), false));
}

TEST(ParseXml, SpooledDocumentsMeetTheSameRefusals) {
  auto doctype =
      parse_xml(*spool_of("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a/>"));
  ASSERT_FALSE(doctype);
  EXPECT_EQ(doctype.error().code, "xml.doctype_forbidden");
  auto big =
      parse_xml(*spool_of("<a>" + std::string(2000, 'x') + "</a>"), XmlLimits{.max_bytes = 1000});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, "xml.too_large");
  auto broken = parse_xml(*spool_of("<a>\n<b></a>"));
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, "xml.malformed");
  EXPECT_EQ(error_line(broken.error()).first, 2);
  // A prolog that hides what follows it beyond what is scanned before parsing is refused.
  auto long_prolog = parse_xml(*spool_of("<!--" + std::string(2 << 20, '-') + "x-->" +
                                         "<!DOCTYPE a [<!ENTITY x \"y\">]><a/>"),
                               XmlLimits{.max_bytes = 4 << 20});
  ASSERT_FALSE(long_prolog);
  EXPECT_EQ(long_prolog.error().code, "xml.malformed");
}

TEST(Base64Decoder, DecodesTextThatArrivesInPieces) {
  const std::string bytes = "any carnal pleasure, in pieces";
  const std::string text = base64_encode(bytes);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    Base64Decoder d;
    std::string out;
    ASSERT_TRUE(d.feed(text.substr(0, cut), out));
    ASSERT_TRUE(d.feed(text.substr(cut), out));
    ASSERT_TRUE(d.finish());
    EXPECT_EQ(out, bytes) << "cut at " << cut;
  }
  Base64Decoder d;
  std::string out;
  ASSERT_TRUE(d.feed("QUJD", out));
  auto bad = d.feed("R!==", out);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "character '!' at offset 5 is not base64");
  EXPECT_EQ(out, "ABC");  // left as it was before the bad piece
  Base64Decoder truncated;
  ASSERT_TRUE(truncated.feed("QUJDR", out));
  EXPECT_FALSE(truncated.finish());
}

TEST(Sha256, OverPiecesIsTheDigestOfTheWhole) {
  Sha256 h;
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(h.hex(), sha256_hex("hello world"));
}

}  // namespace
}  // namespace lienthong
