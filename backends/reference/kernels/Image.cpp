// Reference kernels for image-shaped data movement and sampling: CenterCropPad, Col2Im,
// AffineGrid and DeformConv.
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>

namespace plumb::ref {
namespace {

// ---- CenterCropPad ----

// Each listed axis is cropped (centre window, extra element dropped at the end) or padded
// with zeros (input centred, extra zero at the end) to its target size.
Tensor centerCropPadKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  std::vector<int64_t> target = call.in(1).toInts();
  int64_t r = x.rank();
  std::vector<int64_t> axes = call.attr().getInts("axes");
  if (axes.empty())
    for (int64_t a = 0; a < r; ++a)
      axes.push_back(a);
  if (target.size() != axes.size())
    call.fail("shape has " + std::to_string(target.size()) + " values for " +
              std::to_string(axes.size()) + " axes");
  Shape outShape = x.shape();
  std::vector<int64_t> inStart(size_t(r), 0), outStart(size_t(r), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(normalizeAxis(call, axes[i], r));
    int64_t in = x.dim(int64_t(a)), out = target[i];
    if (out < 0)
      call.fail("negative target size " + std::to_string(out));
    outShape[a] = out;
    (in > out ? inStart[a] : outStart[a]) = std::abs(in - out) / 2;
  }
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  Shape copy(static_cast<size_t>(r));
  for (size_t a = 0; a < size_t(r); ++a)
    copy[a] = std::min(x.shape()[a], outShape[a]);
  if (numElements(copy) == 0)
    return y;
  std::vector<int64_t> xs = stridesOf(x.shape()), ys = stridesOf(outShape);
  dispatchBytes(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>();
    T *py = y.mutableData<T>();
    std::vector<int64_t> idx(size_t(r), 0);
    do {
      int64_t src = 0, dst = 0;
      for (size_t a = 0; a < size_t(r); ++a) {
        src += (idx[a] + inStart[a]) * xs[a];
        dst += (idx[a] + outStart[a]) * ys[a];
      }
      py[dst] = px[src];
    } while (nextIndex(idx, copy));
    return 0;
  });
  return y;
}

// ---- Col2Im ----

// Spatial attributes of Col2Im and DeformConv, one value per spatial dim.
struct Window {
  std::vector<int64_t> dilations, padsBegin, padsEnd, strides;
};

Window windowAttrs(const KernelCall &call, size_t dims) {
  Window w;
  w.dilations = call.attr().getInts("dilations", std::vector<int64_t>(dims, 1));
  w.strides = call.attr().getInts("strides", std::vector<int64_t>(dims, 1));
  std::vector<int64_t> pads = call.attr().getInts("pads", std::vector<int64_t>(2 * dims, 0));
  if (w.dilations.size() != dims || w.strides.size() != dims || pads.size() != 2 * dims)
    call.fail("dilations, strides and pads must have " + std::to_string(dims) + ", " +
              std::to_string(dims) + " and " + std::to_string(2 * dims) + " values");
  w.padsBegin.assign(pads.begin(), pads.begin() + int64_t(dims));
  w.padsEnd.assign(pads.begin() + int64_t(dims), pads.end());
  for (size_t d = 0; d < dims; ++d)
    if (w.dilations[d] < 1 || w.strides[d] < 1)
      call.fail("dilations and strides must be positive");
  return w;
}

// Number of window positions along one dim.
int64_t windowCount(int64_t size, int64_t kernel, const Window &w, size_t d) {
  int64_t span = w.dilations[d] * (kernel - 1) + 1;
  int64_t padded = size + w.padsBegin[d] + w.padsEnd[d];
  return padded < span ? 0 : (padded - span) / w.strides[d] + 1;
}

