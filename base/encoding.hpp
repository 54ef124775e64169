#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace lienthong {

std::string base64_encode(std::string_view bytes);
// Accepts standard base64 with or without line breaks and white space; anything else is an error.
Expected<std::string> base64_decode(std::string_view text);

std::string to_hex(std::string_view bytes);
// The text as a JSON string literal, quotes included (control characters escaped, UTF-8 kept).
std::string json_quote(std::string_view text);
// Raw 32-byte SHA-256 digest.
std::string sha256(std::string_view bytes);
inline std::string sha256_hex(std::string_view bytes) {
  return to_hex(sha256(bytes));
}

}  // namespace lienthong
