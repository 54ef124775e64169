#pragma once

#include <libxml/xmlschemas.h>

#include <string>
#include <string_view>
#include <vector>

namespace lienthong {

struct SchemaProblem {
  long line = 0;
  std::string message;
};

// A compiled XML Schema (XSD), shared read-only by every validation; each validation has its own
// context, so several threads may validate at once.
class XmlSchema {
 public:
  // `strip_namespace` is removed from messages ("{urn:…}task" reads better as "task"). Throws
  // std::logic_error when the schema does not compile: schemas are bundled, so that is a defect.
  XmlSchema(std::string_view xsd, std::string strip_namespace);
  ~XmlSchema();
  XmlSchema(const XmlSchema&) = delete;
  XmlSchema& operator=(const XmlSchema&) = delete;

  // Every violation with its line; empty when the document is valid.
  std::vector<SchemaProblem> validate(xmlDoc* doc) const;

 private:
  xmlSchemaPtr schema_ = nullptr;
  std::string strip_;
};

}  // namespace lienthong
