// Reference kernels for the recurrent networks RNN, GRU and LSTM: every attribute (direction,
// layout, clip, activations), optional inputs and outputs, computed one sequence at a time.
#include "backends/reference/kernels/Common.h"
#include "backends/reference/kernels/RecurrentActivations.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace plumb::ref {
namespace {

using Activation = RecurrentActivation;

std::vector<Activation> parseActivations(const KernelCall &call, std::vector<std::string> defs,
                                         int64_t dirs) {
  const AttrValue *v = call.attr().find("activations");
  std::string error;
  std::vector<Activation> out = recurrentActivations(
      v ? v->strings : std::vector<std::string>{}, call.attr().getFloats("activation_alpha"),
      call.attr().getFloats("activation_beta"), defs, dirs, error);
  if (!error.empty())
    call.fail(error);
  return out;
}

// Sizes and options common to the three ops. `gates`: weight blocks per direction.
struct Setup {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1, gates = 1;
  bool batchFirst = false;
  std::string direction;
  double clip = 0; // 0: no clipping
  std::vector<int64_t> lens;

  // Offsets (in elements) into X, Y and the [dirs, batch, hidden] states for each layout.
  int64_t xOff(int64_t t, int64_t b) const {
    return (batchFirst ? b * seq + t : t * batch + b) * input;
  }
  int64_t yOff(int64_t t, int64_t d, int64_t b) const {
    return (batchFirst ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
  }
  int64_t stateOff(int64_t d, int64_t b) const {
    return (batchFirst ? b * dirs + d : d * batch + b) * hidden;
  }
  Shape yShape() const {
    return batchFirst ? Shape{batch, seq, dirs, hidden} : Shape{seq, dirs, batch, hidden};
  }
  Shape stateShape() const {
    return batchFirst ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  }
  bool reversed(int64_t d) const { return direction == "reverse" || d == 1; }
};

void expectShape(const KernelCall &call, const Tensor &t, const Shape &want, const char *what) {
  if (t.shape() != want)
    call.fail(std::string(what) + " must have shape " + shapeToString(want) + ", got " +
              t.describe());
}

Setup makeSetup(const KernelCall &call, int64_t gates) {
  const Tensor &x = call.in(0), &w = call.in(1), &r = call.in(2);
  Setup s;
  s.gates = gates;
  s.batchFirst = call.attr().getInt("layout", 0) != 0;
  s.direction = call.attr().getString("direction", "forward");
  if (s.direction != "forward" && s.direction != "reverse" && s.direction != "bidirectional")
    call.fail("unknown direction '" + s.direction + "'");
  s.dirs = s.direction == "bidirectional" ? 2 : 1;
  s.clip = call.attr().getFloat("clip", 0);
  if (x.rank() != 3 || r.rank() != 3)
    call.fail("X and R must have rank 3, got " + x.describe() + " and " + r.describe());
  s.seq = x.dim(s.batchFirst ? 1 : 0);
  s.batch = x.dim(s.batchFirst ? 0 : 1);
  s.input = x.dim(2);
  // Kernels read every float input as X's type.
  for (size_t i : {size_t(1), size_t(2), size_t(3), size_t(5), size_t(6), size_t(7)})
    if (const Tensor *t = call.input(i); t && t->dtype() != x.dtype())
      call.fail("input " + std::to_string(i) + " is " + t->describe() + ", X is " + x.describe());
  s.hidden = call.attr().getInt("hidden_size", r.dim(2));
  expectShape(call, w, {s.dirs, gates * s.hidden, s.input}, "W");
  expectShape(call, r, {s.dirs, gates * s.hidden, s.hidden}, "R");
  if (const Tensor *b = call.input(3))
    expectShape(call, *b, {s.dirs, 2 * gates * s.hidden}, "B");
  if (const Tensor *h0 = call.input(5))
    expectShape(call, *h0, s.stateShape(), "initial_h");
  s.lens.assign(size_t(s.batch), s.seq);
  if (const Tensor *l = call.input(4)) {
    expectShape(call, *l, {s.batch}, "sequence_lens");
    s.lens = l->toInts();
    for (int64_t v : s.lens)
      if (v < 0 || v > s.seq)
        call.fail("sequence_lens value " + std::to_string(v) + " out of [0, " +
                  std::to_string(s.seq) + "]");
  }
  return s;
}

// One direction's parameters as T, gate blocks of `hidden` rows each.
template <typename T> struct Params {
  const T *w, *r;           // [gates*hidden, input], [gates*hidden, hidden]
  std::vector<T> wb, rb, p; // biases [gates*hidden] (zeros when B is absent), peepholes
};

template <typename T> Params<T> paramsFor(const KernelCall &call, const Setup &s, int64_t d) {
  int64_t gh = s.gates * s.hidden;
  Params<T> p;
  p.w = call.in(1).data<T>() + d * gh * s.input;
  p.r = call.in(2).data<T>() + d * gh * s.hidden;
  p.wb.assign(size_t(gh), T(0));
  p.rb.assign(size_t(gh), T(0));
  if (const Tensor *b = call.input(3)) {
    const T *pb = b->data<T>() + d * 2 * gh;
    p.wb.assign(pb, pb + gh);
    p.rb.assign(pb + gh, pb + 2 * gh);
  }
  return p;
}

// Row `row` of a [rows, len] matrix dotted with v.
template <typename T> T dot(const T *m, int64_t row, const T *v, int64_t len) {
  T acc = T(0);
  for (int64_t k = 0; k < len; ++k)
    acc += m[row * len + k] * v[k];
  return acc;
}

// Runs `cell(x_t, h, c)` over each batch entry's sequence in each direction and writes Y,
// Y_h (and Y_c). The cell updates h and c in place.
template <typename T, typename Cell>
std::vector<Tensor> runRecurrent(const KernelCall &call, const Setup &s, bool hasCell, Cell cell) {
  DType dt = call.in(0).dtype();
  Tensor y = Tensor::zeros(dt, s.yShape());
  Tensor yh = Tensor::zeros(dt, s.stateShape());
  Tensor yc = Tensor::zeros(dt, s.stateShape());
  const T *x = call.in(0).data<T>();
  const Tensor *h0 = call.input(5);
  const Tensor *c0 = hasCell ? call.input(6) : nullptr;
  if (c0)
    expectShape(call, *c0, s.stateShape(), "initial_c");
  for (int64_t d = 0; d < s.dirs; ++d)
    for (int64_t b = 0; b < s.batch; ++b) {
      int64_t so = s.stateOff(d, b);
      std::vector<T> h(size_t(s.hidden), T(0)), c(size_t(s.hidden), T(0));
      if (h0)
        h.assign(h0->data<T>() + so, h0->data<T>() + so + s.hidden);
      if (c0)
        c.assign(c0->data<T>() + so, c0->data<T>() + so + s.hidden);
      int64_t len = s.lens[size_t(b)];
      for (int64_t step = 0; step < len; ++step) {
        int64_t t = s.reversed(d) ? len - 1 - step : step;
        cell(d, x + s.xOff(t, b), h, c);
        std::copy(h.begin(), h.end(), y.mutableData<T>() + s.yOff(t, d, b));
      }
      std::copy(h.begin(), h.end(), yh.mutableData<T>() + so);
      std::copy(c.begin(), c.end(), yc.mutableData<T>() + so);
    }
  return {y, yh, yc};
}

// Clips a gate's pre-activation to [-clip, clip] when clip is set.
template <typename T> T clipped(const Setup &s, T v) {
  return s.clip > 0 ? std::max(T(-s.clip), std::min(T(s.clip), v)) : v;
}

// H = f(X W^T + H R^T + Wb + Rb).
std::vector<Tensor> rnnKernel(const KernelCall &call) {
  Setup s = makeSetup(call, 1);
  std::vector<Activation> act = parseActivations(call, {"Tanh"}, s.dirs);
  return dispatchFloat(call, call.in(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<Params<T>> ps{paramsFor<T>(call, s, 0)};
    if (s.dirs == 2)
      ps.push_back(paramsFor<T>(call, s, 1));
    auto cell = [&](int64_t d, const T *xt, std::vector<T> &h, std::vector<T> &) {
      const Params<T> &p = ps[size_t(d)];
      std::vector<T> next(h.size());
      for (int64_t j = 0; j < s.hidden; ++j) {
        T a = dot(p.w, j, xt, s.input) + dot(p.r, j, h.data(), s.hidden) + p.wb[size_t(j)] +
              p.rb[size_t(j)];
        next[size_t(j)] = T(act[size_t(d)](double(clipped(s, a))));
      }
      h = next;
    };
    return runRecurrent<T>(call, s, false, cell);
  });
}

// Gates z, r, h (rows in that order in W, R and B):
//   z = f(X Wz^T + H Rz^T + Wbz + Rbz), r likewise,
//   h~ = g(X Wh^T + (r . H) Rh^T + Rbh + Wbh)      (linear_before_reset = 0)
//   h~ = g(X Wh^T + r . (H Rh^T + Rbh) + Wbh)      (linear_before_reset != 0)
//   H = (1 - z) . h~ + z . H
std::vector<Tensor> gruKernel(const KernelCall &call) {
  Setup s = makeSetup(call, 3);
  std::vector<Activation> act = parseActivations(call, {"Sigmoid", "Tanh"}, s.dirs);
  bool linearBeforeReset = call.attr().getInt("linear_before_reset", 0) != 0;
  return dispatchFloat(call, call.in(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<Params<T>> ps{paramsFor<T>(call, s, 0)};
    if (s.dirs == 2)
      ps.push_back(paramsFor<T>(call, s, 1));
    int64_t H = s.hidden;
    auto cell = [&](int64_t d, const T *xt, std::vector<T> &h, std::vector<T> &) {
      const Params<T> &p = ps[size_t(d)];
      const Activation &f = act[size_t(2 * d)], &g = act[size_t(2 * d + 1)];
      auto pre = [&](int64_t row) {
        return dot(p.w, row, xt, s.input) + dot(p.r, row, h.data(), H) + p.wb[size_t(row)] +
               p.rb[size_t(row)];
      };
      std::vector<T> z(size_t(H), T(0)), r(z), rh(z), next(z);
      for (int64_t j = 0; j < H; ++j) {
        z[size_t(j)] = T(f(double(clipped(s, pre(j)))));
        r[size_t(j)] = T(f(double(clipped(s, pre(H + j)))));
        rh[size_t(j)] = r[size_t(j)] * h[size_t(j)];
      }
      for (int64_t j = 0; j < H; ++j) {
        int64_t row = 2 * H + j;
        T xPart = dot(p.w, row, xt, s.input) + p.wb[size_t(row)];
        T hPart = linearBeforeReset
                      ? r[size_t(j)] * (dot(p.r, row, h.data(), H) + p.rb[size_t(row)])
                      : dot(p.r, row, rh.data(), H) + p.rb[size_t(row)];
        T cand = T(g(double(clipped(s, xPart + hPart))));
        next[size_t(j)] = (T(1) - z[size_t(j)]) * cand + z[size_t(j)] * h[size_t(j)];
      }
      h = next;
    };
    return runRecurrent<T>(call, s, false, cell);
  });
}

// Gates i, o, f, c (rows in that order); peepholes P = [Pi, Po, Pf]:
//   i = f(X Wi^T + H Ri^T + Pi . C + Wbi + Rbi), f likewise (f = 1 - i with input_forget),
//   c~ = g(X Wc^T + H Rc^T + Wbc + Rbc), C = f . C + i . c~,
//   o = f(X Wo^T + H Ro^T + Po . C_new + Wbo + Rbo), H = o . h(C).
std::vector<Tensor> lstmKernel(const KernelCall &call) {
  Setup s = makeSetup(call, 4);
  std::vector<Activation> act = parseActivations(call, {"Sigmoid", "Tanh", "Tanh"}, s.dirs);
  bool inputForget = call.attr().getInt("input_forget", 0) != 0;
  const Tensor *peep = call.input(7);
  if (peep)
    expectShape(call, *peep, {s.dirs, 3 * s.hidden}, "P");
  return dispatchFloat(call, call.in(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    int64_t H = s.hidden;
    std::vector<Params<T>> ps;
    for (int64_t d = 0; d < s.dirs; ++d) {
      ps.push_back(paramsFor<T>(call, s, d));
      ps.back().p.assign(size_t(3 * H), T(0));
      if (peep)
        ps.back().p.assign(peep->data<T>() + d * 3 * H, peep->data<T>() + (d + 1) * 3 * H);
    }
    auto cell = [&](int64_t d, const T *xt, std::vector<T> &h, std::vector<T> &c) {
      const Params<T> &p = ps[size_t(d)];
      const Activation &f = act[size_t(3 * d)], &g = act[size_t(3 * d + 1)],
                       &hf = act[size_t(3 * d + 2)];
      auto pre = [&](int64_t gate, int64_t j) {
        int64_t row = gate * H + j;
        return dot(p.w, row, xt, s.input) + dot(p.r, row, h.data(), H) + p.wb[size_t(row)] +
               p.rb[size_t(row)];
      };
      std::vector<T> nextH(size_t(H), T(0)), nextC(nextH);
      for (int64_t j = 0; j < H; ++j) {
        size_t u = size_t(j);
        T i = T(f(double(clipped(s, pre(0, j) + p.p[u] * c[u]))));
        T fg = inputForget ? T(1) - i
                           : T(f(double(clipped(s, pre(2, j) + p.p[size_t(2 * H + j)] * c[u]))));
        T cand = T(g(double(clipped(s, pre(3, j)))));
        nextC[u] = fg * c[u] + i * cand;
        T o = T(f(double(clipped(s, pre(1, j) + p.p[size_t(H + j)] * nextC[u]))));
        nextH[u] = o * T(hf(double(nextC[u])));
      }
      h = nextH;
      c = nextC;
    };
    return runRecurrent<T>(call, s, true, cell);
  });
}

} // namespace

void registerRecurrentKernels(KernelRegistry &r) {
  r.add("RNN", rnnKernel);
  r.add("GRU", gruKernel);
  r.add("LSTM", lstmKernel);
}

} // namespace plumb::ref
