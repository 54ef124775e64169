#include "signing/c14n.hpp"

#include <gtest/gtest.h>
#include <libxml/c14n.h>

#include <algorithm>
#include <random>

#include <string>
#include <vector>

#include "base/xml.hpp"
#include "signing/crypto.hpp"

namespace lienthong {
namespace {

int append(void* ctx, const char* data, int len) {
  static_cast<std::string*>(ctx)->append(data, static_cast<std::size_t>(len));
  return len;
}

// What libxml2's c14n makes of the whole document: the reference this writer must match.
std::string libxml2_form(xmlDoc* doc, bool exclusive) {
  std::string out;
  xmlOutputBuffer* buf = xmlOutputBufferCreateIO(append, nullptr, &out, nullptr);
  const int rc = xmlC14NExecute(doc, nullptr, nullptr,
                                exclusive ? XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0, nullptr, 0, buf);
  EXPECT_GE(xmlOutputBufferClose(buf), 0);
  EXPECT_GE(rc, 0);
  return out;
}

std::string our_form(xmlDoc* doc, bool exclusive, std::size_t chunk_limit = 0) {
  std::string out;
  std::size_t calls = 0;
  auto outcome = canonicalize_document(doc, exclusive, [&](std::string_view s) {
    ++calls;
    out.append(s);
    return chunk_limit == 0 || calls < chunk_limit;
  });
  EXPECT_EQ(outcome, chunk_limit ? C14nOutcome::sink_failed : C14nOutcome::written);
  return out;
}

// libxml2's exclusive form of one element's subtree (comments left out), as a same-document
// Reference or a SignedInfo asks for it.
std::string libxml2_subtree_form(xmlDoc* doc, xmlNode* element) {
  auto in_subtree = [](void* root, xmlNode* node, xmlNode* parent) {
    for (xmlNode* n = node->type == XML_NAMESPACE_DECL ? parent : node; n; n = n->parent) {
      if (n == root) return 1;
    }
    return 0;
  };
  std::string out;
  xmlOutputBuffer* buf = xmlOutputBufferCreateIO(append, nullptr, &out, nullptr);
  const int rc = xmlC14NExecute(doc, in_subtree, element, XML_C14N_EXCLUSIVE_1_0, nullptr, 0, buf);
  EXPECT_GE(xmlOutputBufferClose(buf), 0);
  EXPECT_GE(rc, 0);
  return out;
}

std::string our_subtree_form(const xmlNode* element) {
  std::string out;
  auto outcome = canonicalize_element(element, [&](std::string_view s) {
    out.append(s);
    return true;
  });
  EXPECT_EQ(outcome, C14nOutcome::written);
  return out;
}

// Every element of `doc`, in document order.
std::vector<xmlNode*> elements(xmlDoc* doc) {
  std::vector<xmlNode*> all;
  std::vector<xmlNode*> stack;
  for (xmlNode* n = doc->last; n; n = n->prev) stack.push_back(n);
  while (!stack.empty()) {
    xmlNode* e = stack.back();
    stack.pop_back();
    if (e->type != XML_ELEMENT_NODE) continue;
    all.push_back(e);
    for (xmlNode* c = e->last; c; c = c->prev) stack.push_back(c);
  }
  return all;
}

XmlDoc parse(const std::string& xml) {
  auto doc = parse_xml(xml);
  EXPECT_TRUE(doc) << doc.error().message;
  return doc ? std::move(*doc) : XmlDoc();
}

// Documents that exercise each rule: namespace declarations kept, dropped as superfluous,
// undeclared (xmlns=""), used only by an attribute or not at all; attribute order by namespace
// URI then local name; escapes in text and attribute values; CDATA, comments and processing
// instructions inside and around the document element; non-ASCII text.
const std::vector<std::string> kDocuments = {
    "<a/>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- before --><?pi one?><a b=\"1\" "
    "a=\"2\">x</a><?pi two  ?><!-- after -->",
    "<r xmlns=\"urn:d\" xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"><p:e q:z=\"1\" a=\"2\" p:y=\"3\" "
    "xmlns:p=\"urn:p\"><f xmlns=\"\"><g xmlns=\"urn:d\"/></f></p:e><q:h xmlns:q=\"urn:q2\"/>"
    "<i xmlns=\"urn:d\" xmlns:u=\"urn:unused\"/></r>",
    "<r xmlns:b=\"urn:b\" xmlns:a=\"urn:a\" b:k=\"1\" a:k=\"2\" k=\"3\" a:j=\"4\"><x:s "
    "xmlns:x=\"urn:x\"><x:t xmlns:x=\"urn:other\"/></x:s></r>",
    "<t a=\"&lt;&amp;&gt;&quot;'&#9;&#10;&#13; x\">&lt;&amp;&gt;\"'&#13;\n\t<![CDATA[<&>]]>"
    "<?inside data?><!-- gone --><e/></t>",
    "<m xml:lang=\"vi\" xmlns:xml=\"http://www.w3.org/XML/1998/namespace\">Sở Tài chính "
    "tỉnh Tây Ninh — 𝄞</m>",
    "<d xmlns=\"urn:one\"><e xmlns=\"urn:one\"><f xmlns=\"urn:two\"><g xmlns=\"\" "
    "xmlns:n=\"urn:n\"><n:h xmlns=\"urn:three\"/></g></f></e></d>",
    "<p:root xmlns:p=\"urn:p\"><p:a xmlns:p=\"urn:p\" xmlns:s=\"urn:s\"><b "
    "s:at=\"v\"/></p:a></p:root>",
};

TEST(C14n, MatchesLibxml2OnEveryRuleInBothModes) {
  for (const std::string& xml : kDocuments) {
    XmlDoc doc = parse(xml);
    ASSERT_TRUE(doc);
    for (bool exclusive : {false, true}) {
      EXPECT_EQ(our_form(doc.get(), exclusive), libxml2_form(doc.get(), exclusive))
          << (exclusive ? "exclusive: " : "inclusive: ") << xml;
    }
  }
}

// Random documents from a fixed seed: namespaces declared, redeclared and undeclared at random
// depths, prefixed and plain attributes, and text with every escape.
std::string generated(std::mt19937& rng, int depth) {
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> prefixes = {"", "", "a", "b", "c"};
  const std::vector<std::string> uris = {"urn:1", "urn:2", "urn:3", "http://x/y?z=1;w=2"};
  const std::string prefix = pick(prefixes);
  const std::string name = (prefix.empty() ? "" : prefix + ":") + pick({"e", "f", "g"});
  std::string xml = "<" + name;
  if (depth == 0) {
    for (const char* p : {"a", "b", "c"})
      xml += std::string(" xmlns:") + p + "=\"" + pick(uris) + "\"";
  }
  if (rng() % 3 == 0) xml += " xmlns=\"" + pick({"", "urn:1", "urn:2"}) + "\"";
  if (rng() % 4 == 0) xml += " xmlns:" + pick({"a", "b", "c"}) + "=\"" + pick(uris) + "\"";
  std::vector<std::string> used;
  for (int i = rng() % 4; i > 0; --i) {
    const std::string p = pick(prefixes);
    const std::string attr = (p.empty() ? "" : p + ":") + pick({"x", "y", "z"});
    if (std::find(used.begin(), used.end(), attr) != used.end()) continue;
    used.push_back(attr);
    xml +=
        " " + attr + "=\"" + pick({"v", "&lt;&amp;&quot;'>", "&#9;&#10;&#13;", "", "Việt"}) + "\"";
  }
  xml += ">";
  for (int i = depth < 4 ? static_cast<int>(rng() % 4) : 0; i > 0; --i) {
    switch (rng() % 5) {
      case 0:
        xml += pick({"t", " ", "&amp;&lt;&gt;&#13;\t\n", "<![CDATA[<&]]>", "Sở"});
        break;
      case 1:
        xml += pick({"<!--c-->", "<?p d?>", "<?q?>"});
        break;
      default:
        xml += generated(rng, depth + 1);
    }
  }
  return xml + "</" + name + ">";
}

TEST(C14n, MatchesLibxml2OnGeneratedDocuments) {
  std::mt19937 rng(20261201);
  int compared = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string xml = generated(rng, 0);
    auto doc = parse_xml(xml);
    if (!doc) continue;  // a duplicate attribute through two prefixes of one URI
    ++compared;
    for (bool exclusive : {false, true}) {
      ASSERT_EQ(our_form(doc->get(), exclusive), libxml2_form(doc->get(), exclusive))
          << (exclusive ? "exclusive: " : "inclusive: ") << xml;
    }
  }
  EXPECT_GT(compared, 600);
}

TEST(C14n, MatchesLibxml2OnRealPackagesAndALargeText) {
  for (const char* name : {"edoc_new.edxml", "status_processing_05.edxml"}) {
    auto bytes = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/" + name);
    ASSERT_TRUE(bytes) << name;
    XmlDoc doc = parse(*bytes);
    ASSERT_TRUE(doc);
    for (bool exclusive : {false, true}) {
      EXPECT_EQ(our_form(doc.get(), exclusive), libxml2_form(doc.get(), exclusive)) << name;
    }
  }
  // Text past the writer's chunk, with escapes on both sides of the boundaries.
  std::string text;
  for (int i = 0; i < 40000; ++i) text += "ab&amp;c&lt;d&gt;&#13;";
  XmlDoc doc = parse("<big x=\"&#13;\">" + text + "</big>");
  ASSERT_TRUE(doc);
  EXPECT_EQ(our_form(doc.get(), false), libxml2_form(doc.get(), false));
}

// Every character either mode escapes, at each position of texts and attribute values up to 40
// characters long: the writer looks for them sixteen at a time, then one by one at the end.
TEST(C14n, EscapesEachCharacterWhereverItFalls) {
  const std::vector<std::string> specials = {"&amp;", "&lt;", "&gt;", "\"",    "&quot;",
                                             "\t",    "&#9;", "\n",   "&#10;", "&#13;"};
  std::string xml = "<r>";
  for (const std::string& special : specials) {
    for (std::size_t length = 1; length <= 40; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string text, value;
        for (std::size_t i = 0; i < length; ++i) {
          const std::string plain(1, static_cast<char>('a' + i % 26));
          text += i == at ? special : plain;
          value += i == at && special != "\"" ? special : plain;
        }
        xml += "<e v=\"" + value + "\">" + text + text + "</e>";
      }
    }
  }
  XmlDoc doc = parse(xml + "</r>");
  ASSERT_TRUE(doc);
  for (bool exclusive : {false, true}) {
    const std::string ours = our_form(doc.get(), exclusive);
    EXPECT_EQ(ours, libxml2_form(doc.get(), exclusive));
    EXPECT_NE(ours.find("&#xD;&#xD;"), std::string::npos);  // twice in a row: text + text
  }
}

