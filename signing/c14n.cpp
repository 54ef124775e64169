#include "signing/c14n.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lienthong {
namespace {

std::string_view sv(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

bool supported_child(const xmlNode* n) {
  switch (n->type) {
    case XML_ELEMENT_NODE:
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
    case XML_COMMENT_NODE:
      return true;
    case XML_PI_NODE:
      return sv(n->content).find('\r') == std::string_view::npos;
    default:
      return false;
  }
}

// libxml2 keeps a namespace name as written ("&#38;" for "&") and copies it out unescaped.
bool plain_namespace_name(const xmlNs* ns) {
  if (!ns || !ns->href) return true;
  for (const xmlChar* c = ns->href; *c; ++c) {
    switch (*c) {
      case '&':
      case '<':
      case '"':
      case '\t':
      case '\n':
      case '\r':
        return false;
      default:
        break;
    }
  }
  return true;
}

// Every node and attribute value under the elements on `stack` is one this writer renders as
// libxml2 does.
bool supported(std::vector<const xmlNode*> stack) {
  const xmlNs* checked = nullptr;
  while (!stack.empty()) {
    const xmlNode* e = stack.back();
    stack.pop_back();
    // A prefix undeclared (xmlns:p="", XML 1.1 only) is left to libxml2 too. A subtree's
    // elements may use namespaces declared outside it.
    for (const xmlNs* ns = e->nsDef; ns; ns = ns->next) {
      if (!plain_namespace_name(ns)) return false;
      if (ns->prefix && sv(ns->href).empty()) return false;
    }
    // Namespaces are few: each is checked once.
    auto plain = [&checked](const xmlNs* ns) {
      if (!ns || ns == checked) return true;
      checked = ns;
      return plain_namespace_name(ns);
    };
    if (!plain(e->ns)) return false;
    for (const xmlAttr* a = e->properties; a; a = a->next) {
      if (!plain(a->ns)) return false;
      for (const xmlNode* v = a->children; v; v = v->next) {
        if (v->type != XML_TEXT_NODE) return false;
      }
    }
    for (const xmlNode* c = e->children; c; c = c->next) {
      if (!supported_child(c)) return false;
      if (c->type == XML_ELEMENT_NODE) stack.push_back(c);
    }
  }
  return true;
}

bool supported(xmlDoc* doc) {
  std::vector<const xmlNode*> stack;
  for (const xmlNode* n = doc->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE && n->type != XML_COMMENT_NODE && n->type != XML_PI_NODE) {
      return false;
    }
    if (!supported_child(n)) return false;
    if (n->type == XML_ELEMENT_NODE) stack.push_back(n);
  }
  return supported(std::move(stack));
}

enum : unsigned char { kInText = 1, kInAttribute = 2 };  // where a character is escaped

constexpr std::array<unsigned char, 256> kEscapes = [] {
  std::array<unsigned char, 256> t{};
  t['&'] = kInText | kInAttribute;
  t['<'] = kInText | kInAttribute;
  t['>'] = kInText;
  t['\r'] = kInText | kInAttribute;
  t['"'] = kInAttribute;
  t['\t'] = kInAttribute;
  t['\n'] = kInAttribute;
  return t;
}();

std::string_view escape_of(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\t':
      return "&#x9;";
    case '\n':
      return "&#xA;";
    default:
      return "&#xD;";
  }
}

// The position of the first character from `i` on that `where` escapes; s.size() if none. Sixteen
// at a time where SSE2 is: an attachment is kilobytes of text with nothing to escape.
std::size_t next_escape(std::string_view s, std::size_t i, unsigned char where) {
#if defined(__SSE2__)
  const bool text = where == kInText;
  const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), cr = _mm_set1_epi8('\r');
  const __m128i gt_or_quote = _mm_set1_epi8(text ? '>' : '"');
  const __m128i tab = _mm_set1_epi8(text ? '>' : '\t'), lf = _mm_set1_epi8(text ? '>' : '\n');
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                     _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, gt_or_quote))),
        _mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, lf)));
    if (const int bits = _mm_movemask_epi8(m))
      return i + static_cast<std::size_t>(__builtin_ctz(bits));
  }
#endif
  for (; i < s.size(); ++i) {
    if (kEscapes[static_cast<unsigned char>(s[i])] & where) return i;
  }
  return s.size();
}

struct Ns {
  std::string_view prefix;  // empty for the default namespace
  std::string_view uri;     // empty for no namespace
};

struct Attribute {
  std::string_view uri;  // the sort key: namespace name, then local name
  std::string_view local;
  const xmlAttr* attr;
};

class Writer {
 public:
  Writer(bool exclusive, const std::function<bool(std::string_view)>& sink, const xmlNode* mark,
         std::size_t* mark_start, std::size_t* mark_end)
      : exclusive_(exclusive),
        sink_(sink),
        mark_(mark),
        mark_start_(mark_start),
        mark_end_(mark_end) {
    buffer_.reserve(kChunk);
  }

  bool document(xmlDoc* doc) {
    bool after_root = false;
    for (const xmlNode* n = doc->children; n && !failed_; n = n->next) {
      if (n->type == XML_ELEMENT_NODE) {
        element(n);
        after_root = true;
      } else if (n->type == XML_PI_NODE) {
        if (after_root) put("\n");
        pi(n);
        if (!after_root) put("\n");
      }
    }
    flush();
    return !failed_;
  }

  bool subtree(const xmlNode* e) {
    element(e);
    flush();
    return !failed_;
  }

 private:
  static constexpr std::size_t kChunk = 64 << 10;

