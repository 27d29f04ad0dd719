// The per-op yardstick: a conv/matmul primitive rebuilt with preferred layouts, run alone.
#include "backends/cpu/Alone.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace plumb::cpu {

namespace {

void setAny(dnnl_memory_desc_t &md) {
  if (md.ndims == 0)
    return;
  dnnl_memory_desc_t any;
  dnnl_memory_desc_init_by_tag(&any, md.ndims, md.dims, md.data_type, dnnl_format_tag_any);
  md = any;
}

std::string dimsString(const dnnl_memory_desc_t &md, int from = 0) {
  std::string s;
  for (int i = from; i < md.ndims; ++i)
    s += (i > from ? "x" : "") + std::to_string(md.dims[i]);
  return s;
}

int64_t numel(const dnnl_memory_desc_t &md) {
  int64_t n = 1;
  for (int i = 0; i < md.ndims; ++i)
    n *= md.dims[i];
  return n;
}

// A deterministic pattern of small values, so no denormals or overflow shape the timing.
void fill(const dnnl::memory &m) {
  auto *p = static_cast<float *>(m.get_data_handle());
  size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; ++i)
    p[i] = float(int(i % 17) - 8) * 0.01f;
}

struct Rebuilt {
  std::vector<char> opDesc; // the C op descriptor, formats set to "any"
  double flops = 0;
  std::string shape;
};

std::optional<Rebuilt> rebuild(const_dnnl_primitive_desc_t cpd, dnnl::primitive::kind kind) {
  Rebuilt r;
  if (kind == dnnl::primitive::kind::convolution) {
    const dnnl_convolution_desc_t *cd = nullptr;
    if (dnnl_primitive_desc_query(cpd, dnnl_query_convolution_d, 0, &cd) != dnnl_success || !cd)
      return std::nullopt;
    dnnl_convolution_desc_t d = *cd;
    setAny(d.src_desc), setAny(d.weights_desc), setAny(d.dst_desc);
    // Per output element: one multiply-add per weight of one output channel.
    int64_t oc = d.dst_desc.dims[1];
    r.flops = 2.0 * double(numel(d.dst_desc)) * double(numel(d.weights_desc)) / double(oc);
    bool grouped = d.weights_desc.ndims == d.src_desc.ndims + 1;
    int spatial = d.src_desc.ndims - 2;
    std::string k = dimsString(d.weights_desc, d.weights_desc.ndims - spatial);
    r.shape = dimsString(d.src_desc) + " k" + k + " s" + std::to_string(d.strides[0]) +
              (grouped ? " g" + std::to_string(d.weights_desc.dims[0]) : "") + " -> " +
              dimsString(d.dst_desc);
    r.opDesc.assign(reinterpret_cast<const char *>(&d), reinterpret_cast<const char *>(&d + 1));
    return r;
  }
  if (kind == dnnl::primitive::kind::matmul) {
    const dnnl_matmul_desc_t *md = nullptr;
    if (dnnl_primitive_desc_query(cpd, dnnl_query_matmul_d, 0, &md) != dnnl_success || !md)
      return std::nullopt;
    dnnl_matmul_desc_t d = *md;
    setAny(d.src_desc), setAny(d.weights_desc), setAny(d.dst_desc);
    int64_t k = d.src_desc.dims[d.src_desc.ndims - 1];
    r.flops = 2.0 * double(numel(d.dst_desc)) * double(k);
    r.shape = dimsString(d.src_desc) + " * " + dimsString(d.weights_desc);
    r.opDesc.assign(reinterpret_cast<const char *>(&d), reinterpret_cast<const char *>(&d + 1));
    return r;
  }
  return std::nullopt;
}

class DnnlAlone final : public AlonePrimitive {
public:
  double run() override {
    auto t0 = std::chrono::steady_clock::now();
    prim_.execute(stream(), args_);
    stream().wait();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  double runColdWeights() override {
    for (int arg : {DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS})
      if (auto it = args_.find(arg); it != args_.end())
        evict(it->second);
    return run();
  }
  dnnl::primitive prim_;
  std::unordered_map<int, dnnl::memory> args_;

private:
  static void evict(const dnnl::memory &m) {
#if defined(__x86_64__) || defined(__i386__)
    const char *p = static_cast<const char *>(m.get_data_handle());
    size_t bytes = m.get_desc().get_size();
    for (size_t off = 0; off < bytes; off += 64)
      _mm_clflush(p + off);
    _mm_mfence();
#else
    (void)m; // no portable eviction: cold equals warm
#endif
  }
};

} // namespace

std::unique_ptr<AlonePrimitive> makeAlonePrimitive(const dnnl::primitive &prim,
                                                   const dnnl::memory &weights) {
  if (!prim)
    return nullptr;
  try {
    const_dnnl_primitive_desc_t cpd = prim.get_primitive_desc();
    std::optional<Rebuilt> r = rebuild(cpd, prim.get_kind());
    if (!r)
      return nullptr;
    const_dnnl_primitive_attr_t cattr = nullptr;
    dnnl_primitive_attr_t attrCopy = nullptr;
    dnnl::error::wrap_c_api(dnnl_primitive_desc_get_attr(cpd, &cattr), "get attr");
    dnnl::error::wrap_c_api(dnnl_primitive_attr_clone(&attrCopy, cattr), "clone attr");
    dnnl::primitive_attr attr(attrCopy);
    dnnl::primitive_desc pd(reinterpret_cast<const_dnnl_op_desc_t>(r->opDesc.data()), &attr,
                            engine(), nullptr);
    auto a = std::make_unique<DnnlAlone>();
    a->shape = r->shape;
    a->flops = r->flops;
    a->prim_ = dnnl::primitive(pd.get());
    dnnl::memory src(pd.src_desc(0), engine()), dst(pd.dst_desc(0), engine());
    dnnl::memory wei(pd.weights_desc(0), engine());
    fill(src), fill(dst);
    if (weights && weights.get_desc().get_size() > 0) {
      dnnl::memory from = weights; // reorder wants a non-const source
      dnnl::reorder(from, wei).execute(stream(), from, wei);
    } else {
      fill(wei);
    }
    a->args_ = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
    Desc biasDesc = pd.weights_desc(1);
    if (biasDesc.get_size() > 0) {
      dnnl::memory bias(biasDesc, engine());
      fill(bias);
      a->args_[DNNL_ARG_BIAS] = bias;
    }
    stream().wait();
    a->run(); // first touch of the scratch memory
    return a;
  } catch (const dnnl::error &) {
    return nullptr;
  }
}

} // namespace plumb::cpu
