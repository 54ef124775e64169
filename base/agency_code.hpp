#pragma once

#include <string_view>

#include "base/expected.hpp"

namespace lienthong {

// Agency code (mã định danh, QĐ 20/2020/QĐ-TTg): dot-separated groups of 0-9 and A-Z, at most 35
// characters, e.g. 000.00.00.G22.
Expected<void> validate_agency_code(std::string_view code);

}  // namespace lienthong
