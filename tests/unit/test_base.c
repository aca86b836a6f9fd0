/* test_base.c: unit tests of core/base pieces that every module leans on: first-error-wins
 * diagnostics, the arena, the allocation fault-injection hook, number formatting, log
 * level parsing, the string-keyed hash map (against a plain array under random puts,
 * removals and lookups), and native backtrace frames (a function name only when that function
 * really contains the address: glibc's qsort calls the comparator from a static function
 * that a stripped libc.so.6 has no symbol for, and the nearest exported symbol below it,
 * which is what a plain symbol-table lookup returns, must not be shown as its name). */
#include <dlfcn.h>
#include <link.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/base/alloc.h"
#include "core/base/arena.h"
#include "core/base/backtrace.h"
#include "core/base/diag.h"
#include "core/base/errors.h"
#include "core/base/fmt.h"
#include "core/base/log.h"
#include "core/base/strmap.h"

static void test_diag_first_error_wins(void **state) {
  (void)state;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(d.code, 0);
  assert_int_equal(ls_diag_set_at(&d, LS_ETRUNC, "a.safetensors", 42, "header ends at %d", 7), LS_ETRUNC);
  assert_int_equal(ls_diag_set(&d, LS_EINVAL, "outer"), LS_EINVAL); /* returns its code... */
  assert_int_equal(d.code, LS_ETRUNC);                                /* ...but changes nothing */
  assert_string_equal(d.msg, "header ends at 7");
  assert_string_equal(d.file, "a.safetensors");
  assert_int_equal(d.offset, 42);
  ls_diag_prefix(&d, "%s: ", "shard 2");
  assert_string_equal(d.msg, "shard 2: header ends at 7");
  assert_int_equal(ls_diag_set(NULL, LS_ENOMEM, "no diag wanted"), LS_ENOMEM);
  assert_string_equal(ls_err_name(LS_EFORMAT), "LS_EFORMAT");
  assert_string_equal(ls_err_str(-9999), "unknown error");
}

static void test_diag_prefix_is_bounded(void **state) {
  (void)state;
  ls_diag d;
  ls_diag_init(&d);
  char long_msg[600];
  memset(long_msg, 'x', sizeof long_msg - 1);
  long_msg[sizeof long_msg - 1] = 0;
  ls_diag_set(&d, LS_EINVAL, "%s", long_msg);
  ls_diag_prefix(&d, "%s", "prefix: ");
  assert_int_equal(strlen(d.msg), sizeof d.msg - 1);
  assert_memory_equal(d.msg, "prefix: xxx", 11);
}

static void test_arena(void **state) {
  (void)state;
  ls_arena a;
  ls_arena_init(&a, 64);
  char *p = ls_arena_alloc(&a, 10);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % 16, 0);
  char *big = ls_arena_alloc(&a, 1000); /* larger than a block: gets its own */
  assert_non_null(big);
  memset(big, 1, 1000);
  assert_string_equal(ls_arena_sprintf(&a, "%s-%d", "layer", 17), "layer-17");
  assert_null(ls_arena_alloc(&a, SIZE_MAX));
  assert_null(ls_arena_calloc(&a, SIZE_MAX / 2, 4));
  ls_arena_reset(&a);
  assert_int_equal(a.used_total, 0);
  assert_non_null(ls_arena_strndup(&a, "abc", 2));
  ls_arena_deinit(&a);
}

static void test_alloc_fault_injection(void **state) {
  (void)state;
  ls_alloc_fail_after(2);
  void *a = ls_malloc(8), *b = ls_malloc(8), *c = ls_malloc(8);
  assert_non_null(a);
  assert_non_null(b);
  assert_null(c);
  assert_null(ls_strdup("x"));
  assert_int_equal(ls_alloc_count(), 4);
  ls_alloc_fail_reset();
  void *d = ls_calloc(3, 4);
  assert_non_null(d);
  assert_null(ls_calloc(SIZE_MAX / 2, 3)); /* overflow, not a huge allocation */
  assert_null(ls_reallocarray(NULL, SIZE_MAX / 2, 3));
  ls_free(a);
  ls_free(b);
  ls_free(d);
}

static void test_fmt(void **state) {
  (void)state;
  char b[64];
  assert_string_equal(ls_fmt_grouped(6738415616, b, sizeof b), "6,738,415,616");
  assert_string_equal(ls_fmt_grouped(-1234, b, sizeof b), "-1,234");
  assert_string_equal(ls_fmt_grouped(INT64_MIN, b, sizeof b), "-9,223,372,036,854,775,808");
  assert_string_equal(ls_fmt_grouped(999, b, sizeof b), "999");
  assert_string_equal(ls_fmt_count(6738415616.0, b, sizeof b), "6.74 B");
  assert_string_equal(ls_fmt_count(512, b, sizeof b), "512");
  assert_string_equal(ls_fmt_si(2.44e9, "FLOP", b, sizeof b), "2.44 GFLOP");
  assert_string_equal(ls_fmt_bytes(1073741824ull, b, sizeof b), "1.00 GiB");
  assert_string_equal(ls_fmt_bytes(512, b, sizeof b), "512 B");
  char small[5];
  ls_fmt_grouped(1234567, small, sizeof small); /* truncated, still terminated */
  assert_true(strlen(small) < sizeof small);
}

