// Pre-packed constants: weights an artifact stores in the blocked layout a backend's kernel
// reads them in (oneDNN's OIhw8i8o, BA8b..., chosen for the machine that compiled), so that
// loading maps them and uses the mapped bytes in place instead of reordering a plain copy.
// MLIR-free and backend-neutral: this is only the layout's description, its text form and the
// bounds check that makes a stored one safe to use; backends/cpu maps it to oneDNN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace plumb {

// A blocked layout (oneDNN's "blocking descriptor"): the element at index i (one entry per
// dim) lies at sum over d of (i[d] / B[d]) * strides[d] plus its offset inside the dense
// inner block, where B[d] is the product of the inner blocks on dim d. Every dim is padded
// up to a multiple of its B[d] (the padding is stored, as zeros).
struct PackedLayout {
  std::vector<int64_t> dims;    // the packed view's dims (a grouped conv's weights gain a
                                // leading group dim; their product is the constant's size)
  std::vector<int64_t> padded;  // dims rounded up to their blocks
  std::vector<int64_t> strides; // in elements, of each dim's block index
  // The inner blocks, outermost first: (dim, size). E.g. OIhw8i8o: {(1, 8), (0, 8)}.
  std::vector<std::pair<int, int64_t>> inner;
  // What the backend multiplied the values by before packing (a Gemm's alpha); 1 for most.
  float scale = 1.f;
  // A kernel's own transform of the constant, stored as several blocks of this layout one
  // after another (each storageElements() long); empty: the constant itself, one block.
  // Known: kWinogradF2x3 (16 blocks of O×C×1 from O×C×3×3 weights: U = G g Gᵀ per transform
  // position, backends/cpu/ConvWinograd.cpp).
  std::string transform;

  // Elements the storage spans: the largest offset plus one.
  uint64_t storageElements() const;
  bool operator==(const PackedLayout &o) const;
};

inline constexpr const char *kWinogradF2x3 = "winograd_f2x2_3x3";
// How many blocks a transform stores, and how many constant elements each stored element
// stands for (Winograd: 16 and 9); {1, 1} without a transform.
struct TransformShape {
  int64_t copies = 1, perElement = 1;
};
TransformShape transformShape(const std::string &transform);

// Text form stored in Buffer::packing, e.g.
//   "blocked dims=64,3,7,7 padded=64,8,7,7 strides=392,1,56,8 inner=1:8,0:8 scale=0x1p+0"
// (scale as a C hex float, so it round-trips exactly), plus " transform=NAME" for a transform.
std::string formatPacking(const PackedLayout &layout);

// Parses and checks a stored layout: well-formed text, 1..6 dims, positive dims whose product
// (times the transform's perElement) is `numel`, padded dims that are multiples of their blocks
// and not smaller than the dims, non-negative strides, a known transform, and a storage span
// (times the transform's copies) of at most `bytes` / `elementSize` elements (so no index
// inside the padded dims of any block reaches outside the constant). Throws plumb::Error with a
// one-line reason otherwise.
PackedLayout parsePacking(const std::string &text, int64_t numel, size_t elementSize,
                          size_t bytes);

} // namespace plumb
