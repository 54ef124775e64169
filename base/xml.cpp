#include "base/xml.hpp"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace lienthong {
namespace {

xmlParserInputPtr refuse_external_entity(const char*, const char*, xmlParserCtxtPtr) {
  return nullptr;
}

bool starts_with_at(std::string_view s, std::size_t i, std::string_view p) {
  return s.size() >= i + p.size() && s.compare(i, p.size(), p) == 0;
}

// A DOCTYPE can only stand in the prolog, so scanning the prolog (declaration, comments, PIs,
// white space) up to the first element is enough to refuse every DTD before parsing.
bool prolog_has_doctype(std::string_view s) {
  std::size_t i = 0;
  if (starts_with_at(s, 0, "\xEF\xBB\xBF")) i = 3;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (starts_with_at(s, i, "<?")) {
      auto end = s.find("?>", i + 2);
      if (end == std::string_view::npos) return false;
      i = end + 2;
    } else if (starts_with_at(s, i, "<!--")) {
      auto end = s.find("-->", i + 4);
      if (end == std::string_view::npos) return false;
      i = end + 3;
    } else {
      return starts_with_at(s, i, "<!");  // <!DOCTYPE, or any other declaration
    }
  }
  return false;
}

std::string trim_message(const char* msg) {
  std::string m = msg ? msg : "unknown parse error";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

void xml_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    xmlSetExternalEntityLoader(refuse_external_entity);
  });
}

Expected<XmlDoc> parse_xml(std::string_view bytes, const XmlLimits& limits) {
  xml_init();
  if (bytes.size() > limits.max_bytes) {
    return Error{"xml.too_large", "document is " + std::to_string(bytes.size()) +
                                      " bytes, over the limit of " +
                                      std::to_string(limits.max_bytes)};
  }
  if (bytes.empty()) return Error{"xml.malformed", "document is empty"};
  if (prolog_has_doctype(bytes)) {
    return Error{"xml.doctype_forbidden",
                 "document declares a DOCTYPE; DTDs and entities are not accepted"};
  }
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (!ctxt) return Error{"xml.internal", "cannot allocate an XML parser"};
  constexpr int options = XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOERROR |
                          XML_PARSE_NOWARNING | XML_PARSE_NOXINCNODE;
  XmlDoc doc(xmlCtxtReadMemory(ctxt, bytes.data(), static_cast<int>(bytes.size()), nullptr, nullptr,
                               options));
  if (!doc) {
    const xmlError* err = xmlCtxtGetLastError(ctxt);
    std::string msg = err ? "line " + std::to_string(err->line) + ": " + trim_message(err->message)
                          : "document is not well-formed XML";
    xmlFreeParserCtxt(ctxt);
    return Error{"xml.malformed", msg};
  }
  if (!ctxt->nsWellFormed) {  // libxml2 keeps going after a namespace error; we do not
    const xmlError* err = xmlCtxtGetLastError(ctxt);
    std::string msg = err ? "line " + std::to_string(err->line) + ": " + trim_message(err->message)
                          : "namespace error";
    xmlFreeParserCtxt(ctxt);
    return Error{"xml.malformed", msg};
  }
  xmlFreeParserCtxt(ctxt);
  if (doc->intSubset || doc->extSubset) {
    return Error{"xml.doctype_forbidden", "document declares a DTD"};
  }

  // Iterative walk: bounded depth and node count, and no entity references anywhere.
  std::size_t nodes = 0;
  struct Frame {
    xmlNode* node;
    int depth;
  };
  std::vector<Frame> stack;
  if (xmlNode* root = xmlDocGetRootElement(doc.get())) stack.push_back({root, 1});
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (++nodes > limits.max_nodes) {
      return Error{"xml.too_many_nodes",
                   "document has more than " + std::to_string(limits.max_nodes) + " nodes"};
    }
    if (node->type == XML_ENTITY_REF_NODE || node->type == XML_ENTITY_NODE) {
      return Error{"xml.entity_forbidden", "line " + std::to_string(xml_line(node)) +
                                               ": entity references are not accepted"};
    }
    if (node->type != XML_ELEMENT_NODE) continue;
    if (depth > limits.max_depth) {
      return Error{"xml.too_deep", "line " + std::to_string(xml_line(node)) + ": element <" +
                                       std::string(xml_local_name(node)) +
                                       "> is nested deeper than " +
                                       std::to_string(limits.max_depth) + " levels"};
    }
    for (xmlNode* c = node->children; c; c = c->next) stack.push_back({c, depth + 1});
  }
  return doc;
}

std::pair<long, std::string> error_line(const Error& error) {
  const std::string& msg = error.message;
  if (msg.rfind("line ", 0) == 0) {
    if (auto colon = msg.find(": "); colon != std::string::npos) {
      return {std::atol(msg.c_str() + 5), msg.substr(colon + 2)};
    }
  }
  return {0, msg};
}

std::string serialize_xml(xmlDoc* doc, bool indent) {
  xmlChar* mem = nullptr;
  int size = 0;
  xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", indent ? 1 : 0);
  std::string out(reinterpret_cast<const char*>(mem), static_cast<std::size_t>(size));
  xmlFree(mem);
  return out;
}

std::string xml_text(const xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  if (!content) return {};
  std::string out(reinterpret_cast<const char*>(content));
  xmlFree(content);
  return out;
}

bool xml_attribute(const xmlNode* node, const char* name, std::string& out) {
  xmlChar* v = xmlGetNoNsProp(node, to_xml(name));
  if (!v) return false;
  out.assign(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return true;
}

xmlNode* xml_first_element(xmlNode* parent) {
  for (xmlNode* c = parent ? parent->children : nullptr; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) return c;
  }
  return nullptr;
}

xmlNode* xml_next_element(xmlNode* node) {
  for (xmlNode* c = node ? node->next : nullptr; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) return c;
  }
  return nullptr;
}

}  // namespace lienthong
