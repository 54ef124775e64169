#pragma once

// Merkle hash trees as RFC 9162 (Certificate Transparency 2.0), section 2.1, defines them over a
// list of entries: a leaf is SHA-256(0x00 || entry), an interior node SHA-256(0x01 || left ||
// right), a tree of n > 1 leaves splits at the largest power of two below n. The functions here
// build a tree's root, inclusion proofs and consistency proofs from the leaf hashes, and verify
// proofs with nothing but the proof, the sizes and the roots (what an auditor holds).

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"

namespace lienthong {

using MerkleHash = std::array<unsigned char, 32>;

MerkleHash merkle_leaf_hash(std::string_view entry);
MerkleHash merkle_node_hash(const MerkleHash& left, const MerkleHash& right);
// The root of the empty tree: SHA-256 of nothing.
MerkleHash merkle_empty_root();

// MTH of the tree whose leaf hashes are `leaves`.
MerkleHash merkle_root(std::span<const MerkleHash> leaves);
// PATH(index, D[n]): the inclusion proof of leaf `index` (which must be < leaves.size()).
std::vector<MerkleHash> merkle_inclusion_proof(std::span<const MerkleHash> leaves,
                                               std::uint64_t index);
// PROOF(old_size, D[n]): that the tree of the first old_size leaves is a prefix of this one
// (old_size <= leaves.size(); empty for 0 and for the whole tree).
std::vector<MerkleHash> merkle_consistency_proof(std::span<const MerkleHash> leaves,
                                                 std::uint64_t old_size);

// RFC 9162 section 2.1.3.2. Error code merkle.bad_inclusion, with what does not hold.
[[nodiscard]] Expected<void> merkle_verify_inclusion(std::uint64_t index, std::uint64_t size,
                                                     const MerkleHash& leaf,
                                                     std::span<const MerkleHash> proof,
                                                     const MerkleHash& root);
// RFC 9162 section 2.1.4.2. Error code merkle.bad_consistency.
[[nodiscard]] Expected<void> merkle_verify_consistency(std::uint64_t old_size,
                                                       std::uint64_t new_size,
                                                       std::span<const MerkleHash> proof,
                                                       const MerkleHash& old_root,
                                                       const MerkleHash& new_root);

// The same for a tree too large to hold: the root of the subtree of `count` leaves from `start`
// comes from `subtree_root`, which is only asked for subtrees of RFC 9162's decomposition (`start`
// is a multiple of the power of two at or above `count`), so a store of the perfect subtrees
// answers most of them without reading leaves. Its errors are returned as they are.
using MerkleSubtreeRoot =
    std::function<Expected<MerkleHash>(std::uint64_t start, std::uint64_t count)>;
[[nodiscard]] Expected<MerkleHash> merkle_root(std::uint64_t size,
                                               const MerkleSubtreeRoot& subtree_root);
[[nodiscard]] Expected<std::vector<MerkleHash>> merkle_inclusion_proof(
    std::uint64_t size, std::uint64_t index, const MerkleSubtreeRoot& subtree_root);
[[nodiscard]] Expected<std::vector<MerkleHash>> merkle_consistency_proof(
    std::uint64_t size, std::uint64_t old_size, const MerkleSubtreeRoot& subtree_root);

// A range proof: that the leaves [begin, end) are, in order, leaves of the tree of `size`. It is
// the roots of the subtrees of the decomposition that lie wholly outside the range, left to right
// (at most two per level); with the range's leaves they rebuild the root. One proof for a run of
// consecutive audit events instead of one inclusion proof each.
[[nodiscard]] Expected<std::vector<MerkleHash>> merkle_range_proof(
    std::uint64_t size, std::uint64_t begin, std::uint64_t end,
    const MerkleSubtreeRoot& subtree_root);
// Error code merkle.bad_range.
[[nodiscard]] Expected<void> merkle_verify_range(std::uint64_t size, std::uint64_t begin,
                                                 std::span<const MerkleHash> leaves,
                                                 std::span<const MerkleHash> proof,
                                                 const MerkleHash& root);

// The root of a tree that only grows, kept as it grows: the roots of the perfect subtrees along
// its right edge (at most 64), so appending is O(log n) and no leaf need be kept.
class MerkleFrontier {
 public:
  void append(const MerkleHash& leaf);
  std::uint64_t size() const { return size_; }
  MerkleHash root() const;

 private:
  std::uint64_t size_ = 0;
  std::vector<MerkleHash> subtrees_;  // largest (leftmost) first
};

std::string merkle_hex(const MerkleHash& hash);

}  // namespace lienthong
