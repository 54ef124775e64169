#pragma once

#include <string_view>

namespace lienthong {

// workflows/workflow.xsd, embedded at build time.
std::string_view workflow_xsd();

}  // namespace lienthong
