// Conv geometry for the cuDNN steps: a conv's begin/end pads with auto_pad and output_shape
// resolved (the part cuDNN's symmetric descriptor cannot say becomes a Pad kernel before a
// conv or a Slice kernel after a ConvTranspose), and the one-op kernel graphs of those.
#include "backends/cuda/lowering/Lowering.h"

#include <algorithm>

namespace plumb::cuda {

// The kernel graph of one movement op on a tensor of `shape` and `dtype` giving `outShape`,
// its integer operands (Pad's pads, Slice's starts/ends/axes) constants.
KernelGraph movementGraph(const std::string &op, DType dtype, const Shape &shape,
                          const Shape &outShape, const std::vector<std::vector<int64_t>> &ints,
                          const std::string &label, int64_t opset) {
  KernelGraph g;
  g.kind = op;
  g.label = label;
  g.opset = opset;
  int x = g.addValue(dtype, shape);
  KNode n{op, {}, {x}, {}, label};
  for (const std::vector<int64_t> &v : ints) {
    int c = g.addValue(DType::I64, {int64_t(v.size())});
    g.intConstants[c] = v;
    n.operands.push_back(c);
  }
  int y = g.addValue(dtype, outShape);
  n.results = {y};
  g.inputs = {x};
  g.outputs = {y};
  g.nodes.push_back(std::move(n));
  return g;
}

// A forward conv's begin and end pads, one per spatial dim each, with auto_pad resolved as
// ONNX defines it from the shapes (SAME_UPPER puts the odd one at the end); nullopt for an
// auto_pad ONNX does not define or pads of the wrong rank.
std::optional<std::vector<int64_t>> convPads(const ref::Attrs &a, const Shape &x, const Shape &w,
                                             const Shape &y) {
  size_t spatial = w.size() - 2;
  std::vector<int64_t> pads = a.getInts("pads", std::vector<int64_t>(2 * spatial, 0)),
                       st = a.getInts("strides", std::vector<int64_t>(spatial, 1)),
                       dil = a.getInts("dilations", std::vector<int64_t>(spatial, 1));
  std::string autoPad = a.getString("auto_pad", "NOTSET");
  if (pads.size() != 2 * spatial || st.size() != spatial || dil.size() != spatial ||
      x.size() != w.size() || y.size() != w.size())
    return std::nullopt;
  if (autoPad == "NOTSET")
    return pads;
  bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (!same && autoPad != "VALID")
    return std::nullopt;
  for (size_t d = 0; d < spatial; ++d) {
    int64_t total = same ? std::max<int64_t>(0, (y[d + 2] - 1) * st[d] +
                                                    (w[d + 2] - 1) * dil[d] + 1 - x[d + 2])
                         : 0;
    pads[d] = autoPad == "SAME_LOWER" ? total - total / 2 : total / 2;
    pads[d + spatial] = total - pads[d];
  }
  return pads;
}

// A ConvTranspose's begin and end pads (one per spatial dim each) as the reference resolves
// them: from the total padding (full size less the result's) when output_shape or SAME
// auto_pad decides the result (SAME_UPPER: the smaller half first), else the explicit pads
// (VALID: none). nullopt for an auto_pad ONNX does not define or attrs of the wrong rank.
std::optional<std::vector<int64_t>> transposedPads(const ref::Attrs &a, const Shape &x,
                                                   const Shape &w, const Shape &y) {
  size_t spatial = w.size() - 2;
  std::vector<int64_t> pads = a.getInts("pads", std::vector<int64_t>(2 * spatial, 0)),
                       st = a.getInts("strides", std::vector<int64_t>(spatial, 1)),
                       dil = a.getInts("dilations", std::vector<int64_t>(spatial, 1)),
                       outPad = a.getInts("output_padding", std::vector<int64_t>(spatial, 0));
  std::string autoPad = a.getString("auto_pad", "NOTSET");
  bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (pads.size() != 2 * spatial || st.size() != spatial || dil.size() != spatial ||
      outPad.size() != spatial || x.size() != w.size() || y.size() != w.size() ||
      (!same && autoPad != "NOTSET" && autoPad != "VALID"))
    return std::nullopt;
  if (!same && !a.has("output_shape"))
    return autoPad == "VALID" ? std::vector<int64_t>(2 * spatial, 0) : pads;
  for (size_t d = 0; d < spatial; ++d) {
    int64_t full = st[d] * (x[d + 2] - 1) + outPad[d] + (w[d + 2] - 1) * dil[d] + 1;
    int64_t total = full - y[d + 2], half = total >= 0 ? total / 2 : -((1 - total) / 2);
    pads[d] = autoPad == "SAME_UPPER" ? half : total - half; // half: floor(total / 2)
    pads[d + spatial] = total - pads[d];
  }
  return pads;
}

} // namespace plumb::cuda
