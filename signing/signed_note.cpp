#include "signing/signed_note.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

constexpr unsigned char kEd25519 = 0x01;
constexpr std::string_view kDash = "\xE2\x80\x94 ";  // U+2014 and a space
constexpr std::string_view kPrivatePrefix = "PRIVATE+KEY+";

Error malformed(std::string why) {
  return Error{"note.malformed", std::move(why)};
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c == '+' || c <= ' ' || c == 0x7F) return false;
  }
  return true;
}

std::string raw_public(EVP_PKEY* key) {
  std::string out(32, '\0');
  std::size_t len = out.size();
  EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  return out;
}

// A key id from its four big-endian bytes.
std::uint32_t read_id(std::string_view bytes) {
  return (std::uint32_t(std::uint8_t(bytes[0])) << 24) |
         (std::uint32_t(std::uint8_t(bytes[1])) << 16) |
         (std::uint32_t(std::uint8_t(bytes[2])) << 8) | std::uint32_t(std::uint8_t(bytes[3]));
}

std::uint32_t key_id(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input += '\n';
  input += static_cast<char>(kEd25519);
  input.append(public_key);
  return read_id(sha256(input));
}

std::string id_hex(std::uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", id);
  return buf;
}

std::string id_bytes(std::uint32_t id) {
  return {static_cast<char>(id >> 24), static_cast<char>((id >> 16) & 0xFF),
          static_cast<char>((id >> 8) & 0xFF), static_cast<char>(id & 0xFF)};
}

// name+id+base64(0x01 || raw key): the parts of a key's text form, checked.
struct KeyText {
  std::string name;
  std::uint32_t id = 0;
  std::string raw;
};

Expected<KeyText> split_key(std::string_view text, const char* what) {
  const auto first = text.find('+');
  const auto second = first == std::string_view::npos ? first : text.find('+', first + 1);
  if (second == std::string_view::npos) {  // the key's base64 may hold '+' itself
    return malformed(std::string(what) + " is not name+id+key");
  }
  KeyText k;
  k.name = std::string(text.substr(0, first));
  const std::string_view hex = text.substr(first + 1, second - first - 1);
  if (!valid_name(k.name)) return malformed(std::string(what) + " has an invalid name");
  if (hex.size() != 8 || hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return malformed(std::string(what) + " has an invalid key id");
  }
  k.id = static_cast<std::uint32_t>(std::stoul(std::string(hex), nullptr, 16));
  auto decoded = base64_decode(text.substr(second + 1));
  if (!decoded || decoded->size() != 33 || static_cast<unsigned char>((*decoded)[0]) != kEd25519) {
    return malformed(std::string(what) + " does not hold an Ed25519 key");
  }
  k.raw = decoded->substr(1);
  return k;
}

}  // namespace

Expected<NoteSigner> generate_note_signer(std::string_view name) {
  if (!valid_name(name)) return malformed("a key name is not empty and has no '+' or space");
  EVP_PKEY* raw = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  const bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &raw) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return Error{"note.internal", "cannot make an Ed25519 key"};
  NoteSigner s;
  s.name = std::string(name);
  s.key.reset(raw);
  s.id = key_id(s.name, raw_public(raw));
  return s;
}

namespace {

// Key files end with a line break, which is not part of the key.
std::string_view without_line_end(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

Expected<NoteSigner> parse_note_signer(std::string_view skey) {
  skey = without_line_end(skey);
  if (skey.substr(0, kPrivatePrefix.size()) != kPrivatePrefix) {
    return malformed("a signer key starts with PRIVATE+KEY+");
  }
  auto k = split_key(skey.substr(kPrivatePrefix.size()), "the signer key");
  if (!k) return k.error();
  NoteSigner s;
  s.name = k->name;
  s.key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(k->raw.data()),
                                           k->raw.size()));
  if (!s.key) return malformed("the signer key does not hold an Ed25519 key");
  s.id = key_id(s.name, raw_public(s.key.get()));
  if (s.id != k->id) return malformed("the signer key's id does not match its key");
  return s;
}

Expected<NoteVerifier> parse_note_verifier(std::string_view vkey) {
  vkey = without_line_end(vkey);
  auto k = split_key(vkey, "the verifier key");
  if (!k) return k.error();
  NoteVerifier v;
  v.name = k->name;
  v.key.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(k->raw.data()),
                                          k->raw.size()));
  if (!v.key) return malformed("the verifier key does not hold an Ed25519 key");
  v.id = key_id(v.name, k->raw);
  if (v.id != k->id) return malformed("the verifier key's id does not match its key");
  return v;
}

std::string note_signer_text(const NoteSigner& signer) {
  std::string raw(32, '\0');
  std::size_t len = raw.size();
  EVP_PKEY_get_raw_private_key(signer.key.get(), reinterpret_cast<unsigned char*>(raw.data()),
                               &len);
  return std::string(kPrivatePrefix) + signer.name + "+" + id_hex(signer.id) + "+" +
         base64_encode(std::string(1, static_cast<char>(kEd25519)) + raw);
}

