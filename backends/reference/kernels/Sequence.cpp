// Reference kernels for ONNX sequence and optional ops, and the slicing/concatenation they
// share with the control-flow ops.
#include "backends/reference/RefValue.h"

#include <cstring>

namespace plumb::ref {

std::string RefValue::describe() const {
  if (kind == Kind::Tensor)
    return tensor.describe();
  if (kind == Kind::Empty)
    return "empty optional";
  std::string s = "sequence of " + std::to_string(sequence.size()) + " [";
  for (size_t i = 0; i < sequence.size() && i < 3; ++i)
    s += (i ? ", " : "") + sequence[i].describe();
  return s + (sequence.size() > 3 ? ", ...]" : "]");
}

namespace {

int64_t normAxis(int64_t axis, int64_t rank, const KernelCall *call = nullptr) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    std::string msg =
        "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank);
    if (call)
      call->fail(msg);
    throw Error(msg);
  }
  return a;
}

// Outer extent, axis extent and inner bytes of `shape` around `axis`.
void splitShape(const Shape &shape, int64_t axis, size_t elem, int64_t &outer, size_t &inner) {
  outer = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[size_t(i)];
  inner = elem;
  for (size_t i = size_t(axis) + 1; i < shape.size(); ++i)
    inner *= size_t(shape[i]);
}

const RefValue &need(const KernelCall &call, const std::vector<const RefValue *> &in, size_t i,
                     RefValue::Kind kind) {
  if (i >= in.size() || !in[i])
    call.fail("missing required input " + std::to_string(i));
  if (in[i]->kind != kind)
    call.fail("input " + std::to_string(i) + " is " + in[i]->describe() + ", expected a " +
              (kind == RefValue::Kind::Tensor ? "tensor" : "sequence"));
  return *in[i];
}

// A position input: in [-n, n - 1] (or [-n, n] where inserting at the end is allowed).
int64_t position(const KernelCall &call, const plumb::Tensor &p, int64_t n, bool allowEnd) {
  if (p.numel() != 1)
    call.fail("position must be a scalar, got " + p.describe());
  int64_t pos = p.getAsInt(0);
  int64_t hi = allowEnd ? n : n - 1;
  if (pos < -n || pos > hi)
    call.fail("position " + std::to_string(pos) + " out of [" + std::to_string(-n) + ", " +
              std::to_string(hi) + "]");
  return pos < 0 ? pos + n : pos;
}

std::vector<plumb::Tensor> splitToSequence(const KernelCall &call, const plumb::Tensor &x,
                                           const plumb::Tensor *split) {
  int64_t axis = normAxis(call.attr().getInt("axis", 0), x.rank(), &call);
  int64_t n = x.dim(axis);
  std::vector<int64_t> sizes;
  if (!split) {
    sizes.assign(size_t(n), 1);
  } else if (split->rank() == 0) {
    int64_t chunk = split->getAsInt(0);
    if (chunk <= 0)
      call.fail("split must be positive, got " + std::to_string(chunk));
    for (int64_t s = 0; s < n; s += chunk)
      sizes.push_back(std::min(chunk, n - s));
  } else {
    sizes = split->toInts();
    int64_t sum = 0;
    for (int64_t s : sizes) {
      if (s < 0)
        call.fail("split sizes must not be negative");
      sum += s;
    }
    if (sum != n)
      call.fail("split sizes sum to " + std::to_string(sum) + ", the axis has " +
                std::to_string(n));
  }
  bool squeeze = !split && call.attr().getInt("keepdims", 1) == 0;
  std::vector<plumb::Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    plumb::Tensor part = sliceAlong(x, axis, start, s);
    if (squeeze) {
      Shape shape = part.shape();
      shape.erase(shape.begin() + axis);
      part = part.reshaped(shape);
    }
    out.push_back(part);
    start += s;
  }
  return out;
}

plumb::Tensor concatFromSequence(const KernelCall &call, const std::vector<plumb::Tensor> &seq) {
  if (seq.empty())
    call.fail("cannot concatenate an empty sequence");
  bool newAxis = call.attr().getInt("new_axis", 0) != 0;
  int64_t rank = seq[0].rank() + (newAxis ? 1 : 0);
  int64_t axis = normAxis(call.attr().requireInt("axis"), rank, &call);
  for (const plumb::Tensor &t : seq) {
    bool ok = t.dtype() == seq[0].dtype() && t.rank() == seq[0].rank();
    for (int64_t d = 0; ok && d < t.rank(); ++d)
      ok = (newAxis ? true : d == axis) || t.dim(d) == seq[0].dim(d);
    if (newAxis)
      ok = ok && t.shape() == seq[0].shape();
    if (!ok)
      call.fail("elements " + seq[0].describe() + " and " + t.describe() + " cannot be joined");
  }
  return newAxis ? stackAlong(seq, axis) : concatAlong(seq, axis);
}

} // namespace

