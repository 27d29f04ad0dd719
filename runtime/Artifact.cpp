// Artifact (de)serialisation: memory-mapped loading with every field bounds-checked.
#include "runtime/Artifact.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace plumb {
namespace {

constexpr char kMagic[8] = {'P', 'L', 'U', 'M', 'B', 'A', 'R', 'T'};
constexpr uint64_t kFnvOffset = 1469598103934665603ull, kFnvPrime = 1099511628211ull;
// No tensor the reader accepts may claim more bytes than any machine holds.
constexpr uint64_t kMaxTensorBytes = uint64_t(1) << 40;

uint64_t load64(const char *p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t alignUp(uint64_t n) {
  return (n + kArtifactAlignment - 1) / kArtifactAlignment * kArtifactAlignment;
}

// Bytes of a dtype[shape] tensor, or false when a dim is negative or the size overflows or
// exceeds kMaxTensorBytes.
bool tensorBytes(DType dtype, const Shape &shape, uint64_t &bytes) {
  bytes = dtypeSize(dtype);
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(bytes, uint64_t(d), &bytes) || bytes > kMaxTensorBytes)
      return false;
  return true;
}

class Writer {
public:
  void u64(uint64_t v) { out_.append(reinterpret_cast<const char *>(&v), 8); }
  void i64(int64_t v) { u64(uint64_t(v)); }
  void f64(double v) { out_.append(reinterpret_cast<const char *>(&v), 8); }
  void str(const std::string &s) {
    u64(s.size());
    out_ += s;
  }
  void bytes(const void *p, size_t n) {
    u64(n);
    out_.append(static_cast<const char *>(p), n);
  }
  std::string &data() { return out_; }

private:
  std::string out_;
};

// Reads the metadata section; every read is bounds-checked and every failure is one line
// naming the source.
class Reader {
public:
  Reader(const char *data, size_t size, const std::string &path)
      : d_(data), size_(size), path_(path) {}
  uint64_t u64() {
    need(8);
    uint64_t v = load64(d_ + pos_);
    pos_ += 8;
    return v;
  }
  int64_t i64() { return int64_t(u64()); }
  double f64() {
    uint64_t b = u64();
    double v;
    std::memcpy(&v, &b, 8);
    return v;
  }
  std::string str() {
    uint64_t n = u64();
    need(n);
    std::string s(d_ + pos_, n);
    pos_ += n;
    return s;
  }
  // A count of items that each take at least `minItemBytes` of what is left: refuses counts
  // the remaining bytes cannot hold before anything is allocated for them.
  uint64_t count(uint64_t max, uint64_t minItemBytes = 8) {
    uint64_t n = u64();
    if (n > max || n > (size_ - pos_) / minItemBytes)
      fail("implausible count " + std::to_string(n));
    return n;
  }
  const char *take(uint64_t n) {
    need(n);
    const char *p = d_ + pos_;
    pos_ += n;
    return p;
  }
  bool done() const { return pos_ == size_; }
  [[noreturn]] void fail(const std::string &msg) const {
    throw ArtifactError(ArtifactError::Kind::Corrupt, path_ + ": corrupt artifact (" + msg + ")");
  }

private:
  void need(uint64_t n) const {
    if (n > size_ - pos_)
      fail("metadata ends early");
  }
  const char *d_;
  size_t size_;
  std::string path_;
  size_t pos_ = 0;
};

// ---- checksum ----

class Hasher {
public:
  // `n` must be a multiple of 32 except in the last call.
  void update(const char *p, size_t n) {
    // Lanes in locals: stores through `this` could alias `p` and force reloads.
    uint64_t a = lane_[0], b = lane_[1], c = lane_[2], d = lane_[3];
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      a = (a ^ load64(p + i)) * kFnvPrime;
      b = (b ^ load64(p + i + 8)) * kFnvPrime;
      c = (c ^ load64(p + i + 16)) * kFnvPrime;
      d = (d ^ load64(p + i + 24)) * kFnvPrime;
    }
    for (; i < n; ++i)
      a = (a ^ uint8_t(p[i])) * kFnvPrime;
    lane_[0] = a, lane_[1] = b, lane_[2] = c, lane_[3] = d;
    total_ += n;
  }
  uint64_t finish() const {
    uint64_t h = kFnvOffset;
    for (uint64_t l : lane_)
      h = (h ^ l) * kFnvPrime;
    return (h ^ total_) * kFnvPrime;
  }

private:
  uint64_t lane_[4] = {kFnvOffset, kFnvOffset ^ 1, kFnvOffset ^ 2, kFnvOffset ^ 3};
  uint64_t total_ = 0;
};

