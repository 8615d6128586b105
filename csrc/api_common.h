// api_common.h — what the C ABI translation units (api_*.cpp) share: the definitions of the
// opaque handle types declared in nearvm.h, and the status + message helper (no C++ exception
// crosses the C ABI: failures become a status code and a message in the caller's buffer).
#pragma once

#include <cstring>
#include <memory>
#include <string>

#include "nearvm.h"
#include "runtime/runtime.h"

struct nvm_engine {
  std::shared_ptr<nvm::rt::EngineImpl> impl;
};
struct nvm_module {
  std::shared_ptr<nvm::rt::ModuleImpl> impl;
};

namespace nvm::api {

// Copies `msg` (truncated, NUL-terminated) into err[errlen] and returns `status`.
inline int fail(char* err, size_t errlen, int status, const std::string& msg) {
  if (err && errlen) {
    size_t n = msg.size() < errlen - 1 ? msg.size() : errlen - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = 0;
  }
  return status;
}

}  // namespace nvm::api
