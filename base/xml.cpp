#include "base/xml.hpp"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
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

std::string trim_message(const char* msg) {
  std::string m = msg ? msg : "unknown parse error";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

enum class Prolog { clean, doctype, unfinished };

// A DOCTYPE can only stand in the prolog, so scanning the prolog (declaration, comments, PIs,
// white space) up to the first element is enough to refuse every DTD before parsing.
Prolog scan_prolog(std::string_view s) {
  std::size_t i = 0;
  if (starts_with_at(s, 0, "\xEF\xBB\xBF")) i = 3;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (starts_with_at(s, i, "<?")) {
      auto end = s.find("?>", i + 2);
      if (end == std::string_view::npos) return Prolog::unfinished;
      i = end + 2;
    } else if (starts_with_at(s, i, "<!--")) {
      auto end = s.find("-->", i + 4);
      if (end == std::string_view::npos) return Prolog::unfinished;
      i = end + 3;
    } else if (s.size() - i < 2) {
      return Prolog::unfinished;
    } else {
      // <!DOCTYPE, or any other declaration
      return starts_with_at(s, i, "<!") ? Prolog::doctype : Prolog::clean;
    }
  }
  return Prolog::unfinished;
}

Error doctype_forbidden() {
  return Error{"xml.doctype_forbidden",
               "document declares a DOCTYPE; DTDs and entities are not accepted"};
}

// Long text (an attachment) is kept in text nodes of this many bytes. libxml2 grows one text
// node by doubling, which leaves up to half of it unused and, under tcmalloc, copies it each time;
// canonicalisation and serialisation also copy a text node whole. In fixed pieces a 100 MB
// attachment takes 100 MB, and is never copied whole.
constexpr int kTextPiece = 1 << 20;

// The SAX `characters` event: libxml2's own, except that where libxml2 would grow a long text
// node again, a new text node with room for kTextPiece bytes is started instead. nodelen and
// nodemem are libxml2's record of the text node it appends to (used, allocated).
void characters_in_pieces(void* context, const xmlChar* ch, int len) {
  auto* ctxt = static_cast<xmlParserCtxtPtr>(context);
  xmlNode* parent = ctxt->node;
  xmlNode* last = parent ? parent->last : nullptr;
  if (last && last->type == XML_TEXT_NODE && last->name == xmlStringText && ctxt->nodemem > 0 &&
      ctxt->nodelen >= kTextPiece / 16 && ctxt->nodelen + len >= ctxt->nodemem &&
      len < kTextPiece / 2) {
    auto* content = static_cast<xmlChar*>(xmlMalloc(kTextPiece));
    xmlNode* text = content ? xmlNewDocText(ctxt->myDoc, nullptr) : nullptr;
    if (!text) {
      xmlFree(content);
      return xmlSAX2Characters(context, ch, len);
    }
    std::memcpy(content, ch, static_cast<std::size_t>(len));
    content[len] = 0;
    text->content = content;
    // Linked by hand: xmlAddChild would merge it into the previous text node.
    text->parent = parent;
    text->prev = last;
    last->next = text;
    parent->last = text;
    ctxt->nodelen = len;
    ctxt->nodemem = kTextPiece;
    return;
  }
  xmlSAX2Characters(context, ch, len);
}

// What the SAX guards saw while parsing: the prolog pre-scan reads bytes and cannot see a
// DOCTYPE in another encoding (UTF-16, UTF-7), so the parser itself is stopped at one; and a
// document is stopped as soon as it has too many elements, before the tree takes the memory.
struct ParseGuard {
  std::size_t max_elements = 0;
  std::size_t elements = 0;
  bool doctype = false;
  bool too_many = false;
};

ParseGuard& guard_of(void* context) {
  return *static_cast<ParseGuard*>(static_cast<xmlParserCtxtPtr>(context)->_private);
}

void refuse_subset(void* context, const xmlChar*, const xmlChar*, const xmlChar*) {
  guard_of(context).doctype = true;
  xmlStopParser(static_cast<xmlParserCtxtPtr>(context));
}

void refuse_entity(void* context, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
  guard_of(context).doctype = true;
  xmlStopParser(static_cast<xmlParserCtxtPtr>(context));
}

void count_element(void* context, const xmlChar* localname, const xmlChar* prefix,
                   const xmlChar* uri, int nb_namespaces, const xmlChar** namespaces,
                   int nb_attributes, int nb_defaulted, const xmlChar** attributes) {
  ParseGuard& guard = guard_of(context);
  if (++guard.elements > guard.max_elements) {
    guard.too_many = true;
    xmlStopParser(static_cast<xmlParserCtxtPtr>(context));
    return;
  }
  xmlSAX2StartElementNs(context, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                        nb_defaulted, attributes);
}

xmlParserCtxtPtr new_parser(ParseGuard& guard) {
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (!ctxt || !ctxt->sax) return ctxt;
  ctxt->_private = &guard;
  // The context's own copy of the handlers.
  ctxt->sax->characters = characters_in_pieces;
  ctxt->sax->internalSubset = refuse_subset;
  ctxt->sax->externalSubset = refuse_subset;
  ctxt->sax->entityDecl = refuse_entity;
  ctxt->sax->startElementNs = count_element;
  return ctxt;
}