namespace {

// The vkey form; a private key's public half is read the same way.
std::string verifier_text(const std::string& name, std::uint32_t id, EVP_PKEY* key) {
  return name + "+" + id_hex(id) + "+" +
         base64_encode(std::string(1, static_cast<char>(kEd25519)) + raw_public(key));
}

}  // namespace

std::string note_verifier_text(const NoteSigner& signer) {
  return verifier_text(signer.name, signer.id, signer.key.get());
}

std::string note_verifier_text(const NoteVerifier& verifier) {
  return verifier_text(verifier.name, verifier.id, verifier.key.get());
}

NoteVerifier note_verifier_of(const NoteSigner& signer) {
  NoteVerifier v;
  v.name = signer.name;
  v.id = signer.id;
  const std::string pub = raw_public(signer.key.get());
  v.key.reset(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(pub.data()), pub.size()));
  return v;
}

Expected<std::string> sign_note(std::string_view text, const NoteSigner& signer) {
  if (text.empty() || text.back() != '\n' || text.find("\n\n") != std::string_view::npos) {
    return malformed("a note's text is not empty, ends in a newline and has no blank line");
  }
  unsigned char sig[64];
  std::size_t len = sizeof sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, signer.key.get()) == 1 &&
      EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Error{"note.internal", "cannot sign the note"};
  return std::string(text) + "\n" + std::string(kDash) + signer.name + " " +
         base64_encode(id_bytes(signer.id) + std::string(reinterpret_cast<char*>(sig), len)) + "\n";
}

Expected<std::string> open_note(std::string_view note, const NoteVerifier& verifier) {
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) return malformed("the note has no signature block");
  const std::string_view text = note.substr(0, split + 1);
  std::string_view lines = note.substr(split + 2);
  if (lines.empty() || lines.back() != '\n') return malformed("the signature block does not end");
  bool found = false;
  while (!lines.empty()) {
    const auto end = lines.find('\n');
    std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end + 1);
    if (line.substr(0, kDash.size()) != kDash) {
      return malformed("a signature line does not start with '\xE2\x80\x94 '");
    }
    line.remove_prefix(kDash.size());
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos) return malformed("a signature line has no signature");
    const std::string_view name = line.substr(0, space);
    auto blob = base64_decode(line.substr(space + 1));
    if (!valid_name(name) || !blob || blob->size() < 5) {
      return malformed("a signature line is not '\xE2\x80\x94 name base64'");
    }
    const std::uint32_t id = read_id(*blob);
    if (name != verifier.name || id != verifier.id) continue;
    found = true;
    const std::string_view sig = std::string_view(*blob).substr(4);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok =
        ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, verifier.key.get()) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
      return Error{"note.bad_signature",
                   "the signature of " + verifier.name + " does not verify over the note"};
    }
  }
  if (!found) {
    return Error{"note.unsigned",
                 "the note carries no signature by " + verifier.name + "+" + id_hex(verifier.id)};
  }
  return std::string(text);
}

std::string checkpoint_text(const Checkpoint& c) {
  std::string out =
      c.origin + "\n" + std::to_string(c.size) + "\n" +
      base64_encode(std::string_view(reinterpret_cast<const char*>(c.root.data()), c.root.size())) +
      "\n";
  for (const auto& e : c.extensions) out += e + "\n";
  return out;
}

Expected<Checkpoint> parse_checkpoint(std::string_view text) {
  auto bad = [](int line, const std::string& why) {
    return Error{"checkpoint.malformed", "line " + std::to_string(line) + ": " + why};
  };
  if (text.empty() || text.back() != '\n') return bad(1, "the text does not end in a newline");
  std::vector<std::string_view> lines;
  for (std::string_view rest = text; !rest.empty();) {
    const auto end = rest.find('\n');
    lines.push_back(rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  if (lines.size() < 3)
    return bad(static_cast<int>(lines.size()) + 1, "missing: origin, size, root");
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return bad(1, "the origin is empty");
  const std::string_view size = lines[1];
  if (size.empty() || size.size() > 20 ||
      size.find_first_not_of("0123456789") != std::string_view::npos ||
      (size.size() > 1 && size[0] == '0')) {
    return bad(2, "the tree size is not a decimal number");
  }
  errno = 0;
  c.size = std::strtoull(std::string(size).c_str(), nullptr, 10);
  if (errno == ERANGE) return bad(2, "the tree size is too large");
  auto root = base64_decode(lines[2]);
  if (lines[2].size() != 44 || !root || root->size() != c.root.size()) {  // padded, no spaces
    return bad(3, "the root is not the base64 of 32 bytes");
  }
  std::memcpy(c.root.data(), root->data(), c.root.size());
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return bad(static_cast<int>(i) + 1, "an empty line");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

}  // namespace lienthong
