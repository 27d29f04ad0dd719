// Liveness analysis and greedy-by-size offset assignment for the executor's arena.
#include "runtime/BufferPlanner.h"

#include "runtime/Error.h"

#include <algorithm>

namespace plumb {

namespace {

size_t alignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

bool overlaps(const BufferLifetime &a, const BufferLifetime &b) {
  return a.first <= b.last && b.first <= a.last;
}

} // namespace

std::vector<BufferLifetime> intermediateLifetimes(const Plan &plan) {
  std::vector<int> first(plan.buffers.size(), -1), last(plan.buffers.size(), -1);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    for (int id : s.outputs)
      if (id >= 0 && first[size_t(id)] < 0)
        first[size_t(id)] = last[size_t(id)] = int(i);
    for (int id : s.inputs)
      if (id >= 0)
        last[size_t(id)] = std::max(last[size_t(id)], int(i));
  }
  std::vector<BufferLifetime> out;
  for (const Buffer &b : plan.buffers) {
    // A buffer nobody writes needs no space (validatePlan rejects reading one); one whose
    // shape is known only at run time is allocated by the step writing it.
    if (b.kind != BufferKind::Intermediate || b.runTimeShape || first[size_t(b.id)] < 0)
      continue;
    out.push_back({b.id, b.bytes(), first[size_t(b.id)], last[size_t(b.id)]});
  }
  return out;
}

ArenaAssignment assignArena(const std::vector<BufferLifetime> &lifetimes, size_t numBuffers,
                            size_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw Error("arena alignment " + std::to_string(alignment) + " is not a power of two");
  ArenaAssignment a;
  a.alignment = alignment;
  a.offsets.assign(numBuffers, -1);
  std::vector<size_t> order(lifetimes.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  // Largest first; ties by birth then id so that the result is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const BufferLifetime &p = lifetimes[x], &q = lifetimes[y];
    if (p.bytes != q.bytes)
      return p.bytes > q.bytes;
    return p.first != q.first ? p.first < q.first : p.id < q.id;
  });
  std::vector<size_t> placed; // indices into lifetimes
  for (size_t idx : order) {
    const BufferLifetime &lt = lifetimes[idx];
    if (lt.id < 0 || size_t(lt.id) >= numBuffers)
      throw Error("arena planning: buffer id " + std::to_string(lt.id) + " out of range");
    size_t size = alignUp(lt.bytes, alignment);
    // Byte ranges of placed buffers alive at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t p : placed)
      if (overlaps(lifetimes[p], lt)) {
        size_t off = size_t(a.offsets[size_t(lifetimes[p].id)]);
        busy.push_back({off, off + alignUp(lifetimes[p].bytes, alignment)});
      }
    std::sort(busy.begin(), busy.end());
    size_t best = SIZE_MAX, bestGap = SIZE_MAX, cursor = 0;
    for (const auto &[lo, hi] : busy) {
      if (lo >= cursor + size && lo - cursor < bestGap)
        best = cursor, bestGap = lo - cursor;
      cursor = std::max(cursor, hi);
    }
    if (best == SIZE_MAX)
      best = cursor; // no gap fits: go above everything alive
    a.offsets[size_t(lt.id)] = int64_t(best);
    a.peakIntermediateBytes = std::max(a.peakIntermediateBytes, best + size);
    placed.push_back(idx);
  }
  // The lower bound: live bytes at each step boundary (a lifetime covers whole steps).
  int lastStep = -1;
  for (const BufferLifetime &lt : lifetimes)
    lastStep = std::max(lastStep, lt.last);
  for (int s = 0; s <= lastStep; ++s) {
    size_t live = 0;
    for (const BufferLifetime &lt : lifetimes)
      if (lt.first <= s && s <= lt.last)
        live += alignUp(lt.bytes, alignment);
    a.liveLowerBoundBytes = std::max(a.liveLowerBoundBytes, live);
  }
  return a;
}

std::vector<int> inPlaceAliases(const Plan &plan) {
  std::vector<int> lastReader(plan.buffers.size(), -1), alias(plan.buffers.size(), -1);
  for (size_t i = 0; i < plan.steps.size(); ++i)
    for (int id : plan.steps[i].inputs)
      if (id >= 0)
        lastReader[size_t(id)] = int(i);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    if (s.inPlaceInput < 0 || size_t(s.inPlaceInput) >= s.inputs.size() || s.outputs.empty())
      continue;
    int in = s.inputs[size_t(s.inPlaceInput)], out = s.outputs[0];
    if (in < 0 || out < 0 || in == out)
      continue;
    const Buffer &a = plan.buffers[size_t(in)], &b = plan.buffers[size_t(out)];
    // The input must die here: read by no later step, and by this step in no other slot
    // that the kernel could still be reading while it writes (it is read once, up front).
    int uses = 0;
    for (int id : s.inputs)
      uses += id == in;
    if (a.kind != BufferKind::Intermediate || b.kind != BufferKind::Intermediate ||
        a.runTimeShape || b.runTimeShape ||
        lastReader[size_t(in)] != int(i) || uses != 1 || a.dtype != b.dtype ||
        a.bytes() != b.bytes() || a.layout != b.layout)
      continue;
    alias[size_t(out)] = alias[size_t(in)] >= 0 ? alias[size_t(in)] : in;
  }
  return alias;
}

ArenaAssignment planBuffers(const Plan &plan, size_t alignment) {
  std::vector<BufferLifetime> lifetimes = intermediateLifetimes(plan);
  std::vector<int> alias = inPlaceAliases(plan);
  // Merge each chain into its first buffer's lifetime, then place the merged ones.
  std::vector<int> index(plan.buffers.size(), -1);
  for (size_t i = 0; i < lifetimes.size(); ++i)
    index[size_t(lifetimes[i].id)] = int(i);
  std::vector<BufferLifetime> merged;
  for (const BufferLifetime &lt : lifetimes)
    if (alias[size_t(lt.id)] < 0)
      merged.push_back(lt);
  std::vector<int> mergedIndex(plan.buffers.size(), -1);
  for (size_t i = 0; i < merged.size(); ++i)
    mergedIndex[size_t(merged[i].id)] = int(i);
  for (const BufferLifetime &lt : lifetimes)
    if (int root = alias[size_t(lt.id)]; root >= 0 && mergedIndex[size_t(root)] >= 0) {
      BufferLifetime &r = merged[size_t(mergedIndex[size_t(root)])];
      r.last = std::max(r.last, lt.last);
    }
  ArenaAssignment a = assignArena(merged, plan.buffers.size(), alignment);
  for (const BufferLifetime &lt : lifetimes)
    if (int root = alias[size_t(lt.id)]; root >= 0)
      a.offsets[size_t(lt.id)] = a.offsets[size_t(root)];
  return a;
}

} // namespace plumb