  void put(std::string_view s) {
    if (s.size() >= kChunk) {
      flush();
      if (!failed_ && !sink_(s)) failed_ = true;
      written_ += s.size();
      return;
    }
    buffer_.append(s);
    if (buffer_.size() >= kChunk) flush();
  }
  void flush() {
    if (buffer_.empty()) return;
    if (!failed_ && !sink_(buffer_)) failed_ = true;
    written_ += buffer_.size();
    buffer_.clear();
  }
  std::size_t offset() const { return written_ + buffer_.size(); }

  void escaped(std::string_view s, unsigned char where) {
    std::size_t run = 0;
    for (std::size_t i; (i = next_escape(s, run, where)) < s.size(); run = i + 1) {
      put(s.substr(run, i - run));
      put(escape_of(s[i]));
    }
    put(s.substr(run));
  }

  void pi(const xmlNode* n) {
    put("<?");
    put(sv(n->name));
    if (!sv(n->content).empty()) {
      put(" ");
      put(sv(n->content));
    }
    put("?>");
  }

  // The namespace name `prefix` has in scope_, empty when none: a prefix is never bound to an
  // empty name here (supported() leaves xmlns:p="" to libxml2).
  std::string_view bound(std::string_view prefix) const {
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it) {
      if (it->prefix == prefix) return it->uri;
    }
    return {};
  }

  // The namespace declarations this element renders; they join scope_ for its descendants.
  // Inclusive: its own declarations that differ from what its parent has in scope. Exclusive:
  // the namespaces it or its attributes visibly use, unless an ancestor rendered the same.
  void namespaces(const xmlNode* e, std::vector<Ns>& out) {
    if (!exclusive_) {
      for (const xmlNs* ns = e->nsDef; ns; ns = ns->next) {
        Ns d{sv(ns->prefix), sv(ns->href)};
        if (d.prefix == "xml") continue;
        if (bound(d.prefix) != d.uri) out.push_back(d);
      }
    } else {
      auto use = [&](std::string_view prefix, std::string_view uri) {
        if (prefix == "xml") return;
        for (const Ns& d : out) {
          if (d.prefix == prefix) return;
        }
        if (bound(prefix) != uri) out.push_back({prefix, uri});
      };
      use(e->ns ? sv(e->ns->prefix) : std::string_view(), e->ns ? sv(e->ns->href) : "");
      for (const xmlAttr* a = e->properties; a; a = a->next) {
        if (a->ns) use(sv(a->ns->prefix), sv(a->ns->href));
      }
    }
    std::sort(out.begin(), out.end(), [](const Ns& a, const Ns& b) { return a.prefix < b.prefix; });
    scope_.insert(scope_.end(), out.begin(), out.end());
  }

  void qname(const xmlNs* ns, const xmlChar* name) {
    if (ns && ns->prefix) {
      put(sv(ns->prefix));
      put(":");
    }
    put(sv(name));
  }

  void element(const xmlNode* e) {
    if (e == mark_ && mark_start_) *mark_start_ = offset();
    const std::size_t scope_size = scope_.size();
    std::vector<Ns> decls;
    namespaces(e, decls);
    put("<");
    qname(e->ns, e->name);
    for (const Ns& d : decls) {
      put(d.prefix.empty() ? " xmlns" : " xmlns:");
      put(d.prefix);
      put("=\"");
      put(d.uri);
      put("\"");
    }
    std::vector<Attribute> attrs;
    for (const xmlAttr* a = e->properties; a; a = a->next) {
      attrs.push_back({a->ns ? sv(a->ns->href) : "", sv(a->name), a});
    }
    std::sort(attrs.begin(), attrs.end(), [](const Attribute& a, const Attribute& b) {
      return a.uri != b.uri ? a.uri < b.uri : a.local < b.local;
    });
    for (const Attribute& a : attrs) {
      put(" ");
      qname(a.attr->ns, a.attr->name);
      put("=\"");
      for (const xmlNode* v = a.attr->children; v; v = v->next)
        escaped(sv(v->content), kInAttribute);
      put("\"");
    }
    put(">");
    for (const xmlNode* c = e->children; c && !failed_; c = c->next) {
      switch (c->type) {
        case XML_ELEMENT_NODE:
          element(c);
          break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
          escaped(sv(c->content), kInText);
          break;
        case XML_PI_NODE:
          pi(c);
          break;
        default:  // comments
          break;
      }
    }
    put("</");
    qname(e->ns, e->name);
    put(">");
    scope_.resize(scope_size);
    if (e == mark_ && mark_end_) *mark_end_ = offset();
  }

  const bool exclusive_;
  const std::function<bool(std::string_view)>& sink_;
  const xmlNode* mark_;
  std::size_t* mark_start_;
  std::size_t* mark_end_;
  std::string buffer_;
  std::size_t written_ = 0;
  bool failed_ = false;
  std::vector<Ns> scope_;  // inclusive: in scope; exclusive: rendered by an ancestor
};

}  // namespace

C14nOutcome canonicalize_document(xmlDoc* doc, bool exclusive,
                                  const std::function<bool(std::string_view)>& sink,
                                  const xmlNode* mark, std::size_t* mark_start,
                                  std::size_t* mark_end) {
  if (!supported(doc)) return C14nOutcome::unsupported;
  Writer w(exclusive, sink, mark, mark_start, mark_end);
  return w.document(doc) ? C14nOutcome::written : C14nOutcome::sink_failed;
}

C14nOutcome canonicalize_element(const xmlNode* element,
                                 const std::function<bool(std::string_view)>& sink) {
  if (element->type != XML_ELEMENT_NODE || !supported({element})) return C14nOutcome::unsupported;
  Writer w(true, sink, nullptr, nullptr, nullptr);
  return w.subtree(element) ? C14nOutcome::written : C14nOutcome::sink_failed;
}

}  // namespace lienthong
