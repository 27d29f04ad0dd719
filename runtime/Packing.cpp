// Text form and bounds check of pre-packed constant layouts (see Packing.h).
#include "runtime/Packing.h"

#include "runtime/Error.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace plumb {

namespace {

constexpr size_t kMaxDims = 6, kMaxInner = 6;
constexpr int64_t kMaxDim = int64_t(1) << 40, kMaxBlock = 4096;

std::string joinInts(const std::vector<int64_t> &v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

[[noreturn]] void bad(const std::string &why) { throw Error("bad packed layout: " + why); }

// A decimal integer in [lo, hi], the whole of `s`.
int64_t parseInt(const std::string &s, int64_t lo, int64_t hi, const char *what) {
  if (s.empty() || s.size() > 19 || (s[0] == '-' ? s.size() == 1 : false))
    bad(std::string("bad ") + what + " '" + s + "'");
  for (size_t i = s[0] == '-' ? 1 : 0; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9')
      bad(std::string("bad ") + what + " '" + s + "'");
  long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (v < lo || v > hi)
    bad(std::string(what) + " " + s + " out of range");
  return v;
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> parts;
  if (s.empty())
    return parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

// The value of "key=value" token `tok`.
std::string field(const std::string &tok, const char *key) {
  std::string prefix = std::string(key) + "=";
  if (tok.compare(0, prefix.size(), prefix) != 0)
    bad(std::string("expected ") + key + "=..., got '" + tok.substr(0, 40) + "'");
  return tok.substr(prefix.size());
}

std::vector<int64_t> parseInts(const std::string &s, int64_t lo, int64_t hi, const char *what) {
  std::vector<int64_t> v;
  for (const std::string &p : split(s, ','))
    v.push_back(parseInt(p, lo, hi, what));
  return v;
}

} // namespace

uint64_t PackedLayout::storageElements() const {
  unsigned __int128 span = 1;
  for (const auto &b : inner)
    span *= uint64_t(b.second);
  for (size_t d = 0; d < padded.size(); ++d) {
    int64_t block = 1;
    for (const auto &b : inner)
      if (size_t(b.first) == d)
        block *= b.second;
    span += (unsigned __int128)(uint64_t(padded[d] / block - 1)) * uint64_t(strides[d]);
  }
  return span > ~uint64_t(0) ? ~uint64_t(0) : uint64_t(span);
}

bool PackedLayout::operator==(const PackedLayout &o) const {
  return dims == o.dims && padded == o.padded && strides == o.strides && inner == o.inner &&
         scale == o.scale && transform == o.transform;
}

TransformShape transformShape(const std::string &transform) {
  if (transform.empty())
    return {};
  if (transform == kWinogradF2x3)
    return {16, 9};
  bad("unknown transform '" + transform.substr(0, 40) + "'");
}

std::string formatPacking(const PackedLayout &l) {
  std::string inner;
  for (size_t i = 0; i < l.inner.size(); ++i)
    inner += (i ? "," : "") + std::to_string(l.inner[i].first) + ":" +
             std::to_string(l.inner[i].second);
  char scale[64];
  std::snprintf(scale, sizeof scale, "%a", double(l.scale));
  return "blocked dims=" + joinInts(l.dims) + " padded=" + joinInts(l.padded) +
         " strides=" + joinInts(l.strides) + " inner=" + inner + " scale=" + scale +
         (l.transform.empty() ? "" : " transform=" + l.transform);
}

PackedLayout parsePacking(const std::string &text, int64_t numel, size_t elementSize,
                          size_t bytes) {
  std::vector<std::string> tok = split(text, ' ');
  if ((tok.size() != 6 && tok.size() != 7) || tok[0] != "blocked")
    bad("expected 'blocked dims=.. padded=.. strides=.. inner=.. scale=.. [transform=..]', got '" +
        text.substr(0, 60) + "'");
  PackedLayout l;
  l.dims = parseInts(field(tok[1], "dims"), 1, kMaxDim, "dim");
  l.padded = parseInts(field(tok[2], "padded"), 1, kMaxDim, "padded dim");
  l.strides = parseInts(field(tok[3], "strides"), 0, kMaxDim, "stride");
  size_t n = l.dims.size();
  if (n == 0 || n > kMaxDims)
    bad(std::to_string(n) + " dims (1 to 6 allowed)");
  if (l.padded.size() != n || l.strides.size() != n)
    bad("dims, padded dims and strides differ in count");
  std::vector<std::string> inner = split(field(tok[4], "inner"), ',');
  if (inner.size() > kMaxInner)
    bad(std::to_string(inner.size()) + " inner blocks (at most 6)");
  std::vector<int64_t> block(n, 1);
  for (const std::string &b : inner) {
    std::vector<std::string> kv = split(b, ':');
    if (kv.size() != 2)
      bad("bad inner block '" + b + "'");
    int dim = int(parseInt(kv[0], 0, int64_t(n) - 1, "inner block dim"));
    int64_t size = parseInt(kv[1], 1, kMaxBlock, "inner block size");
    block[size_t(dim)] *= size;
    if (block[size_t(dim)] > kMaxBlock)
      bad("inner blocks of dim " + kv[0] + " exceed " + std::to_string(kMaxBlock));
    l.inner.emplace_back(dim, size);
  }
  std::string scale = field(tok[5], "scale");
  char *end = nullptr;
  errno = 0;
  double s = std::strtod(scale.c_str(), &end);
  if (scale.empty() || *end != '\0' || errno != 0 || !std::isfinite(s) || float(s) != s)
    bad("bad scale '" + scale + "'");
  l.scale = float(s);
  if (tok.size() == 7)
    l.transform = field(tok[6], "transform");
  TransformShape shape = transformShape(l.transform);

  unsigned __int128 count = 1;
  for (size_t d = 0; d < n; ++d) {
    if (l.padded[d] < l.dims[d] || l.padded[d] % block[d] != 0)
      bad("padded dim " + std::to_string(l.padded[d]) + " is not dim " +
          std::to_string(l.dims[d]) + " rounded up to its block " + std::to_string(block[d]));
    count *= uint64_t(l.dims[d]);
    if (count > (unsigned __int128)(kMaxDim))
      bad("too many elements");
  }
  if (int64_t(count) * shape.perElement != numel)
    bad("dims " + joinInts(l.dims) + " hold " +
        std::to_string(int64_t(count) * shape.perElement) + " elements, the constant has " +
        std::to_string(numel));
  unsigned __int128 span = (unsigned __int128)l.storageElements() * uint64_t(shape.copies);
  if (elementSize == 0 || span > bytes / elementSize)
    bad("the layout spans " + std::to_string(uint64_t(span > ~uint64_t(0) ? ~uint64_t(0) : span)) +
        " elements, the stored data holds " + std::to_string(elementSize ? bytes / elementSize : 0));
  return l;
}

} // namespace plumb
