#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/expected.hpp"
#include "base/spool.hpp"

namespace lienthong {

// Bounds applied to every XML document read from outside.
struct XmlLimits {
  std::size_t max_bytes = 10 * 1024 * 1024;
  int max_depth = 64;
  std::size_t max_nodes = 200'000;
};

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocDeleter>;

// Process-wide libxml2 setup: no external entity ever loads. Idempotent and thread-safe.
void xml_init();

// Parses untrusted bytes: no DTD (a DOCTYPE in UTF-8 is refused before libxml2 sees it, one in
// another encoding stops the parser where it stands), no entities, no network, size/depth/node-
// count limits (elements counted as they are parsed). Errors carry the line.
Expected<XmlDoc> parse_xml(std::string_view bytes, const XmlLimits& limits = {});
// The same, reading a spooled document a piece at a time: only the tree is held in memory.
Expected<XmlDoc> parse_xml(const Spool& spool, const XmlLimits& limits = {});

// A parse_xml error as (line, message without the "line N: " prefix); line 0 when it has none.
std::pair<long, std::string> error_line(const Error& error);

// Serialises a document as UTF-8 with an XML declaration.
std::string serialize_xml(xmlDoc* doc, bool indent = true);

// Puts into the tree, as text nodes, the line breaks and indentation serialize_xml(doc, true)
// would write (around the children of each element that holds only elements), so that
// serialize_xml(doc, false) then writes the same bytes and a signature made on the tree holds for
// them: parsing them back gives this tree.
void xml_indent(xmlDoc* doc);

// Small accessors over libxml2's C structures.
inline std::string_view xml_local_name(const xmlNode* node) {
  return node->name ? reinterpret_cast<const char*>(node->name) : std::string_view{};
}
inline std::string_view xml_ns_uri(const xmlNode* node) {
  return node->ns && node->ns->href ? reinterpret_cast<const char*>(node->ns->href)
                                    : std::string_view{};
}
inline long xml_line(const xmlNode* node) {
  return xmlGetLineNo(node);
}

// Concatenated text content of a node (its descendants' text), as UTF-8.
std::string xml_text(const xmlNode* node);

// Value of an attribute without namespace, or an empty optional-like empty string plus found flag.
bool xml_attribute(const xmlNode* node, const char* name, std::string& out);

xmlNode* xml_first_element(xmlNode* parent);
xmlNode* xml_next_element(xmlNode* node);

inline const xmlChar* to_xml(const char* s) {
  return reinterpret_cast<const xmlChar*>(s);
}

}  // namespace lienthong
