// The process-wide cache of reordered constant weights (see SharedWeights.h).
#include "backends/cpu/SharedWeights.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace plumb::cpu {

namespace {

struct Entry {
  std::weak_ptr<const void> storage; // the source's storage: dead means a stale entry
  Desc plain, wanted;                // a reorder's layouts (empty for a derived value)
  float scale;
  std::string derivation; // sharedDerived's key (empty for a reorder)
  std::weak_ptr<const dnnl::memory> value;
};

bool sameOwner(const std::weak_ptr<const void> &a, const std::shared_ptr<const void> &b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

struct Cache {
  std::mutex mutex;
  // Keyed by the source's data address; a few entries per address at most (one per layout).
  std::unordered_map<const void *, std::vector<Entry>> byData;
  size_t misses = 0, hits = 0, sweepAt = 64;

  void sweep() {
    for (auto it = byData.begin(); it != byData.end();) {
      auto &v = it->second;
      v.erase(
          std::remove_if(v.begin(), v.end(),
                         [](const Entry &e) { return e.value.expired() || e.storage.expired(); }),
          v.end());
      it = v.empty() ? byData.erase(it) : std::next(it);
    }
    sweepAt = std::max<size_t>(64, 2 * byData.size());
  }
};

Cache &cache() {
  static Cache *c = new Cache; // never destroyed: kernels may outlive static destruction order
  return *c;
}

SharedMemory reorderScaled(const Tensor &src, const Desc &plain, const Desc &wanted, float scale) {
  if (scale == 1.f)
    return std::make_shared<const dnnl::memory>(reorderedCopy(src.raw(), plain, wanted));
  std::vector<float> v(src.data<float>(), src.data<float>() + src.numel());
  for (float &x : v)
    x *= scale;
  return std::make_shared<const dnnl::memory>(reorderedCopy(v.data(), plain, wanted));
}

// The cache lookup both entry points share: `make` runs (under the lock) on a miss.
SharedMemory cached(const Tensor &src, const Desc &plain, const Desc &wanted, float scale,
                    const std::string &derivation, const std::function<SharedMemory()> &make) {
  Cache &c = cache();
  // Held across `make`: two executors prepared at once then share one reorder instead of both
  // doing it (the reorders are memory-bound; serialising them costs little).
  std::lock_guard<std::mutex> lock(c.mutex);
  std::vector<Entry> &bucket = c.byData[src.raw()];
  for (auto it = bucket.begin(); it != bucket.end();) {
    if (it->value.expired() || it->storage.expired()) {
      it = bucket.erase(it);
      continue;
    }
    if (sameOwner(it->storage, src.storage()) && it->scale == scale && it->plain == plain &&
        it->wanted == wanted && it->derivation == derivation) {
      if (SharedMemory m = it->value.lock()) {
        ++c.hits;
        return m;
      }
    }
    ++it;
  }
  SharedMemory m = make();
  bucket.push_back(Entry{src.storage(), plain, wanted, scale, derivation, m});
  ++c.misses;
  if (c.byData.size() > c.sweepAt)
    c.sweep();
  return m;
}

} // namespace

SharedMemory sharedReorder(const Tensor &src, const Desc &plain, const Desc &wanted, float scale) {
  if (!src.storage()) // nothing to key a lifetime on: a private copy
    return reorderScaled(src, plain, wanted, scale);
  return cached(src, plain, wanted, scale, "",
                [&] { return reorderScaled(src, plain, wanted, scale); });
}

SharedMemory sharedDerived(const Tensor &src, const std::string &derivation,
                           const std::function<SharedMemory()> &make) {
  if (!src.storage())
    return make();
  return cached(src, Desc(), Desc(), 1.f, "derived:" + derivation, make);
}

bool packedLayoutOf(const Desc &desc, float scale, PackedLayout &out) {
  const dnnl_memory_desc_t &d = desc.data;
  if (d.format_kind != dnnl_blocked || d.data_type != dnnl_f32 || d.offset0 != 0 ||
      d.extra.flags != 0 || d.ndims < 1 || d.ndims > 6)
    return false;
  PackedLayout l;
  const dnnl_blocking_desc_t &b = d.format_desc.blocking;
  for (int i = 0; i < d.ndims; ++i) {
    if (d.padded_offsets[i] != 0)
      return false;
    l.dims.push_back(d.dims[i]);
    l.padded.push_back(d.padded_dims[i]);
    l.strides.push_back(b.strides[i]);
  }
  for (int i = 0; i < b.inner_nblks; ++i)
    l.inner.emplace_back(int(b.inner_idxs[i]), b.inner_blks[i]);
  l.scale = scale;
  out = std::move(l);
  return true;
}

Desc descOf(const PackedLayout &l) {
  dnnl_memory_desc_t d{};
  d.ndims = int(l.dims.size());
  d.data_type = dnnl_f32;
  d.format_kind = dnnl_blocked;
  dnnl_blocking_desc_t &b = d.format_desc.blocking;
  for (size_t i = 0; i < l.dims.size(); ++i) {
    d.dims[i] = l.dims[i];
    d.padded_dims[i] = l.padded[i];
    b.strides[i] = l.strides[i];
  }
  b.inner_nblks = int(l.inner.size());
  for (size_t i = 0; i < l.inner.size(); ++i) {
    b.inner_idxs[i] = l.inner[i].first;
    b.inner_blks[i] = l.inner[i].second;
  }
  return Desc(d);
}

SharedMemory constantWeights(const KernelArgs &a, size_t input, const Desc &plain,
                             const Desc &wanted, float scale) {
  const Tensor &src = *a.constant(input);
  const BufferInfo &info = a.input(input);
  struct InPlace {
    Tensor keep; // the constant's storage (an artifact's mapping) lives as long as the kernel
    dnnl::memory memory;
  };
  auto inPlace = [&](const Desc &desc) {
    auto held = std::make_shared<InPlace>(
        InPlace{src, dnnl::memory(desc, engine(), const_cast<void *>(src.raw()))});
    return SharedMemory(held, &held->memory);
  };
  if (info.packing.empty())
    return plain == wanted && scale == 1.f ? inPlace(plain)
                                           : sharedReorder(src, plain, wanted, scale);
  // validatePlan checked the layout against the bytes already; parse again for its values.
  PackedLayout stored = parsePacking(info.packing, numElements(info.shape), sizeof(float),
                                     src.nbytes());
  if (!stored.transform.empty())
    a.fail("constant '" + info.name + "' was packed transformed (" + stored.transform +
           ") for a route this step does not take here");
  if (stored.scale != scale)
    a.fail("constant '" + info.name + "' was packed times " + std::to_string(stored.scale) +
           ", this kernel needs it times " + std::to_string(scale));
  Desc packed = descOf(stored);
  if (packed.dims() != wanted.dims())
    a.fail("constant '" + info.name + "' was packed as " + formatPacking(stored) +
           ", which does not have the dims this kernel reads");
  if (a.packedRead.size() <= input)
    a.packedRead.resize(input + 1, false);
  a.packedRead[input] = true;
  return packed == wanted ? inPlace(wanted)
                          : sharedReorder(src, packed, wanted, 1.f); // already scaled
}

std::optional<PackedLayout> packedLayout(const KernelArgs &a, size_t input) {
  if (!a.has(input) || a.input(input).packing.empty() || !a.constant(input))
    return std::nullopt;
  const BufferInfo &info = a.input(input);
  return parsePacking(info.packing, numElements(info.shape), sizeof(float),
                      a.constant(input)->nbytes());
}

size_t packedRank(const KernelArgs &a, size_t input) {
  std::optional<PackedLayout> l = packedLayout(a, input);
  return l && l->transform.empty() ? l->dims.size() : 0;
}

std::vector<PackedConstant> packedWeight(size_t input, const SharedMemory &m, float scale) {
  PackedLayout l;
  if (!m || !packedLayoutOf(m->get_desc(), scale, l))
    return {};
  PackedConstant p;
  p.input = input;
  p.packing = formatPacking(l);
  p.data = m->get_data_handle();
  p.bytes = m->get_desc().get_size();
  p.keepAlive = m;
  return {p};
}

SharedWeightStats sharedWeightStats() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  SharedWeightStats s;
  s.misses = c.misses;
  s.hits = c.hits;
  for (const auto &kv : c.byData)
    for (const Entry &e : kv.second)
      s.live += !e.value.expired() && !e.storage.expired();
  return s;
}

} // namespace plumb::cpu
