#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/expected.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX
struct evp_md_st;      // OpenSSL's EVP_MD

namespace lienthong {

std::string base64_encode(std::string_view bytes);
// Accepts standard base64 with or without line breaks and white space; anything else is an error.
Expected<std::string> base64_decode(std::string_view text);

// base64_decode over text that arrives in pieces (a large attachment, a piece at a time).
class Base64Decoder {
 public:
  // Appends the bytes decoded so far to `out`; on an error `out` is left as it was.
  [[nodiscard]] Expected<void> feed(std::string_view text, std::string& out);
  // Whether the text fed so far ends where base64 may end.
  [[nodiscard]] Expected<void> finish() const;

 private:
  std::uint32_t acc_ = 0;
  int bits_ = 0;
  int pad_ = 0;
  std::size_t symbols_ = 0;
  std::uint64_t offset_ = 0;
};

std::string to_hex(std::string_view bytes);
// Upper or lower case; error hex.malformed.
Expected<std::string> from_hex(std::string_view hex);
// The text as a JSON string literal, quotes included (control characters escaped, UTF-8 kept).
std::string json_quote(std::string_view text);
// The value of a run of ASCII digits (a date's or a time's fields); false when the text is empty
// or holds anything else. Nine digits at most.
bool parse_digits(std::string_view text, int& out);
// The digests, fetched from OpenSSL's provider once for the process: EVP_sha256() and the like
// make OpenSSL 3 look the algorithm up again on every use.
const evp_md_st* md_sha1();
const evp_md_st* md_sha256();
const evp_md_st* md_sha384();
const evp_md_st* md_sha512();
// Raw 32-byte SHA-256 digest.
std::string sha256(std::string_view bytes);
inline std::string sha256_hex(std::string_view bytes) {
  return to_hex(sha256(bytes));
}

// SHA-256 over bytes that arrive in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string hex();  // once, at the end

 private:
  ::evp_md_ctx_st* ctx_;
};

}  // namespace lienthong
