// Scratch files and folders for tests: per process (the pid in the name, so parallel test
// binaries never share one) and removed when the test binary exits, also after a failed
// assertion returned early.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace plumb::testing_util {

// `name` under the system temp folder as "plumb_<pid>_<name>", removed at exit (file or folder).
inline std::string scratchPath(const std::string &name) {
  struct Registry {
    std::vector<std::string> paths;
    ~Registry() {
      std::error_code ec;
      for (const std::string &p : paths)
        std::filesystem::remove_all(p, ec);
    }
  };
  static Registry registry;
  std::string path = (std::filesystem::temp_directory_path() /
                      ("plumb_" + std::to_string(::getpid()) + "_" + name))
                         .string();
  registry.paths.push_back(path);
  return path;
}

} // namespace plumb::testing_util