static void test_log_levels(void **state) {
  (void)state;
  ls_log_level l;
  assert_int_equal(ls_log_parse_level("DEBUG", &l), 0);
  assert_int_equal(l, LS_LOG_DEBUG);
  assert_int_equal(ls_log_parse_level("warning", &l), 0);
  assert_int_equal(l, LS_LOG_WARN);
  assert_int_equal(ls_log_parse_level("5", &l), 0);
  assert_int_equal(l, LS_LOG_TRACE);
  assert_int_equal(ls_log_parse_level("loud", &l), LS_EINVAL);
  assert_int_equal(ls_log_parse_level(NULL, &l), LS_EINVAL);
}

/* ---- native frames */

static ls_native_frame g_frames[32];
static size_t g_n_frames;

static int capturing_cmp(const void *a, const void *b) {
  if (!g_n_frames) g_n_frames = ls_backtrace_capture(g_frames, 32, 0);
  return *(const int *)a - *(const int *)b;
}

static void test_backtrace_names_are_exact(void **state) {
  (void)state;
  int v[64];
  for (int i = 0; i < 64; i++) v[i] = (i * 37) % 64;
  qsort(v, 64, sizeof v[0], capturing_cmp);
  assert_true(g_n_frames > 3);
  size_t in_libc = 0, unexported = 0, own = 0;
  for (size_t i = 0; i < g_n_frames; i++) {
    const ls_native_frame *f = &g_frames[i];
    char text[256];
    ls_backtrace_frame_format(f, text, sizeof text);
    if (f->symbol && strcmp(f->name, "capturing_cmp") == 0) {
      own++; /* a static function of this executable: its symbol table names it exactly */
      assert_int_equal(f->pc - f->offset, (uintptr_t)capturing_cmp);
    }
    Dl_info di;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1((void *)(f->pc - 1), &di, (void **)&sym, RTLD_DL_SYMENT) || !strstr(di.dli_fname, "libc.so")) continue;
    in_libc++;
    assert_non_null(strstr(text, f->symbol ? f->name : "libc.so.6+0x"));
    if (!di.dli_sname) {
      /* inside no exported function of libc: any exported name would be a wrong one */
      unexported++;
      if (f->symbol && dlsym(RTLD_DEFAULT, f->name))
        fail_msg("frame %zu at %#lx is inside no exported libc function but is named '%s'", i, (unsigned long)f->pc,
                 f->name);
      if (!f->symbol) assert_non_null(strstr(text, "(no symbol)"));
    } else if (f->symbol) {
      /* an exported function: the name must be that function's (or an alias at its address) */
      void *named = dlsym(RTLD_DEFAULT, f->name);
      if (named != di.dli_saddr) fail_msg("frame %zu named '%s' but lies in %s", i, f->name, di.dli_sname);
    }
  }
  if (in_libc < 2 || unexported < 1 || own != 1)
    fail_msg("the probe needs qsort's static helper on the stack: %zu libc frames, %zu outside exported functions, "
             "%zu comparator frames", in_libc, unexported, own);
}

static void test_strmap(void **state) {
  (void)state;
  enum { K = 1500 };
  static char keys[K][16];
  static void *ref[K]; /* what the map must hold: NULL = absent */
  for (int i = 0; i < K; i++) snprintf(keys[i], sizeof keys[i], "file:///%d", i);
  ls_strmap m;
  ls_strmap_init(&m);
  assert_null(ls_strmap_get(&m, "nothing"));
  assert_null(ls_strmap_remove(&m, "nothing"));
  unsigned r = 1;
  size_t n = 0;
  for (int step = 0; step < 200000; step++) {
    r = r * 1103515245u + 12345u;
    int k = (int)((r >> 8) % K), op = (int)((r >> 24) % 3);
    /* Phases: mostly puts, then mostly removals, so the table fills, wraps and empties. */
    if (step % 50000 >= 30000 && op == 0) op = 1;
    if (op == 0) {
      void *v = &keys[k][(step & 7) + 1];
      if (!ref[k]) n++;
      assert_int_equal(ls_strmap_put(&m, keys[k], v), LS_OK);
      ref[k] = v;
    } else if (op == 1) {
      assert_ptr_equal(ls_strmap_remove(&m, keys[k]), ref[k]);
      if (ref[k]) n--;
      ref[k] = NULL;
    } else {
      char copy[16]; /* looked up by an equal string, not the same pointer */
      memcpy(copy, keys[k], sizeof copy);
      assert_ptr_equal(ls_strmap_get(&m, copy), ref[k]);
    }
    assert_int_equal(m.n, n);
  }
  for (int k = 0; k < K; k++) assert_ptr_equal(ls_strmap_get(&m, keys[k]), ref[k]);
  ls_strmap_deinit(&m);
  /* Out of memory while growing: LS_ENOMEM and the map as it was. */
  ls_strmap_init(&m);
  for (int k = 0; k < 12; k++) assert_int_equal(ls_strmap_put(&m, keys[k], keys[k]), LS_OK);
  ls_alloc_fail_after(0);
  assert_int_equal(ls_strmap_put(&m, keys[12], keys[12]), LS_ENOMEM);
  ls_alloc_fail_reset();
  assert_int_equal(m.n, 12);
  assert_null(ls_strmap_get(&m, keys[12]));
  assert_ptr_equal(ls_strmap_get(&m, keys[11]), keys[11]);
  ls_strmap_deinit(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diag_first_error_wins), cmocka_unit_test(test_diag_prefix_is_bounded),
      cmocka_unit_test(test_arena), cmocka_unit_test(test_alloc_fault_injection),
      cmocka_unit_test(test_fmt), cmocka_unit_test(test_log_levels),
      cmocka_unit_test(test_backtrace_names_are_exact),
      cmocka_unit_test(test_strmap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
