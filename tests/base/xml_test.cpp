#include "base/xml.hpp"

#include "base/spool.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lienthong {
namespace {

TEST(ParseXml, ReadsWellFormedDocumentsWithLines) {
  auto doc = parse_xml("<?xml version=\"1.0\"?>\n<a>\n  <b x=\"1\">text</b>\n</a>");
  ASSERT_TRUE(doc) << doc.error().message;
  xmlNode* b = xml_first_element(xmlDocGetRootElement(doc->get()));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(xml_local_name(b), "b");
  EXPECT_EQ(xml_line(b), 3);
  EXPECT_EQ(xml_text(b), "text");
  std::string x;
  EXPECT_TRUE(xml_attribute(b, "x", x));
  EXPECT_EQ(x, "1");
}

TEST(ParseXml, RefusesAnyDoctype) {
  const char* xxe =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "
      "\"file:///etc/passwd\">]>\n<a>&x;</a>";
  auto r = parse_xml(xxe);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "xml.doctype_forbidden");
  // Comments before the DOCTYPE do not hide it.
  auto r2 = parse_xml("<!-- hi --><?pi x?>\n<!DOCTYPE a><a/>");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, "xml.doctype_forbidden");
}

TEST(ParseXml, RefusesBillionLaughs) {
  std::string lol = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i) {
    lol += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k)
      lol += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    lol += "\">";
  }
  lol += "]><lolz>&lol9;</lolz>";
  auto r = parse_xml(lol);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "xml.doctype_forbidden");
}

// The byte scan before parsing reads UTF-8 only; a DOCTYPE in UTF-16 or UTF-7 reaches the parser,
// which stops at it (entity expansion is unbounded with XML_PARSE_HUGE).
TEST(ParseXml, RefusesADoctypeInAnotherEncoding) {
  std::string lol = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i < 10; ++i) {
    lol += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k)
      lol += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    lol += "\">";
  }
  lol += "]><lolz a=\"&lol9;\">&lol9;</lolz>";
  std::string utf16 = "\xFF\xFE";  // UTF-16LE with its byte-order mark
  for (char c : "<?xml version=\"1.0\" encoding=\"UTF-16\"?>" + lol) {
    utf16 += c;
    utf16 += '\0';
  }
  auto r = parse_xml(utf16);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "xml.doctype_forbidden");
  auto spooled = Spool::create();
  ASSERT_TRUE(spooled && (*spooled)->append(utf16));
  auto from_spool = parse_xml(**spooled);
  ASSERT_FALSE(from_spool);
  EXPECT_EQ(from_spool.error().code, "xml.doctype_forbidden");

  auto utf7 =
      parse_xml("<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE a+AD4-+ADw-a/+AD4-");
  ASSERT_FALSE(utf7);
  EXPECT_EQ(utf7.error().code, "xml.doctype_forbidden");
}

// Too many elements stop the parser as it goes, not after the tree is built.
TEST(ParseXml, StopsAtTooManyElementsWhileParsing) {
  std::string many = "<r>";
  for (int i = 0; i < 5000; ++i) many += "<a/>";
  many += "</r>";
  auto r = parse_xml(many, XmlLimits{.max_bytes = 1 << 20, .max_depth = 64, .max_nodes = 1000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "xml.too_many_nodes");
}

TEST(ParseXml, RefusesUndeclaredEntities) {
  auto r = parse_xml("<a>&undeclared;</a>");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "xml.malformed");
  EXPECT_NE(r.error().message.find("line 1"), std::string::npos);
}

TEST(ParseXml, EnforcesSizeDepthAndNodeLimits) {
  XmlLimits limits;
  limits.max_bytes = 10;
  EXPECT_EQ(parse_xml("<a>0123456789</a>", limits).error().code, "xml.too_large");

  std::string deep;
  for (int i = 0; i < 100'000; ++i) deep += "<a>";
  for (int i = 0; i < 100'000; ++i) deep += "</a>";
  auto r = parse_xml(deep, XmlLimits{.max_bytes = 1 << 20});
  ASSERT_FALSE(r);  // libxml2's own depth guard stops it before ours
  std::string nested = "<r>";
  for (int i = 0; i < 70; ++i) nested += "<a>";
  for (int i = 0; i < 70; ++i) nested += "</a>";
  nested += "</r>";
  auto r2 = parse_xml(nested);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, "xml.too_deep");

  std::string wide = "<r>";
  for (int i = 0; i < 50; ++i) wide += "<a/>";
  wide += "</r>";
  EXPECT_EQ(parse_xml(wide, XmlLimits{.max_nodes = 20}).error().code, "xml.too_many_nodes");
  EXPECT_TRUE(parse_xml(wide));
}

TEST(ParseXml, ReportsMalformedWithLine) {
  auto r = parse_xml("<a>\n<b>\n</a>");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "xml.malformed");
  EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;
  EXPECT_EQ(parse_xml("").error().code, "xml.malformed");
}

