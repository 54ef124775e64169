#pragma once

// Signed notes (C2SP signed-note, the format of Go's sumdb/note) with Ed25519 keys, and the
// transparency-log checkpoint they carry (C2SP tlog-checkpoint): the text that tooling already
// reads, so that an auditor can check a node's audit-log checkpoints with any of it.
//
// A note is text ending in a newline, a blank line, then one line per signature:
// "— <key name> <base64(key id (4 bytes) || Ed25519 signature)>". A key id is the first four bytes
// of SHA-256(key name || "\n" || 0x01 || public key). Keys travel as text:
//   verifier  <name>+<key id, 8 hex digits>+<base64(0x01 || public key)>
//   signer    PRIVATE+KEY+<name>+<key id>+<base64(0x01 || private key)>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"
#include "base/merkle.hpp"
#include "signing/crypto.hpp"

namespace lienthong {

struct NoteVerifier {
  std::string name;
  std::uint32_t id = 0;
  Pkey key;  // Ed25519 public key
};

struct NoteSigner {
  std::string name;
  std::uint32_t id = 0;
  Pkey key;  // Ed25519 private key
};

// A new key for `name` (a name has no '+', no white space and is not empty).
[[nodiscard]] Expected<NoteSigner> generate_note_signer(std::string_view name);
// The skey and vkey text forms; a line break at the end (as in a key file) is ignored.
[[nodiscard]] Expected<NoteSigner> parse_note_signer(std::string_view skey);
[[nodiscard]] Expected<NoteVerifier> parse_note_verifier(std::string_view vkey);
std::string note_signer_text(const NoteSigner& signer);    // the skey form
std::string note_verifier_text(const NoteSigner& signer);  // the vkey form
std::string note_verifier_text(const NoteVerifier& verifier);
NoteVerifier note_verifier_of(const NoteSigner& signer);

// The note: `text` (non-empty, ending in "\n", without a blank line) and its signature.
[[nodiscard]] Expected<std::string> sign_note(std::string_view text, const NoteSigner& signer);
// The note's text, when it carries a valid signature by `verifier`. Error codes: note.malformed,
// note.unsigned (no signature by this key), note.bad_signature.
[[nodiscard]] Expected<std::string> open_note(std::string_view note, const NoteVerifier& verifier);

// A log's tree head, as a checkpoint's text: origin, size and root on three lines, then any
// extension lines.
struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  MerkleHash root{};
  std::vector<std::string> extensions;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

std::string checkpoint_text(const Checkpoint& checkpoint);
// Error code checkpoint.malformed, naming the line.
[[nodiscard]] Expected<Checkpoint> parse_checkpoint(std::string_view text);

}  // namespace lienthong