// Each element of every document above, of the generated ones and of the real packages (their
// signatures' SignedInfo and SignatureProperties among them).
TEST(C14n, EveryElementsExclusiveFormMatchesLibxml2) {
  std::vector<std::string> documents = kDocuments;
  std::mt19937 rng(20261202);
  for (int i = 0; i < 300; ++i) documents.push_back(generated(rng, 0));
  for (const char* name : {"edoc_new.edxml", "status_processing_05.edxml"}) {
    auto bytes = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/" + name);
    ASSERT_TRUE(bytes) << name;
    documents.push_back(*bytes);
  }
  std::size_t compared = 0, with_outside_namespace = 0;
  for (const std::string& xml : documents) {
    auto doc = parse_xml(xml);
    if (!doc) continue;  // a generated duplicate attribute
    for (xmlNode* e : elements(doc->get())) {
      ++compared;
      if (e->ns && e->parent && e->parent->type == XML_ELEMENT_NODE && !e->nsDef) {
        ++with_outside_namespace;
      }
      const std::string ours = our_subtree_form(e);
      ASSERT_EQ(ours, libxml2_subtree_form(doc->get(), e))
          << "element <" << reinterpret_cast<const char*>(e->name) << "> of " << xml.substr(0, 300);
    }
  }
  EXPECT_GT(compared, 900u);
  EXPECT_GT(with_outside_namespace, 100u);  // namespaces declared above the subtree
}

