/* fuzz_common.c: the helpers of fuzz_common.h that every target links (setup, memfd); the
 * tensor harness is in tensor_harness.c, linked only by the tensor-file targets. */
#include "fuzz/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/base/log.h"

void fuzz_setup(void) {
  static int done;
  if (done) return;
  done = 1;
  ls_log_set_level(LS_LOG_OFF);
  unsetenv("LAYERSCOPE_DEBUG_METHODS");
  unsetenv("LAYERSCOPE_SIMD");
}

const char *fuzz_memfile(const uint8_t *data, size_t size) {
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    fd = memfd_create("layerscope-fuzz", 0);
    if (fd < 0) return NULL;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0) return NULL;
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
    if (n <= 0) return NULL;
    done += (size_t)n;
  }
  return path;
}

