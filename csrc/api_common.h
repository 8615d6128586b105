// api_common.h — what the C ABI translation units (api_*.cpp) share: the definitions of the
// opaque handle types declared in nearvm.h, and the status + message helper (no C++ exception
// crosses the C ABI: failures become a status code and a message in the caller's buffer).
#pragma once

#include <cstring>
#include <memory>
#include <string>

#include "nearvm.h"
#include "runtime/code_registry.h"
#include "runtime/platform.h"
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

// The last step of every module creation (compiled or loaded): map the machine code executable,
// register it with its trap sites for the fault handler, and hand out the module handle.
inline int publish_module(std::shared_ptr<nvm::rt::ModuleImpl> impl, std::shared_ptr<nvm::rt::CodeBlob> blob,
                          const uint8_t* code, size_t code_size, nvm_module_t** out, char* err, size_t errlen) {
  if (code_size) {
    std::string error;
    if (!nvm::rt::platform::map_code(code, code_size, &blob->mem, &error))
      return fail(err, errlen, NVM_ERR_PLATFORM, "cannot map code: " + error);
    nvm::rt::CodeRange range;
    range.start = reinterpret_cast<uintptr_t>(blob->mem.ptr);
    range.end = range.start + code_size;
    range.sites = blob->sites.data();
    range.n_sites = blob->sites.size();
    range.keepalive = blob;
    impl->token = nvm::rt::registry_register(range);
  }
  impl->code = std::move(blob);
  *out = new nvm_module{std::move(impl)};
  return NVM_OK;
}

}  // namespace nvm::api