TEST(C14n, MarksWhereOneElementsFormStartsAndEnds) {
  XmlDoc doc = parse("<r xmlns=\"urn:d\"><a>1</a><s xmlns:p=\"urn:p\"><p:t/></s><b/></r>");
  ASSERT_TRUE(doc);
  xmlNode* s = xmlDocGetRootElement(doc.get())->children->next;
  ASSERT_STREQ(reinterpret_cast<const char*>(s->name), "s");
  std::string out;
  std::size_t start = 0, end = 0;
  ASSERT_EQ(canonicalize_document(
                doc.get(), false,
                [&](std::string_view v) {
                  out.append(v);
                  return true;
                },
                s, &start, &end),
            C14nOutcome::written);
  EXPECT_EQ(out.substr(start, end - start), "<s xmlns:p=\"urn:p\"><p:t></p:t></s>");
  // Without the element, the form is the rest.
  xmlUnlinkNode(s);
  EXPECT_EQ(libxml2_form(doc.get(), false), out.substr(0, start) + out.substr(end));
  xmlFreeNode(s);
}

TEST(C14n, LeavesWhatItDoesNotRenderToLibxml2AndStopsWhenTheSinkDoes) {
  XmlDoc doc = parse("<a>x</a>");
  ASSERT_TRUE(doc);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  xmlAddChild(root, xmlNewReference(doc.get(), reinterpret_cast<const xmlChar*>("&ent;")));
  bool called = false;
  EXPECT_EQ(canonicalize_document(doc.get(), false,
                                  [&](std::string_view) {
                                    called = true;
                                    return true;
                                  }),
            C14nOutcome::unsupported);
  EXPECT_FALSE(called);  // nothing written before the answer

  // A parser turns every carriage return in a processing instruction into a line feed; one made
  // in memory keeps it, and libxml2 escapes it.
  XmlDoc pi = parse("<a/>");
  ASSERT_TRUE(pi);
  xmlAddChild(xmlDocGetRootElement(pi.get()),
              xmlNewDocPI(pi.get(), reinterpret_cast<const xmlChar*>("p"),
                          reinterpret_cast<const xmlChar*>("x\ry")));
  EXPECT_EQ(canonicalize_document(pi.get(), false, [](std::string_view) { return true; }),
            C14nOutcome::unsupported);

  XmlDoc ampersand = parse("<a xmlns:p=\"urn:x?a=1&amp;b=2\"><p:b/></a>");
  ASSERT_TRUE(ampersand);
  EXPECT_EQ(canonicalize_document(ampersand.get(), false, [](std::string_view) { return true; }),
            C14nOutcome::unsupported);
  // Declared outside the subtree, used inside.
  EXPECT_EQ(canonicalize_element(xmlDocGetRootElement(ampersand.get())->children,
                                 [](std::string_view) { return true; }),
            C14nOutcome::unsupported);
  xmlNode* with_reference = xmlDocGetRootElement(doc.get());
  EXPECT_EQ(canonicalize_element(with_reference, [](std::string_view) { return true; }),
            C14nOutcome::unsupported);
  EXPECT_EQ(canonicalize_element(with_reference->children, [](std::string_view) { return true; }),
            C14nOutcome::unsupported);  // a text node

  std::string text(200000, 'z');
  XmlDoc big = parse("<a>" + text + "</a>");
  ASSERT_TRUE(big);
  our_form(big.get(), false, 1);  // the sink refuses its first piece
}

}  // namespace
}  // namespace lienthong
