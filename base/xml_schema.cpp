#include "base/xml_schema.hpp"

#include <stdexcept>

#include "base/xml.hpp"

namespace lienthong {

namespace {

struct Collector {
  std::vector<SchemaProblem>* out;
  const std::string* noise;
};

void collect(void* data, xmlErrorPtr error) {
  auto* c = static_cast<Collector*>(data);
  std::string msg = error->message ? error->message : "schema violation";
  for (auto pos = msg.find(*c->noise); !c->noise->empty() && pos != std::string::npos;
       pos = msg.find(*c->noise)) {
    msg.erase(pos, c->noise->size());
  }
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  long line = error->line;
  if (error->node) line = xml_line(static_cast<xmlNode*>(error->node));
  c->out->push_back({line, std::move(msg)});
}

}  // namespace

XmlSchema::XmlSchema(std::string_view xsd, std::string strip_namespace)
    : strip_(strip_namespace.empty() ? std::string() : "{" + strip_namespace + "}") {
  xml_init();
  xmlSchemaParserCtxtPtr pctxt =
      xmlSchemaNewMemParserCtxt(xsd.data(), static_cast<int>(xsd.size()));
  schema_ = xmlSchemaParse(pctxt);
  xmlSchemaFreeParserCtxt(pctxt);
  if (!schema_) throw std::logic_error("a bundled XML schema does not compile");
}

XmlSchema::~XmlSchema() {
  xmlSchemaFree(schema_);
}

std::vector<SchemaProblem> XmlSchema::validate(xmlDoc* doc) const {
  std::vector<SchemaProblem> problems;
  Collector collector{&problems, &strip_};
  xmlSchemaValidCtxtPtr vctxt = xmlSchemaNewValidCtxt(schema_);
  xmlSchemaSetValidStructuredErrors(vctxt, collect, &collector);
  const int rc = xmlSchemaValidateDoc(vctxt, doc);
  xmlSchemaFreeValidCtxt(vctxt);
  if (rc != 0 && problems.empty()) problems.push_back({0, "schema validation failed"});
  return problems;
}

}  // namespace lienthong
