#pragma once

#include <libxml/tree.h>

#include <cstddef>
#include <functional>
#include <string_view>

namespace lienthong {

enum class C14nOutcome { written, unsupported, sink_failed };

// The canonical form (Canonical XML 1.0 or Exclusive XML Canonicalization 1.0 without an
// InclusiveNamespaces list, both without comments) of a whole parsed document, written in pieces
// to `sink`, which answers false to stop. libxml2's xmlC14NExecute asks a callback about every
// node and escapes text a character at a time; this writes the same bytes in one walk, which is
// what verifying an enveloped signature (Reference URI="") needs. `unsupported` (nothing written)
// for what it leaves to libxml2: entity references, XInclude nodes, DTD nodes, a carriage return
// in a processing instruction, a namespace name with a character that needs escaping.
//
// When `mark` is an element of the document, `mark_start` and `mark_end` receive the offsets in
// the output where its canonical form starts and ends.
[[nodiscard]] C14nOutcome canonicalize_document(xmlDoc* doc, bool exclusive,
                                                const std::function<bool(std::string_view)>& sink,
                                                const xmlNode* mark = nullptr,
                                                std::size_t* mark_start = nullptr,
                                                std::size_t* mark_end = nullptr);

// The exclusive canonical form (Exclusive XML Canonicalization 1.0 without an InclusiveNamespaces
// list, without comments) of `element` and its descendants: what a Reference to the element's Id
// and a SignedInfo under exclusive c14n need. Exclusive c14n takes nothing from the ancestors
// (neither their namespaces unless used, nor their xml: attributes), so the form depends on the
// subtree alone. `unsupported` as above.
[[nodiscard]] C14nOutcome canonicalize_element(const xmlNode* element,
                                               const std::function<bool(std::string_view)>& sink);

}  // namespace lienthong
