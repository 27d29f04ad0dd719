// Shape inference for Einsum: each subscript letter takes its extent from the operands (a
// broadcast "..." takes the numpy broadcast of the dims it covers); the output lists the
// letters after "->", or, in implicit mode, the letters used once in alphabetical order.
#include "ir/PlumbDialect.h"

#include "mlir/IR/BuiltinTypes.h"

#include <map>

namespace plumb {

using mlir::ShapedType;

std::optional<llvm::SmallVector<int64_t>>
einsumResultDims(llvm::StringRef equation, llvm::ArrayRef<std::optional<llvm::SmallVector<int64_t>>> operands) {
  std::string eq;
  for (char c : equation)
    if (c != ' ')
      eq.push_back(c);
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (terms.size() != operands.size())
    return std::nullopt;
  std::map<char, int64_t> extent;
  std::map<char, int> count;
  llvm::SmallVector<int64_t> ellipsis;
  for (size_t i = 0; i < terms.size(); ++i) {
    if (!operands[i])
      return std::nullopt;
    const llvm::SmallVector<int64_t> &dims = *operands[i];
    const std::string &t = terms[i];
    size_t dots = t.find("...");
    size_t letters = t.size() - (dots == std::string::npos ? 0 : 3);
    if (dims.size() < letters || (dots == std::string::npos && dims.size() != letters))
      return std::nullopt;
    size_t covered = dims.size() - letters, d = 0;
    for (size_t k = 0; k < t.size(); ++k) {
      if (k == dots) {
        // Right-aligned numpy broadcast of the dims under "...".
        llvm::SmallVector<int64_t> here(dims.begin() + d, dims.begin() + d + covered);
        if (here.size() > ellipsis.size())
          ellipsis.insert(ellipsis.begin(), here.size() - ellipsis.size(), 1);
        size_t off = ellipsis.size() - here.size();
        for (size_t j = 0; j < here.size(); ++j)
          if (ellipsis[off + j] == 1 || ellipsis[off + j] == ShapedType::kDynamic)
            ellipsis[off + j] = here[j] == 1 && ellipsis[off + j] != 1 ? ellipsis[off + j] : here[j];
        d += covered, k += 2;
        continue;
      }
      char c = t[k];
      if (!std::isalpha(static_cast<unsigned char>(c)))
        return std::nullopt;
      int64_t e = dims[d++];
      auto it = extent.find(c);
      if (it == extent.end() || it->second == ShapedType::kDynamic || it->second == 1)
        extent[c] = e;
      count[c]++;
    }
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = eq.substr(arrow + 2);
  } else {
    out = ellipsis.empty() ? "" : "...";
    for (auto [c, n] : count)
      if (n == 1)
        out.push_back(c);
  }
  llvm::SmallVector<int64_t> result;
  for (size_t k = 0; k < out.size(); ++k) {
    if (out.compare(k, 3, "...") == 0) {
      result.append(ellipsis.begin(), ellipsis.end());
      k += 2;
      continue;
    }
    auto it = extent.find(out[k]);
    if (it == extent.end())
      return std::nullopt;
    result.push_back(it->second);
  }
  return result;
}

} // namespace plumb