// ---- metadata ----

void writeTensorInline(Writer &w, const Tensor &t) {
  w.u64(uint64_t(t.dtype()));
  w.u64(t.shape().size());
  for (int64_t d : t.shape())
    w.i64(d);
  w.bytes(t.raw(), t.nbytes());
}

void writeAttrs(Writer &w, const ref::Attrs &attrs) {
  w.u64(attrs.all().size());
  for (const auto &[name, v] : attrs.all()) {
    w.str(name);
    w.u64(uint64_t(v.kind));
    w.i64(v.i);
    w.f64(v.f);
    w.str(v.s);
    w.u64(v.ints.size());
    for (int64_t x : v.ints)
      w.i64(x);
    w.u64(v.floats.size());
    for (double x : v.floats)
      w.f64(x);
    w.u64(v.strings.size());
    for (const auto &x : v.strings)
      w.str(x);
    bool hasTensor = v.kind == ref::AttrValue::Kind::Tensor;
    w.u64(hasTensor);
    if (hasTensor)
      writeTensorInline(w, v.t);
  }
}

DType readDType(Reader &r) {
  uint64_t dt = r.u64();
  if (dt > uint64_t(DType::U64))
    r.fail("bad element type " + std::to_string(dt));
  return DType(dt);
}

Shape readShape(Reader &r) {
  Shape shape(r.count(16));
  for (auto &d : shape)
    d = r.i64();
  return shape;
}

Tensor readTensorInline(Reader &r) {
  DType dt = readDType(r);
  Shape shape = readShape(r);
  uint64_t expect;
  if (!tensorBytes(dt, shape, expect))
    r.fail("bad attribute tensor shape " + shapeToString(shape));
  uint64_t n = r.u64();
  if (n != expect)
    r.fail("attribute tensor data size mismatch");
  return Tensor::copyOf(dt, shape, r.take(n));
}

ref::Attrs readAttrs(Reader &r) {
  ref::Attrs attrs;
  uint64_t n = r.count(1 << 16);
  for (uint64_t i = 0; i < n; ++i) {
    std::string name = r.str();
    ref::AttrValue v;
    uint64_t kind = r.u64();
    if (kind > uint64_t(ref::AttrValue::Kind::Tensor))
      r.fail("bad attribute kind " + std::to_string(kind));
    v.kind = ref::AttrValue::Kind(kind);
    v.i = r.i64();
    v.f = r.f64();
    v.s = r.str();
    v.ints.resize(r.count(1 << 24));
    for (auto &x : v.ints)
      x = r.i64();
    v.floats.resize(r.count(1 << 24));
    for (auto &x : v.floats)
      x = r.f64();
    v.strings.resize(r.count(1 << 20));
    for (auto &x : v.strings)
      x = r.str();
    uint64_t hasTensor = r.u64();
    if (hasTensor > 1 || (hasTensor == 1) != (v.kind == ref::AttrValue::Kind::Tensor))
      r.fail("attribute '" + name + "' has an inconsistent tensor flag");
    if (hasTensor)
      v.t = readTensorInline(r);
    attrs.set(name, std::move(v));
  }
  return attrs;
}

// Writes `plan` (a control-flow step's bodies within their step); constants are listed in
// `constants`, their offsets in the data section counted in `dataSize`.
void writePlan(Writer &w, const Plan &plan, std::vector<const Buffer *> &constants,
               uint64_t &dataSize) {
  w.u64(plan.buffers.size());
  for (const Buffer &b : plan.buffers) {
    w.u64(uint64_t(b.kind));
    w.u64(uint64_t(b.dtype));
    w.u64(uint64_t(b.layout));
    w.u64(b.runTimeShape ? 1 : 0);
    w.u64(b.shape.size());
    for (int64_t d : b.shape)
      w.i64(d);
    w.str(b.name);
    w.str(b.packing);
    if (b.kind == BufferKind::Constant) {
      dataSize = alignUp(dataSize);
      w.u64(dataSize);
      w.u64(b.constant.nbytes());
      dataSize += b.constant.nbytes();
      constants.push_back(&b);
    }
  }
  w.u64(plan.steps.size());
  for (const Step &s : plan.steps) {
    w.str(s.kernel);
    writeAttrs(w, s.attrs);
    w.u64(s.inputs.size());
    for (int x : s.inputs)
      w.i64(x);
    w.u64(s.outputs.size());
    for (int x : s.outputs)
      w.i64(x);
    w.u64(s.outputNames.size());
    for (const auto &n : s.outputNames)
      w.str(n);
    w.str(s.nodeNames);
    w.i64(s.opset);
    w.i64(s.inPlaceInput);
    w.u64(s.bodies.size());
    for (const Plan &body : s.bodies)
      writePlan(w, body, constants, dataSize);
  }
  w.u64(plan.inputs.size());
  for (int x : plan.inputs)
    w.i64(x);
  w.u64(plan.outputs.size());
  for (int x : plan.outputs)
    w.i64(x);
}

