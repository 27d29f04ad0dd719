// Shared by the CUDA backend's tests: the fixture models and their files.
#pragma once

#include <string>

namespace plumb::cudatest {

inline const char *kModels[] = {"resnet_tiny", "bert_tiny",   "gpt2_tiny",
                                "llama_tiny",  "mamba2_tiny", "dit_tiny"};

// tests/models/<model><suffix>, e.g. fixture("gpt2_tiny", ".onnx").
inline std::string fixture(const std::string &model, const std::string &suffix) {
  return std::string(PLUMB_SOURCE_DIR) + "/tests/models/" + model + suffix;
}

} // namespace plumb::cudatest
