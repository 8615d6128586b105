/* nearvm.h — the one C ABI of nearvm's native core.
 *
 * The part between the cffi-begin and cffi-end markers is preprocessor-free: the build script
 * (python/nearvm/_build/ffibuilder.py) feeds exactly that text to cffi's cdef, so this file is
 * the single source of truth for the Python <-> C boundary. Enum values that Python needs are
 * declared with `...` in the cdef view and read from C at build time, never duplicated.
 *
 * Conventions: functions are `nvm_*`, enums `NVM_*`, opaque handles `nvm_*_t`. No C++
 * exception crosses this boundary; errors come back as status codes plus a message buffer.
 */
#ifndef NEARVM_H
#define NEARVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cffi-begin */

/* Why wasm execution stopped (mirrors nearvm.errors.TrapCode). */
typedef enum nvm_trap_code {
  NVM_TRAP_NONE = 0,
  NVM_TRAP_UNREACHABLE = 1,
  NVM_TRAP_MEMORY_OUT_OF_BOUNDS = 2,
  NVM_TRAP_TABLE_OUT_OF_BOUNDS = 3,
  NVM_TRAP_UNINITIALIZED_ELEMENT = 4,
  NVM_TRAP_INDIRECT_CALL_TYPE_MISMATCH = 5,
  NVM_TRAP_INTEGER_DIVIDE_BY_ZERO = 6,
  NVM_TRAP_INTEGER_OVERFLOW = 7,
  NVM_TRAP_INVALID_CONVERSION = 8,
  NVM_TRAP_STACK_OVERFLOW = 9,
  NVM_TRAP_OUT_OF_GAS = 10,
  NVM_TRAP_HOST_ERROR = 11
} nvm_trap_code;

/* Library version string, e.g. "0.1.0". */
const char* nvm_version(void);
/* ISA the library was built for and executes: "x86_64" or "aarch64". */
const char* nvm_host_isa(void);

/* cffi-end */

#ifdef __cplusplus
}
#endif

#endif /* NEARVM_H */
