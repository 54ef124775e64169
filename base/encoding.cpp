#include "base/encoding.hpp"

#include <openssl/evp.h>

#include <array>

namespace lienthong {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
  std::array<std::int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (int i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return r;
}
constexpr auto kReverse = make_reverse();

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                      (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest) {
    std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
    if (rest == 2) v |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Expected<void> Base64Decoder::feed(std::string_view text, std::string& out) {
  const std::size_t base = out.size();
  out.resize(base + text.size() / 4 * 3 + 3);
  char* o = out.data() + base;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  auto fail = [&](std::string message) -> Expected<void> {
    out.resize(base);
    return Error{"base64.invalid", std::move(message)};
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    // Fast path: four plain symbols on a group boundary become three bytes at once.
    if (bits_ == 0 && pad_ == 0 && i + 4 <= text.size()) {
      const std::int8_t a = kReverse[in[i]], b = kReverse[in[i + 1]], c = kReverse[in[i + 2]],
                        d = kReverse[in[i + 3]];
      if ((a | b | c | d) >= 0) {
        const std::uint32_t g = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) |
                                (std::uint32_t(c) << 6) | std::uint32_t(d);
        *o++ = static_cast<char>(g >> 16);
        *o++ = static_cast<char>((g >> 8) & 0xFF);
        *o++ = static_cast<char>(g & 0xFF);
        symbols_ += 4;
        i += 3;
        continue;
      }
    }
    unsigned char c = in[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++pad_;
      ++symbols_;
      if (pad_ > 2) return fail("too much '=' padding");
      continue;
    }
    if (pad_) return fail("data after '=' padding at offset " + std::to_string(offset_ + i));
    std::int8_t v = kReverse[c];
    if (v < 0) {
      return fail("character '" + std::string(1, char(c)) + "' at offset " +
                  std::to_string(offset_ + i) + " is not base64");
    }
    ++symbols_;
    acc_ = (acc_ << 6) | std::uint32_t(v);
    bits_ += 6;
    if (bits_ >= 8) {
      bits_ -= 8;
      *o++ = static_cast<char>((acc_ >> bits_) & 0xFF);
    }
  }
  out.resize(static_cast<std::size_t>(o - out.data()));
  offset_ += text.size();
  return {};
}

Expected<void> Base64Decoder::finish() const {
  if (symbols_ % 4 != 0 && pad_ == 0 && symbols_ % 4 == 1) {
    return Error{"base64.invalid", "truncated base64 data"};
  }
  if (pad_ && symbols_ % 4 != 0) return Error{"base64.invalid", "misplaced '=' padding"};
  return {};
}

Expected<std::string> base64_decode(std::string_view text) {
  Base64Decoder decoder;
  std::string out;
  if (auto r = decoder.feed(text, out); !r) return r.error();
  if (auto r = decoder.finish(); !r) return r.error();
  return out;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_, md_sha256(), nullptr);
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
}

void Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
}

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, md, &n);
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), n));
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Expected<std::string> from_hex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return Error{"hex.malformed", "an odd number of hex digits"};
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return Error{"hex.malformed", "'" + std::string(hex.substr(i, 2)) + "' is not hex"};
    }
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool parse_digits(std::string_view text, int& out) {
  if (text.empty() || text.size() > 9) return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  std::size_t run = 0;  // start of the characters copied as they are
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text, run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static constexpr char kDigits[] = "0123456789abcdef";
        out += "\\u00";
        out += kDigits[c >> 4];
        out += kDigits[c & 15];
      }
    }
  }
  out.append(text, run, text.size() - run);
  out += '"';
  return out;
}

namespace {

const EVP_MD* fetched(const char* name, const EVP_MD* (*legacy)()) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  return md ? md : legacy();
}

}  // namespace

const EVP_MD* md_sha1() {
  static const EVP_MD* md = fetched("SHA1", EVP_sha1);
  return md;
}
const EVP_MD* md_sha256() {
  static const EVP_MD* md = fetched("SHA2-256", EVP_sha256);
  return md;
}
const EVP_MD* md_sha384() {
  static const EVP_MD* md = fetched("SHA2-384", EVP_sha384);
  return md;
}
const EVP_MD* md_sha512() {
  static const EVP_MD* md = fetched("SHA2-512", EVP_sha512);
  return md;
}

std::string sha256(std::string_view bytes) {
  std::string out(32, '\0');
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
             md_sha256(), nullptr);
  return out;
}

}  // namespace lienthong
