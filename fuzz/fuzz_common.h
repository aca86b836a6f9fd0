/* fuzz_common.h: helpers shared by the libFuzzer targets of fuzz/: quieting the logger,
 * turning a fuzz input into a file path (the tensor readers work on paths and mmap), and
 * the one harness body the three tensor-file targets share. Each target is its own
 * executable (fuzz_<name>.c) so that its corpus, dictionary and coverage stay separate. */
#ifndef LS_FUZZ_COMMON_H
#define LS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Once per process: logging off, no debug-only LSP methods, no forced SIMD path. */
void fuzz_setup(void);

/* Writes data to a memfd (reused between inputs) and returns a path to it
 * ("/proc/self/fd/N"), or NULL when the memfd cannot be written. */
const char *fuzz_memfile(const uint8_t *data, size_t size);

/* Opens data as a tensor file, then reads every tensor's statistics and dequantizes its
 * first, middle and last rows and a window of elements, so the data access paths (not only
 * the header parser) run on whatever the header claimed. */
void fuzz_tensor_file(const uint8_t *data, size_t size);

#endif