// The metadata of `plan`; constant bytes go to `data` (each at a 64-byte multiple).
std::string serializeMeta(const Plan &plan, std::vector<const Buffer *> &constants,
                          uint64_t &dataSize) {
  Writer w;
  dataSize = 0;
  writePlan(w, plan, constants, dataSize);
  return std::move(w.data());
}

// Buffer ids (-1 allowed where `optional`), each checked against the buffer count.
std::vector<int> readIds(Reader &r, size_t numBuffers, bool optional) {
  std::vector<int> ids(r.count(1 << 24));
  for (int &x : ids) {
    int64_t v = r.i64();
    if (v < (optional ? -1 : 0) || v >= int64_t(numBuffers))
      r.fail("buffer id " + std::to_string(v) + " out of range");
    x = int(v);
  }
  return ids;
}

// `data`/`dataSize`: the data section, which constants borrow under `keepAlive`. `depth`:
// how deep in control-flow bodies this plan lies (bounded, so a crafted file cannot exhaust
// the stack).
Plan readPlan(Reader &r, const char *data, uint64_t dataSize,
              const std::shared_ptr<const void> &keepAlive, int depth) {
  if (depth > 64)
    r.fail("control-flow bodies nested more than 64 deep");
  Plan plan;
  uint64_t nb = r.count(1 << 24, 48);
  for (uint64_t i = 0; i < nb; ++i) {
    Buffer b;
    b.id = int(i);
    uint64_t kind = r.u64();
    if (kind > uint64_t(BufferKind::Intermediate))
      r.fail("buffer " + std::to_string(i) + " has bad kind " + std::to_string(kind));
    b.kind = BufferKind(kind);
    b.dtype = readDType(r);
    uint64_t layout = r.u64();
    if (layout > uint64_t(Layout::ChannelBlocked))
      r.fail("buffer " + std::to_string(i) + " has bad layout " + std::to_string(layout));
    b.layout = Layout(layout);
    uint64_t flags = r.u64();
    if (flags > 1)
      r.fail("buffer " + std::to_string(i) + " has bad flags " + std::to_string(flags));
    b.runTimeShape = flags == 1;
    b.shape = readShape(r);
    b.name = r.str();
    b.packing = r.str();
    uint64_t bytes;
    if (!tensorBytes(b.dtype, b.shape, bytes))
      r.fail("buffer '" + b.name + "' has bad shape " + shapeToString(b.shape));
    if (b.kind == BufferKind::Constant) {
      uint64_t off = r.u64(), n = r.u64();
      // Packed bytes (padded blocks) may outnumber the plain ones; validatePlan checks that
      // their layout fits in them.
      if (b.packing.empty() && n != bytes)
        r.fail("constant '" + b.name + "' has " + std::to_string(n) + " bytes, its type needs " +
               std::to_string(bytes));
      if (off % kArtifactAlignment != 0 || off > dataSize || n > dataSize - off)
        r.fail("constant '" + b.name + "' lies outside the data section");
      b.constant = b.packing.empty()
                       ? Tensor::borrow(b.dtype, b.shape, data + off, keepAlive)
                       : Tensor::borrow(DType::U8, {int64_t(n)}, data + off, keepAlive);
    }
    plan.buffers.push_back(std::move(b));
  }
  uint64_t ns = r.count(1 << 24, 72);
  for (uint64_t i = 0; i < ns; ++i) {
    Step s;
    s.kernel = r.str();
    s.attrs = readAttrs(r);
    s.inputs = readIds(r, nb, true);
    s.outputs = readIds(r, nb, true);
    s.outputNames.resize(r.count(1 << 16));
    for (auto &n : s.outputNames)
      n = r.str();
    s.nodeNames = r.str();
    s.opset = r.i64();
    int64_t inPlace = r.i64();
    if (inPlace < -1 || inPlace >= int64_t(s.inputs.size()))
      r.fail("step " + std::to_string(i) + " has bad in-place input " + std::to_string(inPlace));
    s.inPlaceInput = int(inPlace);
    s.bodies.resize(r.count(1 << 8));
    for (Plan &body : s.bodies)
      body = readPlan(r, data, dataSize, keepAlive, depth + 1);
    plan.steps.push_back(std::move(s));
  }
  plan.inputs = readIds(r, nb, false);
  plan.outputs = readIds(r, nb, false);
  return plan;
}

