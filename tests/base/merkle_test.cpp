#include "base/merkle.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

namespace lienthong {
namespace {

MerkleHash h(const std::string& hex) {
  MerkleHash out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

// The test tree of RFC 6962's reference implementation (also in transparency-dev/merkle): eight
// entries and the roots of its first 1 to 8 leaves.
const std::vector<std::string> kEntries = {
    "",
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
const std::vector<std::string> kRoots = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<MerkleHash> leaves(std::size_t n) {
  std::vector<MerkleHash> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(merkle_leaf_hash(kEntries[i]));
  return out;
}

std::vector<MerkleHash> hashes(std::initializer_list<const char*> hex) {
  std::vector<MerkleHash> out;
  for (const char* x : hex) out.push_back(h(x));
  return out;
}

TEST(Merkle, RootsMatchTheReferenceTree) {
  EXPECT_EQ(merkle_hex(merkle_empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(merkle_root({}), merkle_empty_root());
  MerkleFrontier frontier;
  EXPECT_EQ(frontier.root(), merkle_empty_root());
  for (std::size_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(merkle_hex(merkle_root(leaves(n))), kRoots[n - 1]) << n << " leaves";
    frontier.append(merkle_leaf_hash(kEntries[n - 1]));
    EXPECT_EQ(merkle_hex(frontier.root()), kRoots[n - 1]) << n << " leaves, kept as it grew";
  }
}

struct InclusionVector {
  std::uint64_t index, size;
  std::vector<MerkleHash> proof;
};

TEST(Merkle, InclusionProofsMatchTheReferenceAndEveryCorruptionIsRefused) {
  const std::vector<InclusionVector> vectors = {
      {0, 8,
       hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       hashes({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, hashes({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       hashes({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE("leaf " + std::to_string(v.index) + " of " + std::to_string(v.size));
    const auto tree = leaves(v.size);
    EXPECT_EQ(merkle_inclusion_proof(tree, v.index), v.proof);
    const MerkleHash root = h(kRoots[v.size - 1]);
    const MerkleHash leaf = tree[v.index];
    ASSERT_TRUE(merkle_verify_inclusion(v.index, v.size, leaf, v.proof, root));

    EXPECT_FALSE(merkle_verify_inclusion(v.index + 1, v.size, leaf, v.proof, root));
    EXPECT_FALSE(merkle_verify_inclusion(v.index ^ 2, v.size, leaf, v.proof, root));
    EXPECT_FALSE(merkle_verify_inclusion(v.index, v.size * 2, leaf, v.proof, root));
    EXPECT_FALSE(merkle_verify_inclusion(v.index, v.size + 9, leaf, v.proof, root));
    EXPECT_FALSE(merkle_verify_inclusion(v.index, v.size, merkle_leaf_hash("x"), v.proof, root));
    EXPECT_FALSE(merkle_verify_inclusion(v.index, v.size, leaf, v.proof, merkle_empty_root()));
    auto longer = v.proof;
    longer.push_back(root);
    EXPECT_FALSE(merkle_verify_inclusion(v.index, v.size, leaf, longer, root));
    auto preceded = v.proof;
    preceded.insert(preceded.begin(), root);
    EXPECT_FALSE(merkle_verify_inclusion(v.index, v.size, leaf, preceded, root));
    auto shorter = v.proof;
    shorter.pop_back();
    EXPECT_FALSE(merkle_verify_inclusion(v.index, v.size, leaf, shorter, root));
    for (std::size_t i = 0; i < v.proof.size(); ++i) {
      auto flipped = v.proof;
      flipped[i][0] ^= 8;
      auto r = merkle_verify_inclusion(v.index, v.size, leaf, flipped, root);
      ASSERT_FALSE(r) << "bit flipped in proof[" << i << "]";
      EXPECT_EQ(r.error().code, "merkle.bad_inclusion");
      EXPECT_EQ(r.error().message, "the proof leads to another root");
    }
  }
  auto outside = merkle_verify_inclusion(8, 8, leaves(1)[0], {}, h(kRoots[7]));
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().message, "leaf 8 is not in a tree of 8 leaves");
}

struct ConsistencyVector {
  std::uint64_t old_size, new_size;
  std::vector<MerkleHash> proof;
};

TEST(Merkle, ConsistencyProofsMatchTheReferenceAndEveryCorruptionIsRefused) {
  const std::vector<ConsistencyVector> vectors = {
      {1, 8,
       hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       hashes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       hashes({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       hashes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(std::to_string(v.old_size) + " to " + std::to_string(v.new_size));
    EXPECT_EQ(merkle_consistency_proof(leaves(v.new_size), v.old_size), v.proof);
    const MerkleHash old_root = h(kRoots[v.old_size - 1]);
    const MerkleHash new_root = h(kRoots[v.new_size - 1]);
    ASSERT_TRUE(merkle_verify_consistency(v.old_size, v.new_size, v.proof, old_root, new_root));

    EXPECT_FALSE(
        merkle_verify_consistency(v.old_size + 1, v.new_size, v.proof, old_root, new_root));
    EXPECT_FALSE(
        merkle_verify_consistency(v.old_size - 1, v.new_size, v.proof, old_root, new_root));
    EXPECT_FALSE(
        merkle_verify_consistency(v.old_size, v.new_size * 2, v.proof, old_root, new_root));
    EXPECT_FALSE(merkle_verify_consistency(v.old_size, v.new_size, v.proof, new_root, old_root));
    EXPECT_FALSE(merkle_verify_consistency(v.old_size, v.new_size, {}, old_root, new_root));
    auto longer = v.proof;
    longer.push_back(new_root);
    EXPECT_FALSE(merkle_verify_consistency(v.old_size, v.new_size, longer, old_root, new_root));
    auto shorter = v.proof;
    shorter.pop_back();
    EXPECT_FALSE(merkle_verify_consistency(v.old_size, v.new_size, shorter, old_root, new_root));
    for (std::size_t i = 0; i < v.proof.size(); ++i) {
      auto flipped = v.proof;
      flipped[i][0] ^= 16;
      auto r = merkle_verify_consistency(v.old_size, v.new_size, flipped, old_root, new_root);
      ASSERT_FALSE(r) << "bit flipped in proof[" << i << "]";
      EXPECT_EQ(r.error().code, "merkle.bad_consistency");
    }
  }
  const MerkleHash a = h(kRoots[0]), b = h(kRoots[1]);
  EXPECT_TRUE(merkle_verify_consistency(0, 5, {}, a, b));  // the empty tree extends to anything
  EXPECT_TRUE(merkle_verify_consistency(3, 3, {}, a, a));
  EXPECT_FALSE(merkle_verify_consistency(3, 3, {}, a, b));
  auto backwards = merkle_verify_consistency(4, 3, {}, a, b);
  ASSERT_FALSE(backwards);
  EXPECT_EQ(backwards.error().message, "the tree of 3 leaves cannot extend one of 4");
}

// Every proof of every tree up to 40 leaves verifies against roots computed independently: the
// recursive definition, and the frontier kept as the tree grew.
TEST(Merkle, EveryProofOfSmallTreesVerifies) {
  std::vector<MerkleHash> tree;
  std::vector<MerkleHash> roots{merkle_empty_root()};
  MerkleFrontier frontier;
  for (int i = 0; i < 40; ++i) {
    tree.push_back(merkle_leaf_hash("audit event " + std::to_string(i)));
    frontier.append(tree.back());
    ASSERT_EQ(frontier.root(), merkle_root(tree));
    roots.push_back(frontier.root());
  }
  for (std::uint64_t n = 1; n <= tree.size(); ++n) {
    const std::span<const MerkleHash> d(tree.data(), n);
    for (std::uint64_t m = 0; m < n; ++m) {
      auto proof = merkle_inclusion_proof(d, m);
      ASSERT_TRUE(merkle_verify_inclusion(m, n, tree[m], proof, roots[n])) << m << " in " << n;
    }
    for (std::uint64_t m = 0; m <= n; ++m) {
      auto proof = merkle_consistency_proof(d, m);
      ASSERT_TRUE(merkle_verify_consistency(m, n, proof, roots[m], roots[n])) << m << " to " << n;
      if (m > 0 && m < n) {
        ASSERT_FALSE(merkle_verify_consistency(m, n, proof, roots[m - 1], roots[n]));
      }
    }
  }
}

// A range proof rebuilds the root from consecutive leaves, for every range of every tree up to
// 24 leaves (roots from the frontier, computed without the decomposition); anything else is
// refused: another leaf, the range shifted, a proof cut short, lengthened or out of order.
TEST(Merkle, RangeProofsRebuildTheRootAndRefuseEveryChange) {
  std::vector<MerkleHash> tree;
  MerkleFrontier frontier;
  for (int i = 0; i < 24; ++i) {
    tree.push_back(merkle_leaf_hash("event " + std::to_string(i)));
    frontier.append(tree.back());
    const std::uint64_t n = tree.size();
    const MerkleHash root = frontier.root();
    const std::span<const MerkleHash> d(tree);
    const MerkleSubtreeRoot from_leaves = [&](std::uint64_t start, std::uint64_t count) {
      return Expected<MerkleHash>(merkle_root(d.subspan(start, count)));
    };
    for (std::uint64_t begin = 0; begin < n; ++begin) {
      for (std::uint64_t end = begin + 1; end <= n; ++end) {
        auto proof = merkle_range_proof(n, begin, end, from_leaves);
        ASSERT_TRUE(proof);
        EXPECT_LE(proof->size(), 2u * std::bit_width(n));
        const auto range = d.subspan(begin, end - begin);
        ASSERT_TRUE(merkle_verify_range(n, begin, range, *proof, root)) << begin << ".." << end;
        if (begin + 1 < end) {
          std::vector<MerkleHash> swapped(range.begin(), range.end());
          std::swap(swapped.front(), swapped.back());
          EXPECT_FALSE(merkle_verify_range(n, begin, swapped, *proof, root));
        }
        std::vector<MerkleHash> changed(range.begin(), range.end());
        changed.back()[0] ^= 1;
        EXPECT_FALSE(merkle_verify_range(n, begin, changed, *proof, root));
        if (end < n) {
          EXPECT_FALSE(merkle_verify_range(n, begin + 1, range, *proof, root));
        }
        if (!proof->empty()) {
          auto shorter = *proof;
          shorter.pop_back();
          EXPECT_FALSE(merkle_verify_range(n, begin, range, shorter, root));
        }
        auto longer = *proof;
        longer.push_back(root);
        EXPECT_FALSE(merkle_verify_range(n, begin, range, longer, root));
        if (proof->size() > 1 && proof->front() != proof->back()) {
          auto reordered = *proof;
          std::swap(reordered.front(), reordered.back());
          EXPECT_FALSE(merkle_verify_range(n, begin, range, reordered, root));
        }
      }
    }
  }
  auto none = merkle_verify_range(4, 3, std::span<const MerkleHash>(tree).first(2), {}, tree[0]);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, "merkle.bad_range");
  // A begin so large that begin + leaves wraps around is not a range either (the root as its
  // whole proof would otherwise rebuild the root).
  const MerkleHash root = merkle_root(tree);
  EXPECT_FALSE(merkle_verify_range(tree.size(), ~std::uint64_t{0},
                                   std::span<const MerkleHash>(tree).first(3), {&root, 1}, root));
}

// Proofs from a source of subtree roots ask only for subtrees of the decomposition, and pass the
// source's error on.
TEST(Merkle, ProofsFromASourceOfSubtreesAskForAlignedSubtreesAndPassErrorsOn) {
  std::vector<MerkleHash> tree;
  for (int i = 0; i < 1000; ++i) tree.push_back(merkle_leaf_hash(std::to_string(i)));
  const std::span<const MerkleHash> d(tree);
  int asked = 0;
  const MerkleSubtreeRoot aligned = [&](std::uint64_t start, std::uint64_t count) {
    ++asked;
    EXPECT_EQ(start % std::bit_ceil(count), 0u) << start << "+" << count;
    return Expected<MerkleHash>(merkle_root(d.subspan(start, count)));
  };
  auto root = merkle_root(1000, aligned);
  ASSERT_TRUE(root);
  EXPECT_EQ(*root, merkle_root(d));
  auto inclusion = merkle_inclusion_proof(1000, 777, aligned);
  ASSERT_TRUE(inclusion);
  EXPECT_EQ(*inclusion, merkle_inclusion_proof(d, 777));
  auto consistency = merkle_consistency_proof(1000, 333, aligned);
  ASSERT_TRUE(consistency);
  EXPECT_EQ(*consistency, merkle_consistency_proof(d, 333));
  EXPECT_GT(asked, 10);

  const MerkleSubtreeRoot failing = [](std::uint64_t, std::uint64_t) -> Expected<MerkleHash> {
    return Error{"store.io", "disk gone"};
  };
  for (auto r : {merkle_inclusion_proof(8, 3, failing), merkle_consistency_proof(8, 3, failing),
                 merkle_range_proof(8, 2, 5, failing)}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "store.io");
  }
  EXPECT_FALSE(merkle_root(8, failing));
}

}  // namespace
}  // namespace lienthong