TEST(ParseXml, ErrorLinesSplitFromTheirMessage) {
  auto r = parse_xml("<a>\n\n<b></a>");
  ASSERT_FALSE(r);
  auto [line, message] = error_line(r.error());
  EXPECT_EQ(line, 3);
  EXPECT_EQ(message.rfind("line", 0), std::string::npos) << message;
  EXPECT_EQ(error_line(Error{"x", "no line here"}),
            std::make_pair(0L, std::string("no line here")));
}

TEST(ParseXml, RefusesUndeclaredNamespacePrefixes) {
  auto r = parse_xml("<a>\n<p:b/></a>");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "xml.malformed");
  EXPECT_NE(r.error().message.find("line 2"), std::string::npos) << r.error().message;
}

TEST(ParseXml, DoesNotFetchExternalResources) {
  // XInclude is never processed: the include element stays an element, nothing is read.
  auto doc = parse_xml(
      "<a xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"/etc/passwd\"/></a>");
  ASSERT_TRUE(doc);
  xmlNode* inc = xml_first_element(xmlDocGetRootElement(doc->get()));
  ASSERT_NE(inc, nullptr);
  EXPECT_EQ(xml_local_name(inc), "include");
  EXPECT_EQ(xml_text(xmlDocGetRootElement(doc->get())), "");
}

// The indentation put in the tree is what the indenting serialiser writes, and it survives a
// parse: elements holding only elements are indented, text and mixed content left as they are,
// and levels past 30 indented as the 30th.
TEST(XmlIndent, PutsIntoTheTreeWhatTheIndentingSerialiserWrites) {
  std::string deep;
  for (int i = 0; i < 34; ++i) deep += "<d" + std::to_string(i) + ">";
  deep += "x";
  for (int i = 33; i >= 0; --i) deep += "</d" + std::to_string(i) + ">";
  for (const std::string& xml :
       {std::string("<a/>"), std::string("<a>text</a>"),
        std::string("<p:a xmlns:p=\"urn:p\" k=\"v\"><p:b><c>x &amp; y</c><e/></p:b>"
                    "<m>mixed <i>in</i> text</m><n><o/><o/></n></p:a>"),
        "<r>" + deep + "<t/></r>"}) {
    auto doc = parse_xml(xml);
    ASSERT_TRUE(doc) << xml;
    const std::string indented = serialize_xml(doc->get(), true);
    xml_indent(doc->get());
    EXPECT_EQ(serialize_xml(doc->get(), false), indented);
    auto back = parse_xml(indented);
    ASSERT_TRUE(back);
    EXPECT_EQ(serialize_xml(back->get(), false), indented);  // the whitespace became text nodes
  }
  auto doc = parse_xml("<a><b/></a>");
  ASSERT_TRUE(doc);
  xml_indent(doc->get());
  EXPECT_EQ(serialize_xml(doc->get(), false),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b/>\n</a>\n");
}

TEST(XmlText, IsTheConcatenatedTextOfTheDescendants) {
  auto doc = parse_xml(
      "<r><empty/><one>a &amp; b</one><cdata><![CDATA[<x>]]></cdata>"
      "<mixed>1<i>2<j>3</j></i><![CDATA[4]]>5<!-- no -->6</mixed><short>z</short></r>");
  ASSERT_TRUE(doc);
  std::vector<std::string> texts;
  for (xmlNode* e = xml_first_element(xmlDocGetRootElement(doc->get())); e;
       e = xml_next_element(e)) {
    texts.push_back(xml_text(e));
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"", "a & b", "<x>", "123456", "z"}));
  EXPECT_EQ(xml_text(xmlDocGetRootElement(doc->get())), "a & b<x>123456z");
}

TEST(XmlAttribute, ReadsAttributesWithoutNamespaceOnly) {
  auto doc = parse_xml("<r xmlns:p=\"urn:p\" p:a=\"ns\" b=\"x &amp; &#x41;\" e=\"\"/>");
  ASSERT_TRUE(doc);
  const xmlNode* r = xmlDocGetRootElement(doc->get());
  std::string v = "unchanged";
  EXPECT_FALSE(xml_attribute(r, "a", v));  // p:a has a namespace
  EXPECT_EQ(v, "unchanged");
  EXPECT_TRUE(xml_attribute(r, "b", v));
  EXPECT_EQ(v, "x & A");
  EXPECT_TRUE(xml_attribute(r, "e", v));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(xml_attribute(r, "missing", v));
}

}  // namespace
}  // namespace lienthong