Plan deserializeMeta(Reader &r, const char *data, uint64_t dataSize,
                     const std::shared_ptr<const void> &keepAlive) {
  Plan plan = readPlan(r, data, dataSize, keepAlive, 0);
  if (!r.done())
    r.fail("trailing metadata bytes");
  return plan;
}

// Parses a whole file image of `size` bytes at `file`, which `keepAlive` owns.
Plan parseImage(const char *file, size_t size, std::shared_ptr<const void> keepAlive,
                const std::string &path, const ArtifactReadOptions &opts) {
  using Kind = ArtifactError::Kind;
  if (size < 12 || std::memcmp(file, kMagic, 8) != 0)
    throw ArtifactError(Kind::NotArtifact, path + ": not a plumb artifact (bad magic)");
  uint32_t version;
  std::memcpy(&version, file + 8, 4);
  if (version != kArtifactVersion)
    throw ArtifactError(Kind::Version, path + ": artifact format version " +
                                           std::to_string(version) + ", this plumb reads version " +
                                           std::to_string(kArtifactVersion) + " (recompile it)");
  if (size < kArtifactHeaderBytes)
    throw ArtifactError(Kind::Truncated, path + ": truncated artifact (" + std::to_string(size) +
                                             " bytes, shorter than its header)");
  uint64_t metaSize = load64(file + 16), dataOffset = load64(file + 24),
           dataSize = load64(file + 32), hash = load64(file + 40);
  if (metaSize > UINT64_MAX / 2 || dataOffset < kArtifactHeaderBytes + metaSize ||
      dataOffset % kArtifactAlignment != 0 || dataSize > UINT64_MAX / 2 - dataOffset)
    throw ArtifactError(Kind::Corrupt, path + ": corrupt artifact (inconsistent section sizes)");
  uint64_t expected = dataOffset + dataSize;
  if (size < expected)
    throw ArtifactError(Kind::Truncated, path + ": truncated artifact (" + std::to_string(size) +
                                             " of " + std::to_string(expected) + " bytes)");
  if (size > expected)
    throw ArtifactError(Kind::Corrupt, path + ": corrupt artifact (" +
                                           std::to_string(size - expected) +
                                           " bytes after the data section)");
  if (opts.verifyChecksum && artifactChecksum(file, size) != hash)
    throw ArtifactError(Kind::Corrupt, path + ": corrupt artifact (checksum mismatch)");
  Reader r(file + kArtifactHeaderBytes, metaSize, path);
  Plan plan = deserializeMeta(r, file + dataOffset, dataSize, keepAlive);
  try {
    validatePlan(plan);
  } catch (const Error &e) {
    throw ArtifactError(Kind::InvalidPlan, path + ": " + e.what());
  }
  return plan;
}

} // namespace

uint64_t artifactChecksum(const void *file, size_t size) {
  const char *p = static_cast<const char *>(file);
  char header[kArtifactHeaderBytes] = {};
  std::memcpy(header, p, size < sizeof header ? size : sizeof header);
  std::memset(header + 40, 0, 8);
  Hasher h;
  h.update(header, sizeof header);
  if (size > sizeof header)
    h.update(p + sizeof header, size - sizeof header);
  return h.finish();
}