// input [N, C * prod(block), L]: column l holds the block at window position l (row-major over
// the window grid); overlapping blocks add up.
Tensor col2ImKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  std::vector<int64_t> image = call.in(1).toInts(), block = call.in(2).toInts();
  size_t dims = image.size();
  if (block.size() != dims || dims == 0)
    call.fail("image_shape and block_shape must have the same, non-zero length");
  if (x.rank() != 3)
    call.fail("input must have rank 3 [N, C*prod(block_shape), L], got " + x.describe());
  Window w = windowAttrs(call, dims);
  int64_t blockSize = numElements(block);
  if (blockSize <= 0 || x.dim(1) % blockSize != 0)
    call.fail("input dim 1 (" + std::to_string(x.dim(1)) +
              ") is not a multiple of prod(block_shape)");
  Shape grid(dims);
  for (size_t d = 0; d < dims; ++d)
    grid[d] = windowCount(image[d], block[d], w, d);
  if (numElements(grid) != x.dim(2))
    call.fail("input has " + std::to_string(x.dim(2)) + " columns, the window grid " +
              shapeToString(grid) + " needs " + std::to_string(numElements(grid)));
  int64_t n = x.dim(0), c = x.dim(1) / blockSize, cols = x.dim(2);
  Shape outShape{n, c};
  outShape.insert(outShape.end(), image.begin(), image.end());
  Tensor y = Tensor::zeros(x.dtype(), outShape);
  std::vector<int64_t> imgStrides = stridesOf(Shape(image.begin(), image.end()));
  int64_t imgSize = numElements(image);
  dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>();
    T *py = y.mutableData<T>();
    for (int64_t b = 0; b < n * c; ++b) {
      std::vector<int64_t> k(dims, 0);
      int64_t kIndex = 0;
      do {
        std::vector<int64_t> l(dims, 0);
        int64_t lIndex = 0;
        do {
          int64_t offset = 0;
          bool inside = true;
          for (size_t d = 0; d < dims && inside; ++d) {
            int64_t pos = l[d] * w.strides[d] - w.padsBegin[d] + k[d] * w.dilations[d];
            inside = pos >= 0 && pos < image[d];
            offset += pos * imgStrides[d];
          }
          if (inside)
            py[b * imgSize + offset] += px[(b * blockSize + kIndex) * cols + lIndex];
          ++lIndex;
        } while (cols > 0 && nextIndex(l, grid));
        ++kIndex;
      } while (nextIndex(k, Shape(block.begin(), block.end())));
    }
    return 0;
  });
  return y;
}

// ---- AffineGrid ----

// Normalised coordinates in [-1, 1] of `size` points: the pixel corners (align_corners) or
// the pixel centres.
std::vector<double> baseCoords(int64_t size, bool alignCorners) {
  std::vector<double> v(size_t(std::max<int64_t>(size, 0)));
  for (int64_t i = 0; i < size; ++i)
    v[size_t(i)] = alignCorners ? (size == 1 ? -1.0 : -1.0 + 2.0 * double(i) / double(size - 1))
                                : (2.0 * double(i) + 1.0) / double(size) - 1.0;
  return v;
}

// theta [N, 2, 3] with size [N, C, H, W] -> grid [N, H, W, 2] holding (x, y); theta
// [N, 3, 4] with size [N, C, D, H, W] -> [N, D, H, W, 3] holding (x, y, z).
Tensor affineGridKernel(const KernelCall &call) {
  const Tensor &theta = call.in(0);
  std::vector<int64_t> size = call.in(1).toInts();
  bool align = call.attr().getInt("align_corners", 0) != 0;
  size_t sdims = size.size() - 2; // 2 or 3 spatial dims
  if ((size.size() != 4 && size.size() != 5) || theta.rank() != 3 || theta.dim(0) != size[0] ||
      theta.dim(1) != int64_t(sdims) || theta.dim(2) != int64_t(sdims) + 1)
    call.fail("theta " + theta.describe() + " and size of " + std::to_string(size.size()) +
              " values do not describe a 2-D ([N,2,3], 4 sizes) or 3-D ([N,3,4], 5 sizes) grid");
  Shape outShape{size[0]};
  outShape.insert(outShape.end(), size.begin() + 2, size.end());
  outShape.push_back(int64_t(sdims));
  Tensor y = Tensor::zeros(theta.dtype(), outShape);
  // Coordinates per spatial dim, outermost (D or H) first; the grid lists x (innermost) first.
  std::vector<std::vector<double>> coords;
  for (size_t d = 0; d < sdims; ++d)
    coords.push_back(baseCoords(size[2 + d], align));
  Shape spatial(size.begin() + 2, size.end());
  dispatchFloat(call, theta.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *pt = theta.data<T>();
    T *py = y.mutableData<T>();
    if (numElements(spatial) == 0)
      return 0;
    for (int64_t n = 0; n < size[0]; ++n) {
      const T *m = pt + n * int64_t(sdims * (sdims + 1));
      std::vector<int64_t> idx(sdims, 0);
      do {
        double in[4] = {0, 0, 0, 1}; // (x, y[, z], 1)
        for (size_t d = 0; d < sdims; ++d)
          in[d] = coords[sdims - 1 - d][size_t(idx[sdims - 1 - d])];
        in[sdims] = 1;
        for (size_t row = 0; row < sdims; ++row) {
          double acc = 0;
          for (size_t col = 0; col <= sdims; ++col)
            acc += double(m[row * (sdims + 1) + col]) * in[col];
          *py++ = T(acc);
        }
      } while (nextIndex(idx, spatial));
    }
    return 0;
  });
  return y;
}

// ---- DeformConv ----