plumb::Tensor sliceAlong(const plumb::Tensor &t, int64_t axis, int64_t start, int64_t len) {
  int64_t outer;
  size_t inner;
  splitShape(t.shape(), axis, dtypeSize(t.dtype()), outer, inner);
  Shape shape = t.shape();
  int64_t n = shape[size_t(axis)];
  shape[size_t(axis)] = len;
  plumb::Tensor out = plumb::Tensor::zeros(t.dtype(), shape);
  auto *dst = static_cast<char *>(out.mutableRaw());
  const auto *src = static_cast<const char *>(t.raw());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + size_t(o * len) * inner, src + size_t(o * n + start) * inner,
                size_t(len) * inner);
  return out;
}

plumb::Tensor concatAlong(const std::vector<plumb::Tensor> &parts, int64_t axis) {
  Shape shape = parts[0].shape();
  int64_t total = 0;
  for (const plumb::Tensor &p : parts)
    total += p.dim(axis);
  shape[size_t(axis)] = total;
  plumb::Tensor out = plumb::Tensor::zeros(parts[0].dtype(), shape);
  int64_t outer;
  size_t inner;
  splitShape(shape, axis, dtypeSize(out.dtype()), outer, inner);
  auto *dst = static_cast<char *>(out.mutableRaw());
  int64_t offset = 0;
  for (const plumb::Tensor &p : parts) {
    int64_t n = p.dim(axis);
    const auto *src = static_cast<const char *>(p.raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + size_t(o * total + offset) * inner, src + size_t(o * n) * inner,
                  size_t(n) * inner);
    offset += n;
  }
  return out;
}

plumb::Tensor stackAlong(const std::vector<plumb::Tensor> &parts, int64_t axis) {
  std::vector<plumb::Tensor> expanded;
  for (const plumb::Tensor &p : parts) {
    Shape s = p.shape();
    s.insert(s.begin() + axis, 1);
    expanded.push_back(p.reshaped(s));
  }
  return concatAlong(expanded, axis);
}

bool isValueOp(std::string_view t) {
  return t == "SequenceConstruct" || t == "SequenceEmpty" || t == "SequenceAt" ||
         t == "SequenceInsert" || t == "SequenceErase" || t == "SequenceLength" ||
         t == "SplitToSequence" || t == "ConcatFromSequence" || t == "Optional" ||
         t == "OptionalHasElement" || t == "OptionalGetElement";
}

std::vector<RefValue> runValueKernel(const KernelCall &call,
                                     const std::vector<const RefValue *> &in) {
  using Kind = RefValue::Kind;
  const std::string &t = call.opType;
  auto input = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  if (t == "SequenceConstruct") {
    std::vector<plumb::Tensor> seq;
    for (size_t i = 0; i < in.size(); ++i) {
      seq.push_back(need(call, in, i, Kind::Tensor).tensor);
      if (seq.back().dtype() != seq.front().dtype())
        call.fail("elements must share one element type, got " + seq.front().describe() + " and " +
                  seq.back().describe());
    }
    return {RefValue::ofSequence(std::move(seq))};
  }
  if (t == "SequenceEmpty")
    return {RefValue::ofSequence({})};
  if (t == "Optional")
    return {input(0) ? *input(0) : RefValue::empty()};
  if (t == "OptionalHasElement") {
    bool has = input(0) && !input(0)->isEmpty();
    return {RefValue::of(plumb::Tensor::fromVector(DType::Bool, {}, std::vector<uint8_t>{has}))};
  }
  if (t == "OptionalGetElement") {
    if (!input(0) || input(0)->isEmpty())
      call.fail("the optional is empty");
    return {*input(0)};
  }
  if (t == "SplitToSequence") {
    const plumb::Tensor *split = input(1) ? &need(call, in, 1, Kind::Tensor).tensor : nullptr;
    return {
        RefValue::ofSequence(splitToSequence(call, need(call, in, 0, Kind::Tensor).tensor, split))};
  }
  const std::vector<plumb::Tensor> &seq = need(call, in, 0, Kind::Sequence).sequence;
  int64_t n = int64_t(seq.size());
  if (t == "SequenceLength")
    return {RefValue::of(plumb::Tensor::scalarI64(n))};
  if (t == "SequenceAt")
    return {RefValue::of(
        seq[size_t(position(call, need(call, in, 1, Kind::Tensor).tensor, n, false))])};
  if (t == "ConcatFromSequence")
    return {RefValue::of(concatFromSequence(call, seq))};
  std::vector<plumb::Tensor> out = seq;
  if (t == "SequenceInsert") {
    const plumb::Tensor &x = need(call, in, 1, Kind::Tensor).tensor;
    if (!seq.empty() && x.dtype() != seq.front().dtype())
      call.fail("cannot insert " + x.describe() + " into a sequence of " + seq.front().describe());
    int64_t pos = input(2) ? position(call, need(call, in, 2, Kind::Tensor).tensor, n, true) : n;
    out.insert(out.begin() + pos, x);
    return {RefValue::ofSequence(std::move(out))};
  }
  if (t == "SequenceErase") {
    if (n == 0)
      call.fail("cannot erase from an empty sequence");
    int64_t pos =
        input(1) ? position(call, need(call, in, 1, Kind::Tensor).tensor, n, false) : n - 1;
    out.erase(out.begin() + pos);
    return {RefValue::ofSequence(std::move(out))};
  }
  call.fail("not a sequence or optional op");
}

} // namespace plumb::ref
