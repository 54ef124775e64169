#pragma once

#include <string_view>

namespace lienthong {

// Files of config/ embedded at build time (embedded.cpp.in).
std::string_view embedded_node_xsd();        // config/node.xsd
std::string_view embedded_default_config();  // config/default.xml

}  // namespace lienthong