namespace {

// Writes the file in 1 MiB pieces, hashing each as it goes (the Hasher wants multiples of 32
// bytes but for the last piece), so the weights are never copied into one in-memory image.
class StreamingImage {
public:
  explicit StreamingImage(std::ofstream &f) : f_(f) { buf_.reserve(kPiece); }
  void put(const void *data, size_t n) {
    const char *p = static_cast<const char *>(data);
    while (n > 0) {
      size_t k = std::min(n, kPiece - buf_.size());
      buf_.append(p, k);
      p += k, n -= k;
      if (buf_.size() == kPiece)
        flush();
    }
  }
  void zeros(size_t n) {
    static const char zero[64] = {};
    for (; n > 0; n -= std::min(n, sizeof zero))
      put(zero, std::min(n, sizeof zero));
  }
  uint64_t finish() {
    flush();
    return hash_.finish();
  }

private:
  static constexpr size_t kPiece = size_t(1) << 20;
  void flush() {
    hash_.update(buf_.data(), buf_.size());
    f_.write(buf_.data(), std::streamsize(buf_.size()));
    buf_.clear();
  }
  std::ofstream &f_;
  std::string buf_;
  Hasher hash_;
};

} // namespace

void writeArtifact(const std::string &path, const Plan &plan) {
  validatePlan(plan);
  std::vector<const Buffer *> constants;
  uint64_t dataSize = 0;
  std::string meta = serializeMeta(plan, constants, dataSize);
  uint64_t dataOffset = alignUp(kArtifactHeaderBytes + meta.size());
  // The header with a zero checksum (as the checksum reads it), then everything else streamed;
  // the checksum is patched in at the end. A temporary file renamed into place: a failed
  // write leaves nothing half-written under `path`.
  char header[kArtifactHeaderBytes] = {};
  std::memcpy(header, kMagic, 8);
  uint32_t version = kArtifactVersion;
  std::memcpy(header + 8, &version, 4);
  uint64_t fields[3] = {meta.size(), dataOffset, dataSize};
  std::memcpy(header + 16, fields, sizeof fields);

  std::string tmp = path + ".tmp";
  bool ok;
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f)
      throw Error(path + ": cannot write");
    StreamingImage image(f);
    image.put(header, sizeof header);
    image.put(meta.data(), meta.size());
    image.zeros(dataOffset - kArtifactHeaderBytes - meta.size());
    uint64_t off = 0;
    for (const Buffer *b : constants) {
      image.zeros(alignUp(off) - off);
      off = alignUp(off);
      image.put(b->constant.raw(), b->constant.nbytes());
      off += b->constant.nbytes();
    }
    uint64_t hash = image.finish();
    f.seekp(40);
    f.write(reinterpret_cast<const char *>(&hash), 8);
    f.close();
    ok = bool(f);
  }
  if (!ok) {
    std::remove(tmp.c_str());
    throw Error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write");
  }
}

Plan readArtifact(const std::string &path, const ArtifactReadOptions &opts) {
  using Kind = ArtifactError::Kind;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw ArtifactError(Kind::Io, path + ": cannot open file (" + std::strerror(errno) + ")");
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ArtifactError(Kind::Io, path + ": not a regular file");
  }
  size_t size = size_t(st.st_size);
  if (size < kArtifactHeaderBytes) {
    // Too small to map usefully: read it to report what it is (bad magic, old version...).
    char small[kArtifactHeaderBytes];
    ssize_t got = ::read(fd, small, sizeof small);
    ::close(fd);
    if (got < 0)
      throw ArtifactError(Kind::Io, path + ": read failed");
    return parseImage(small, size_t(got), nullptr, path, opts);
  }
  void *map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED)
    throw ArtifactError(Kind::Io, path + ": cannot map file (" + std::strerror(errno) + ")");
  std::shared_ptr<const void> keepAlive(
      map, [size](const void *p) { ::munmap(const_cast<void *>(p), size); });
  return parseImage(static_cast<const char *>(map), size, std::move(keepAlive), path, opts);
}

Plan readArtifactFromMemory(const void *data, size_t size, const std::string &label,
                            const ArtifactReadOptions &opts) {
  if (!data && size)
    throw ArtifactError(ArtifactError::Kind::Io, label + ": no data");
  size_t rounded = (size + kArtifactAlignment) / kArtifactAlignment * kArtifactAlignment;
  void *copy = std::aligned_alloc(kArtifactAlignment, rounded);
  if (!copy)
    throw ArtifactError(ArtifactError::Kind::Io,
                        label + ": out of memory copying " + std::to_string(size) + " bytes");
  std::shared_ptr<const void> keepAlive(copy,
                                        [](const void *p) { std::free(const_cast<void *>(p)); });
  if (size)
    std::memcpy(copy, data, size);
  return parseImage(static_cast<const char *>(copy), size, std::move(keepAlive), label, opts);
}

} // namespace plumb
