// The process-wide cache of reordered constant weights (see SharedWeights.h).
#include "backends/cpu/SharedWeights.h"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace plumb::cpu {

namespace {

struct Entry {
  std::weak_ptr<const void> storage; // the source's storage: dead means a stale entry
  Desc plain, wanted;
  float scale;
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

} // namespace

SharedMemory sharedReorder(const Tensor &src, const Desc &plain, const Desc &wanted, float scale) {
  if (!src.storage()) // nothing to key a lifetime on: a private copy
    return reorderScaled(src, plain, wanted, scale);
  Cache &c = cache();
  // Held across the reorder: two executors prepared at once then share one reorder instead of
  // both doing it (the reorders are memory-bound; serialising them costs little).
  std::lock_guard<std::mutex> lock(c.mutex);
  std::vector<Entry> &bucket = c.byData[src.raw()];
  for (auto it = bucket.begin(); it != bucket.end();) {
    if (it->value.expired() || it->storage.expired()) {
      it = bucket.erase(it);
      continue;
    }
    if (sameOwner(it->storage, src.storage()) && it->scale == scale && it->plain == plain &&
        it->wanted == wanted) {
      if (SharedMemory m = it->value.lock()) {
        ++c.hits;
        return m;
      }
    }
    ++it;
  }
  SharedMemory m = reorderScaled(src, plain, wanted, scale);
  bucket.push_back(Entry{src.storage(), plain, wanted, scale, m});
  ++c.misses;
  if (c.byData.size() > c.sweepAt)
    c.sweep();
  return m;
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