Expected<XmlDoc> finish_parse(xmlParserCtxtPtr ctxt, XmlDoc doc, const XmlLimits& limits,
                              const ParseGuard& guard) {
  if (guard.doctype) {
    xmlFreeParserCtxt(ctxt);
    return doctype_forbidden();
  }
  if (guard.too_many) {
    xmlFreeParserCtxt(ctxt);
    return Error{"xml.too_many_nodes",
                 "document has more than " + std::to_string(limits.max_nodes) + " nodes"};
  }
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

// HUGE lifts libxml2's 10 MB bound on one text node (an attachment); the entity expansion it
// also unbounds cannot happen, since a DOCTYPE is refused before parsing. COMPACT keeps a short
// text (a code, a date) inside its node instead of allocating it: a 10 KB package parses in 18%
// less time. libxml2 then forbids changing such a text in place, which nothing here does.
constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOERROR |
                              XML_PARSE_COMPACT | XML_PARSE_NOWARNING | XML_PARSE_NOXINCNODE |
                              XML_PARSE_HUGE;

Error too_large(std::uint64_t size, std::size_t limit) {
  return Error{"xml.too_large", "document is " + std::to_string(size) +
                                    " bytes, over the limit of " + std::to_string(limit)};
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
  if (bytes.size() > limits.max_bytes) return too_large(bytes.size(), limits.max_bytes);
  if (bytes.empty()) return Error{"xml.malformed", "document is empty"};
  if (scan_prolog(bytes) == Prolog::doctype) return doctype_forbidden();
  ParseGuard guard{limits.max_nodes};
  xmlParserCtxtPtr ctxt = new_parser(guard);
  if (!ctxt) return Error{"xml.internal", "cannot allocate an XML parser"};
  XmlDoc doc(xmlCtxtReadMemory(ctxt, bytes.data(), static_cast<int>(bytes.size()), nullptr, nullptr,
                               kParseOptions));
  return finish_parse(ctxt, std::move(doc), limits, guard);
}

namespace {

struct SpoolReader {
  const Spool* spool;
  std::uint64_t at = 0;
};

int read_spool(void* context, char* buffer, int len) {
  auto* r = static_cast<SpoolReader*>(context);
  const long n = r->spool->read_at(r->at, buffer, static_cast<std::size_t>(len));
  if (n > 0) r->at += static_cast<std::uint64_t>(n);
  return static_cast<int>(n);
}

}  // namespace

Expected<XmlDoc> parse_xml(const Spool& spool, const XmlLimits& limits) {
  xml_init();
  if (spool.size() > limits.max_bytes) return too_large(spool.size(), limits.max_bytes);
  if (spool.size() == 0) return Error{"xml.malformed", "document is empty"};
  constexpr std::size_t kProlog = 1 << 20;
  std::string head(std::min<std::uint64_t>(spool.size(), kProlog), '\0');
  if (spool.read_at(0, head.data(), head.size()) != static_cast<long>(head.size())) {
    return Error{"xml.io", "cannot read the document"};
  }
  switch (scan_prolog(head)) {
    case Prolog::doctype:
      return doctype_forbidden();
    case Prolog::unfinished:
      if (spool.size() > head.size()) {
        return Error{"xml.malformed", "the prolog (before the first element) is longer than " +
                                          std::to_string(kProlog) + " bytes"};
      }
      break;
    case Prolog::clean:
      break;
  }
  ParseGuard guard{limits.max_nodes};
  xmlParserCtxtPtr ctxt = new_parser(guard);
  if (!ctxt) return Error{"xml.internal", "cannot allocate an XML parser"};
  SpoolReader reader{&spool};
  XmlDoc doc(xmlCtxtReadIO(ctxt, read_spool, nullptr, &reader, nullptr, nullptr, kParseOptions));
  return finish_parse(ctxt, std::move(doc), limits, guard);
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

void xml_indent(xmlDoc* doc) {
  // libxml2 indents by two spaces a level, up to 30 levels (xmlsave.c's MAX_INDENT / 2).
  auto indent = [doc](int level) {
    const std::string ws =
        "\n" + std::string(2 * static_cast<std::size_t>(std::min(level, 30)), ' ');
    return xmlNewDocText(doc, to_xml(ws.c_str()));
  };
  struct Frame {
    xmlNode* element;
    int level;
  };
  std::vector<Frame> stack;
  if (xmlNode* root = xmlDocGetRootElement(doc)) stack.push_back({root, 0});
  while (!stack.empty()) {
    auto [e, level] = stack.back();
    stack.pop_back();
    bool only_elements = e->children != nullptr;
    for (xmlNode* c = e->children; c && only_elements; c = c->next) {
      only_elements = c->type == XML_ELEMENT_NODE;
    }
    if (!only_elements) continue;
    for (xmlNode* c = e->children; c; c = c->next) {
      stack.push_back({c, level + 1});
      xmlAddPrevSibling(c, indent(level + 1));
    }
    xmlAddChild(e, indent(level));
  }
}

std::string xml_text(const xmlNode* node) {
  // An element with one text child, or none (most leaves): its text as it stands.
  if (node->type == XML_ELEMENT_NODE) {
    const xmlNode* c = node->children;
    if (!c) return {};
    if (!c->next && c->type == XML_TEXT_NODE) {
      return c->content ? std::string(reinterpret_cast<const char*>(c->content)) : std::string();
    }
  }
  xmlChar* content = xmlNodeGetContent(node);
  if (!content) return {};
  std::string out(reinterpret_cast<const char*>(content));
  xmlFree(content);
  return out;
}

bool xml_attribute(const xmlNode* node, const char* name, std::string& out) {
  // A parsed attribute's value is one text node: read in place.
  if (node->type == XML_ELEMENT_NODE) {
    for (const xmlAttr* a = node->properties; a; a = a->next) {
      if (a->ns || std::strcmp(reinterpret_cast<const char*>(a->name), name) != 0) continue;
      const xmlNode* v = a->children;
      if (!v) {
        out.clear();
        return true;
      }
      if (v->next || v->type != XML_TEXT_NODE || !v->content) break;
      out.assign(reinterpret_cast<const char*>(v->content));
      return true;
    }
  }
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