// Bilinear sample of a plane at (h, w) with zeros outside it (torchvision's convention,
// which ONNX's DeformConv follows).
template <typename T>
double sampleBilinear(const T *plane, int64_t H, int64_t W, double h, double w) {
  if (h <= -1 || h >= double(H) || w <= -1 || w >= double(W))
    return 0;
  int64_t h0 = int64_t(std::floor(h)), w0 = int64_t(std::floor(w));
  double lh = h - double(h0), lw = w - double(w0);
  auto at = [&](int64_t y, int64_t x) {
    return y >= 0 && y < H && x >= 0 && x < W ? double(plane[y * W + x]) : 0.0;
  };
  return (1 - lh) * (1 - lw) * at(h0, w0) + (1 - lh) * lw * at(h0, w0 + 1) +
         lh * (1 - lw) * at(h0 + 1, w0) + lh * lw * at(h0 + 1, w0 + 1);
}

// 2-D only: X [N, C, H, W], W [M, C/group, kH, kW], offset [N, offset_group*2*kH*kW, oH, oW]
// (per tap: dh, dw), optional B [M] and mask [N, offset_group*kH*kW, oH, oW].
Tensor deformConvKernel(const KernelCall &call) {
  const Tensor &x = call.in(0), &wt = call.in(1), &off = call.in(2);
  const Tensor *bias = call.input(3), *mask = call.input(4);
  if (x.rank() != 4 || wt.rank() != 4)
    call.fail("only 2-D DeformConv (X and W of rank 4) is supported, got " + x.describe());
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  int64_t M = wt.dim(0), kH = wt.dim(2), kW = wt.dim(3);
  int64_t group = call.attr().getInt("group", 1), og = call.attr().getInt("offset_group", 1);
  if (group < 1 || og < 1 || C % group || M % group || C % og || wt.dim(1) != C / group)
    call.fail("channels (X " + x.describe() + ", W " + wt.describe() + ") do not match group " +
              std::to_string(group) + " / offset_group " + std::to_string(og));
  Window w = windowAttrs(call, 2);
  int64_t oH = windowCount(H, kH, w, 0), oW = windowCount(W, kW, w, 1);
  int64_t taps = kH * kW;
  if (off.rank() != 4 || off.dim(0) != N || off.dim(1) != og * 2 * taps || off.dim(2) != oH ||
      off.dim(3) != oW)
    call.fail("offset must be [" + std::to_string(N) + ", " + std::to_string(og * 2 * taps) + ", " +
              std::to_string(oH) + ", " + std::to_string(oW) + "], got " + off.describe());
  if (mask &&
      (mask->rank() != 4 || mask->dim(1) != og * taps || mask->numel() != N * og * taps * oH * oW))
    call.fail("mask must be [N, offset_group*kH*kW, oH, oW], got " + mask->describe());
  Tensor y = Tensor::zeros(x.dtype(), {N, M, oH, oW});
  dispatchFloat(call, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *px = x.data<T>(), *pw = wt.data<T>(), *po = off.data<T>();
    const T *pm = mask ? mask->data<T>() : nullptr;
    const T *pb = bias ? bias->data<T>() : nullptr;
    T *py = y.mutableData<T>();
    int64_t cg = C / group, mg = M / group, cPerOg = C / og, plane = oH * oW;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t oh = 0; oh < oH; ++oh)
          for (int64_t ow = 0; ow < oW; ++ow) {
            T acc = pb ? pb[m] : T(0); // accumulates in the op's type, like Conv
            int64_t g = m / mg;
            for (int64_t ci = 0; ci < cg; ++ci) {
              int64_t c = g * cg + ci, o = c / cPerOg;
              const T *xplane = px + (n * C + c) * H * W;
              for (int64_t k = 0; k < taps; ++k) {
                int64_t kh = k / kW, kw = k % kW, at = oh * oW + ow;
                double dh = double(po[((n * og + o) * 2 * taps + 2 * k) * plane + at]);
                double dw = double(po[((n * og + o) * 2 * taps + 2 * k + 1) * plane + at]);
                double h = double(oh * w.strides[0] - w.padsBegin[0] + kh * w.dilations[0]) + dh;
                double ww = double(ow * w.strides[1] - w.padsBegin[1] + kw * w.dilations[1]) + dw;
                T v = T(sampleBilinear(xplane, H, W, h, ww));
                if (pm)
                  v *= pm[((n * og + o) * taps + k) * plane + at];
                acc += v * pw[((m * cg + ci) * kH + kh) * kW + kw];
              }
            }
            py[((n * M + m) * oH + oh) * oW + ow] = acc;
          }
    return 0;
  });
  return y;
}

} // namespace

void registerImageKernels(KernelRegistry &r) {
  r.add("CenterCropPad", singleOutput(centerCropPadKernel));
  r.add("Col2Im", singleOutput(col2ImKernel));
  r.add("AffineGrid", singleOutput(affineGridKernel));
  r.add("DeformConv", singleOutput(deformConvKernel));
}

} // namespace plumb::ref
