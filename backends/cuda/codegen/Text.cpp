// TfIdfVectorizer (MovementWriter, see MovementWriter.h), the reference's kernels/Misc.cpp
// counting: one thread per output element (row, column) counts, over each skip in
// [0, max_skip_count] and each start, the occurrences in its row of the pooled n-grams mapped
// to its column (unigrams once, not once per skip), then applies the mode (TF: the count,
// IDF: the column's weight where the count is not 0, TFIDF: their product) in double, as
// the reference. The pool, regrouped by column at compile time, is file-scope tables.
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/MovementWriter.h"

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace plumb::cuda {

namespace {

// The pooled n-grams of lengths [min_gram_length, max_gram_length] by output column (a later
// duplicate replacing an earlier one, as the reference's map does); throws on attributes the
// reference refuses.
std::vector<std::vector<std::vector<int64_t>>> gramsByColumn(const KernelGraph &g, const KNode &n,
                                                             int64_t width) {
  int64_t minN = n.attrs.getInt("min_gram_length", 1), maxN = n.attrs.getInt("max_gram_length", 1);
  std::vector<int64_t> counts = n.attrs.getInts("ngram_counts"), indexes = n.attrs.getInts("ngram_indexes"),
                       pool = n.attrs.getInts("pool_int64s");
  std::map<std::vector<int64_t>, int64_t> column;
  int64_t k = 0;
  for (size_t level = 0; level < counts.size(); ++level) {
    int64_t len = int64_t(level) + 1;
    int64_t end = level + 1 < counts.size() ? counts[level + 1] : int64_t(pool.size());
    if (counts[level] < 0 || end > int64_t(pool.size()) || (end - counts[level]) % len != 0)
      codegenError(g, "node '" + n.name + "' (TfIdfVectorizer): ngram_counts does not describe pool_int64s");
    for (int64_t p = counts[level]; p < end; p += len, ++k) {
      if (k >= int64_t(indexes.size()) || indexes[size_t(k)] < 0 || indexes[size_t(k)] >= width)
        codegenError(g, "node '" + n.name + "' (TfIdfVectorizer): ngram_indexes out of range");
      column[std::vector<int64_t>(pool.begin() + p, pool.begin() + p + len)] = indexes[size_t(k)];
    }
  }
  std::vector<std::vector<std::vector<int64_t>>> by(static_cast<size_t>(width));
  for (const auto &[gram, col] : column)
    if (int64_t(gram.size()) >= minN && int64_t(gram.size()) <= maxN)
      by[size_t(col)].push_back(gram);
  return by;
}

} // namespace

// The column -> n-gram tables: plumb_tf_first[col] .. [col + 1] index plumb_tf_at, where
// gram q's tokens are plumb_tf_tokens[plumb_tf_at[q] .. plumb_tf_at[q + 1]].
void MovementWriter::tfIdfTables() {
  int64_t width = shapeOf(n_.results.at(0)).back();
  std::vector<std::vector<std::vector<int64_t>>> by = gramsByColumn(g_, n_, width);
  std::vector<int64_t> first = {0}, at = {0}, tokens;
  for (const auto &grams : by) {
    for (const std::vector<int64_t> &gram : grams) {
      tokens.insert(tokens.end(), gram.begin(), gram.end());
      at.push_back(int64_t(tokens.size()));
    }
    first.push_back(int64_t(at.size()) - 1);
  }
  if (tokens.empty())
    tokens.push_back(0); // no empty array initializers
  auto table = [&](const char *name, const std::vector<int64_t> &v) {
    os_ << "__device__ const long long " << name << "[] = {";
    for (size_t i = 0; i < v.size(); ++i)
      os_ << (i ? "," : "") << v[i] << "LL";
    os_ << "};\n";
  };
  table("plumb_tf_first", first);
  table("plumb_tf_at", at);
  table("plumb_tf_tokens", tokens);
  std::vector<double> weights = n_.attrs.getFloats("weights");
  if (!weights.empty()) {
    os_ << "__device__ const double plumb_tf_weight[] = {";
    for (size_t i = 0; i < weights.size(); ++i) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", weights[i]);
      os_ << (i ? "," : "") << buf;
    }
    os_ << "};\n";
  }
}

void MovementWriter::tfIdf(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  const Shape &in = shapeOf(x);
  int64_t maxSkip = n_.attrs.getInt("max_skip_count", 0), len = in.back();
  std::string mode = n_.attrs.getString("mode", "TF");
  std::vector<double> weights = n_.attrs.getFloats("weights");
  int64_t width = shapeOf(r).back();
  if (!isInteger(g_.values[size_t(x)].dtype) || in.size() > 2 || maxSkip < 0 ||
      (mode != "TF" && mode != "IDF" && mode != "TFIDF") ||
      (!weights.empty() && int64_t(weights.size()) < width))
    codegenError(g_, "node '" + n_.name + "' (TfIdfVectorizer) takes a 1-D or 2-D integer X, a "
                     "mode TF, IDF or TFIDF and a weight per column");
  std::string col = c.back(), row = in.size() == 2 ? c[0] : "0";
  std::string l = std::to_string(len) + "LL";
  os_ << "    double count = 0;\n"
      << "    for (long long q = plumb_tf_first[" << col << "]; q < plumb_tf_first[" << col << " + 1]; ++q) {\n"
      << "      const long long at = plumb_tf_at[q], n = plumb_tf_at[q + 1] - at;\n"
      << "      for (long long skip = 0; skip <= " << maxSkip << "LL && (skip == 0 || n > 1); ++skip)\n"
      << "        for (long long s = 0; s + (n - 1) * (skip + 1) < " << l << "; ++s) {\n"
      << "          bool same = true;\n"
      << "          for (long long j = 0; same && j < n; ++j)\n"
      << "            same = (long long)" << w_.paramName(x) << "[" << row << " * " << l
      << " + s + j * (skip + 1)] == plumb_tf_tokens[at + j];\n"
      << "          count += same ? 1.0 : 0.0;\n"
      << "        }\n"
      << "    }\n";
  if (mode != "TF") {
    os_ << "    const double w = ";
    if (weights.empty()) {
      os_ << "1.0;\n";
    } else {
      os_ << "plumb_tf_weight[" << col << "];\n";
    }
    os_ << "    count = " << (mode == "IDF" ? "count > 0 ? w : 0.0" : "count * w") << ";\n";
  }
  DType t = g_.values[size_t(r)].dtype;
  os_ << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "(" + computeType(t) + ")count") << ";\n";
}

} // namespace plumb::cuda
