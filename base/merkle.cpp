#include "base/merkle.hpp"

#include <openssl/evp.h>

#include <bit>
#include <optional>

#include "base/encoding.hpp"

namespace lienthong {
namespace {

MerkleHash sha256_of(unsigned char prefix, std::string_view a, std::string_view b = {}) {
  MerkleHash out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx, md_sha256(), nullptr);
  EVP_DigestUpdate(ctx, &prefix, 1);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
  return out;
}

std::string_view view(const MerkleHash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

// The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree.
std::uint64_t split(std::uint64_t n) {
  return std::bit_floor(n - 1);
}

// PATH(m, D[start:start+n]) of RFC 9162 section 2.1.3.1, with subtree roots from `root_of`.
Expected<void> path(std::uint64_t start, std::uint64_t n, std::uint64_t m,
                    const MerkleSubtreeRoot& root_of, std::vector<MerkleHash>& out) {
  if (n <= 1) return {};
  const std::uint64_t k = split(n);
  const bool left = m < k;
  if (auto r = left ? path(start, k, m, root_of, out) : path(start + k, n - k, m - k, root_of, out);
      !r) {
    return r;
  }
  auto sibling = left ? root_of(start + k, n - k) : root_of(start, k);
  if (!sibling) return sibling.error();
  out.push_back(*sibling);
  return {};
}

// SUBPROOF(m, D[start:start+n], whole) of RFC 9162 section 2.1.4.1.
Expected<void> subproof(std::uint64_t start, std::uint64_t n, std::uint64_t m, bool whole,
                        const MerkleSubtreeRoot& root_of, std::vector<MerkleHash>& out) {
  if (m == n) {
    if (whole) return {};
    auto root = root_of(start, n);
    if (!root) return root.error();
    out.push_back(*root);
    return {};
  }
  const std::uint64_t k = split(n);
  const bool left = m <= k;
  if (auto r = left ? subproof(start, k, m, whole, root_of, out)
                    : subproof(start + k, n - k, m - k, false, root_of, out);
      !r) {
    return r;
  }
  auto sibling = left ? root_of(start + k, n - k) : root_of(start, k);
  if (!sibling) return sibling.error();
  out.push_back(*sibling);
  return {};
}

Expected<void> range(std::uint64_t start, std::uint64_t n, std::uint64_t begin, std::uint64_t end,
                     const MerkleSubtreeRoot& root_of, std::vector<MerkleHash>& out) {
  if (start + n <= begin || start >= end) {
    auto root = root_of(start, n);
    if (!root) return root.error();
    out.push_back(*root);
    return {};
  }
  if (begin <= start && start + n <= end) return {};
  const std::uint64_t k = split(n);
  if (auto r = range(start, k, begin, end, root_of, out); !r) return r;
  return range(start + k, n - k, begin, end, root_of, out);
}

// The subtree roots of an in-memory list of leaves.
MerkleSubtreeRoot roots_of(std::span<const MerkleHash> leaves) {
  return [leaves](std::uint64_t start, std::uint64_t count) -> Expected<MerkleHash> {
    return merkle_root(leaves.subspan(start, count));
  };
}

// Right-shifts fn and sn until fn's lowest bit is set or fn is 0.
void shift_to_set_bit(std::uint64_t& fn, std::uint64_t& sn) {
  while (fn != 0 && (fn & 1) == 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

Error bad_inclusion(std::string why) {
  return Error{"merkle.bad_inclusion", std::move(why)};
}

Error bad_consistency(std::string why) {
  return Error{"merkle.bad_consistency", std::move(why)};
}

}  // namespace

MerkleHash merkle_leaf_hash(std::string_view entry) {
  return sha256_of(0x00, entry);
}

MerkleHash merkle_node_hash(const MerkleHash& left, const MerkleHash& right) {
  return sha256_of(0x01, view(left), view(right));
}

MerkleHash merkle_empty_root() {
  MerkleHash out{};
  unsigned int len = 0;
  EVP_Digest("", 0, out.data(), &len, md_sha256(), nullptr);
  return out;
}

MerkleHash merkle_root(std::span<const MerkleHash> leaves) {
  if (leaves.empty()) return merkle_empty_root();
  if (leaves.size() == 1) return leaves[0];
  const std::uint64_t k = split(leaves.size());
  return merkle_node_hash(merkle_root(leaves.first(k)), merkle_root(leaves.subspan(k)));
}

std::vector<MerkleHash> merkle_inclusion_proof(std::span<const MerkleHash> leaves,
                                               std::uint64_t index) {
  return *merkle_inclusion_proof(leaves.size(), index, roots_of(leaves));
}

std::vector<MerkleHash> merkle_consistency_proof(std::span<const MerkleHash> leaves,
                                                 std::uint64_t old_size) {
  return *merkle_consistency_proof(leaves.size(), old_size, roots_of(leaves));
}

Expected<MerkleHash> merkle_root(std::uint64_t size, const MerkleSubtreeRoot& subtree_root) {
  if (size == 0) return merkle_empty_root();
  return subtree_root(0, size);
}

Expected<std::vector<MerkleHash>> merkle_inclusion_proof(std::uint64_t size, std::uint64_t index,
                                                         const MerkleSubtreeRoot& subtree_root) {
  std::vector<MerkleHash> out;
  if (index < size) {
    if (auto r = path(0, size, index, subtree_root, out); !r) return r.error();
  }
  return out;
}

Expected<std::vector<MerkleHash>> merkle_consistency_proof(std::uint64_t size,
                                                           std::uint64_t old_size,
                                                           const MerkleSubtreeRoot& subtree_root) {
  std::vector<MerkleHash> out;
  if (old_size > 0 && old_size < size) {
    if (auto r = subproof(0, size, old_size, true, subtree_root, out); !r) return r.error();
  }
  return out;
}

Expected<std::vector<MerkleHash>> merkle_range_proof(std::uint64_t size, std::uint64_t begin,
                                                     std::uint64_t end,
                                                     const MerkleSubtreeRoot& subtree_root) {
  std::vector<MerkleHash> out;
  if (begin < end && end <= size) {
    if (auto r = range(0, size, begin, end, subtree_root, out); !r) return r.error();
  }
  return out;
}

Expected<void> merkle_verify_range(std::uint64_t size, std::uint64_t begin,
                                   std::span<const MerkleHash> leaves,
                                   std::span<const MerkleHash> proof, const MerkleHash& root) {
  if (leaves.empty() || begin > size || leaves.size() > size - begin) {
    return Error{"merkle.bad_range", std::to_string(leaves.size()) + " leaves from leaf " +
                                         std::to_string(begin) + " are not a range of a tree of " +
                                         std::to_string(size) + " leaves"};
  }
  const std::uint64_t end = begin + leaves.size();
  std::size_t next = 0;
  // Rebuilds the root of D[start:start+n] from the range's leaves and the proof, in order.
  std::function<std::optional<MerkleHash>(std::uint64_t, std::uint64_t)> rebuild =
      [&](std::uint64_t start, std::uint64_t n) -> std::optional<MerkleHash> {
    if (start + n <= begin || start >= end) {
      if (next == proof.size()) return std::nullopt;
      return proof[next++];
    }
    if (begin <= start && start + n <= end) return merkle_root(leaves.subspan(start - begin, n));
    const std::uint64_t k = split(n);
    auto left = rebuild(start, k);
    if (!left) return std::nullopt;
    auto right = rebuild(start + k, n - k);
    if (!right) return std::nullopt;
    return merkle_node_hash(*left, *right);
  };
  const auto rebuilt = rebuild(0, size);
  if (!rebuilt) return Error{"merkle.bad_range", "the proof is shorter than the tree needs"};
  if (next != proof.size())
    return Error{"merkle.bad_range", "the proof is longer than the tree needs"};
  if (*rebuilt != root)
    return Error{"merkle.bad_range", "the range and proof lead to another root"};
  return {};
}

Expected<void> merkle_verify_inclusion(std::uint64_t index, std::uint64_t size,
                                       const MerkleHash& leaf, std::span<const MerkleHash> proof,
                                       const MerkleHash& root) {
  if (index >= size) {
    return bad_inclusion("leaf " + std::to_string(index) + " is not in a tree of " +
                         std::to_string(size) + " leaves");
  }
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  MerkleHash r = leaf;
  for (const MerkleHash& p : proof) {
    if (sn == 0) return bad_inclusion("the proof is longer than the tree is deep");
    if ((fn & 1) == 1 || fn == sn) {
      r = merkle_node_hash(p, r);
      shift_to_set_bit(fn, sn);
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return bad_inclusion("the proof is shorter than the tree is deep");
  if (r != root) return bad_inclusion("the proof leads to another root");
  return {};
}

Expected<void> merkle_verify_consistency(std::uint64_t old_size, std::uint64_t new_size,
                                         std::span<const MerkleHash> proof,
                                         const MerkleHash& old_root, const MerkleHash& new_root) {
  if (old_size > new_size) {
    return bad_consistency("the tree of " + std::to_string(new_size) +
                           " leaves cannot extend one of " + std::to_string(old_size));
  }
  if (old_size == new_size) {
    if (!proof.empty()) return bad_consistency("trees of one size need no proof");
    if (old_root != new_root) return bad_consistency("two roots for one tree size");
    return {};
  }
  if (old_size == 0) {
    if (!proof.empty()) return bad_consistency("the empty tree needs no proof");
    return {};
  }
  if (proof.empty()) return bad_consistency("the proof is empty");
  std::vector<MerkleHash> path;
  // When the old tree is a perfect subtree, its root is the proof's implicit first node.
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  MerkleHash fr = path[0];
  MerkleHash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const MerkleHash& c = path[i];
    if (sn == 0) return bad_consistency("the proof is longer than the trees are deep");
    if ((fn & 1) == 1 || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      shift_to_set_bit(fn, sn);
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return bad_consistency("the proof is shorter than the trees are deep");
  if (fr != old_root) return bad_consistency("the proof does not lead to the old root");
  if (sr != new_root) return bad_consistency("the proof does not lead to the new root");
  return {};
}

void MerkleFrontier::append(const MerkleHash& leaf) {
  MerkleHash h = leaf;
  for (std::uint64_t s = size_; (s & 1) == 1; s >>= 1) {
    h = merkle_node_hash(subtrees_.back(), h);
    subtrees_.pop_back();
  }
  subtrees_.push_back(h);
  ++size_;
}

MerkleHash MerkleFrontier::root() const {
  if (subtrees_.empty()) return merkle_empty_root();
  MerkleHash h = subtrees_.back();
  for (auto it = subtrees_.rbegin() + 1; it != subtrees_.rend(); ++it) h = merkle_node_hash(*it, h);
  return h;
}

std::string merkle_hex(const MerkleHash& hash) {
  return to_hex(view(hash));
}

}  // namespace lienthong
