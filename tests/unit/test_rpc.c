/* test_rpc.c: the transport. Framing (rpc/framing.c): split headers, one byte at a time,
 * several messages in one chunk, header case and Content-Type, bad/huge/conflicting lengths,
 * junk before a header, end of input inside a message, allocation failure. Connection
 * (rpc/conn.c): messages through a socketpair and through regular files, replies sent from
 * pool threads arrive whole and in order, end of input closes cleanly. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "rpc/conn.h"
#include "rpc/framing.h"
#include "rpc/job.h"

/* ================================================================ framing */

typedef struct sink {
  char msgs[16][256];
  size_t lens[16];
  int n_msgs;
  int errs[16];
  char err_msgs[16][256];
  int n_errs;
} sink;

static void on_msg(void *ud, const char *body, size_t len) {
  sink *s = ud;
  assert_true(s->n_msgs < 16);
  assert_true(len < 256);
  assert_int_equal(body[len], '\0');
  memcpy(s->msgs[s->n_msgs], body, len + 1);
  s->lens[s->n_msgs++] = len;
}

static void on_err(void *ud, int code, const char *msg) {
  sink *s = ud;
  assert_true(s->n_errs < 16);
  s->errs[s->n_errs] = code;
  snprintf(s->err_msgs[s->n_errs++], 256, "%s", msg);
}

static void feed(rpc_framer *f, const char *s) { assert_int_equal(rpc_framer_feed(f, s, strlen(s)), LS_OK); }

static void test_split_header(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  feed(&f, "Content-Len");
  feed(&f, "gth: 5\r");
  assert_int_equal(s.n_msgs, 0);
  feed(&f, "\n\r");
  feed(&f, "\nhel");
  assert_int_equal(s.n_msgs, 0);
  feed(&f, "lo");
  assert_int_equal(s.n_msgs, 1);
  assert_string_equal(s.msgs[0], "hello");
  assert_int_equal(s.n_errs, 0);
  assert_true(rpc_framer_idle(&f));
  assert_int_equal(rpc_framer_finish(&f), LS_OK);
  rpc_framer_deinit(&f);
}

static void test_byte_at_a_time(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  const char *in = "Content-Length: 7\r\n\r\n{\"a\":1}Content-Length: 2\r\n\r\n[]";
  for (size_t i = 0; i < strlen(in); i++) assert_int_equal(rpc_framer_feed(&f, in + i, 1), LS_OK);
  assert_int_equal(s.n_msgs, 2);
  assert_string_equal(s.msgs[0], "{\"a\":1}");
  assert_string_equal(s.msgs[1], "[]");
  assert_int_equal(s.n_errs, 0);
  rpc_framer_deinit(&f);
}

static void test_two_in_one_chunk_any_case(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  feed(&f, "content-length: 3\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\nabc"
           "CONTENT-LENGTH:4\n\nwxyz");
  assert_int_equal(s.n_msgs, 2);
  assert_string_equal(s.msgs[0], "abc");
  assert_string_equal(s.msgs[1], "wxyz");
  assert_int_equal(s.n_errs, 0);
  rpc_framer_deinit(&f);
}

static void test_bad_lengths_then_recovery(void **state) {
  (void)state;
  const char *bad[] = {"Content-Length: abc\r\n\r\n", "Content-Length: -5\r\n\r\n",
                       "Content-Length: 12x\r\n\r\n", "Content-Length: 99999999999999999999999\r\n\r\n",
                       "Content-Length: \r\n\r\n", "Content-Type: text/plain\r\n\r\n",
                       "Content-Length: 3\r\nContent-Length: 4\r\n\r\n"};
  const char *why[] = {"not a non-negative integer", "not a non-negative integer", "not a non-negative integer",
                       "overflows", "not a non-negative integer", "without a Content-Length", "conflicting"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sink s = {0};
    rpc_framer f;
    rpc_framer_init(&f, 0, on_msg, on_err, &s);
    feed(&f, bad[i]);
    feed(&f, "Content-Length: 2\r\n\r\nok");
    assert_int_equal(s.n_errs, 1);
    assert_int_equal(s.errs[0], LS_EFORMAT);
    assert_non_null(strstr(s.err_msgs[0], why[i]));
    assert_int_equal(s.n_msgs, 1);
    assert_string_equal(s.msgs[0], "ok");
    rpc_framer_deinit(&f);
  }
}

static void test_over_cap_is_skipped(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 16, on_msg, on_err, &s);
  feed(&f, "Content-Length: 20\r\n\r\n0123456789");
  feed(&f, "0123456789Content-Length: 16\r\n\r\n0123456789abcdef");
  assert_int_equal(s.n_errs, 1);
  assert_int_equal(s.errs[0], LS_ELIMIT);
  assert_non_null(strstr(s.err_msgs[0], "exceeds the limit of 16"));
  assert_int_equal(s.n_msgs, 1); /* the skipped body never shows up as a message */
  assert_string_equal(s.msgs[0], "0123456789abcdef");
  /* A huge length with no data behind it: end of input reports the truncation. */
  feed(&f, "Content-Length: 18446744073709551615\r\n\r\n");
  assert_int_equal(s.errs[1], LS_ELIMIT);
  assert_int_equal(rpc_framer_finish(&f), LS_ETRUNC);
  assert_int_equal(s.errs[2], LS_ETRUNC);
  rpc_framer_deinit(&f);
}

static void test_default_cap_is_256_mib(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  assert_int_equal(f.max_len, (size_t)256 << 20);
  feed(&f, "Content-Length: 268435457\r\n\r\n");
  assert_int_equal(s.n_errs, 1);
  assert_int_equal(s.errs[0], LS_ELIMIT);
  rpc_framer_finish(&f);
  rpc_framer_deinit(&f);
}

static void test_eof_mid_message(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  feed(&f, "Content-Length: 10\r\n\r\nabc");
  assert_int_equal(rpc_framer_finish(&f), LS_ETRUNC);
  assert_int_equal(s.n_msgs, 0);
  assert_non_null(strstr(s.err_msgs[0], "got 3 of 10"));
  feed(&f, "Content-Len");
  assert_int_equal(rpc_framer_finish(&f), LS_ETRUNC);
  assert_non_null(strstr(s.err_msgs[1], "header"));
  /* Between messages, end of input is clean. */
  feed(&f, "Content-Length: 1\r\n\r\nx");
  assert_int_equal(rpc_framer_finish(&f), LS_OK);
  assert_int_equal(s.n_msgs, 1);
  rpc_framer_deinit(&f);
}

static void test_junk_before_header(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  /* A body longer than its Content-Length said leaves junk glued to the next header. */
  feed(&f, "garbage{\"x\":1}Content-Length: 2\r\n\r\n{}");
  assert_int_equal(s.n_msgs, 1);
  assert_string_equal(s.msgs[0], "{}");
  assert_int_equal(s.n_errs, 1);
  assert_non_null(strstr(s.err_msgs[0], "skipped 14 bytes"));
  /* A junk line longer than the line buffer, with a header at its end. */
  static char longjunk[20000];
  memset(longjunk, 'z', sizeof longjunk);
  rpc_framer_feed(&f, longjunk, sizeof longjunk);
  feed(&f, "Content-Length: 1\r\n\r\nQ");
  assert_int_equal(s.n_msgs, 2);
  assert_string_equal(s.msgs[1], "Q");
  /* Blank lines between messages are tolerated silently. */
  feed(&f, "\r\n\r\nContent-Length: 1\r\n\r\nR");
  assert_int_equal(s.n_msgs, 3);
  assert_int_equal(s.n_errs, 2);
  rpc_framer_deinit(&f);
}

static void test_empty_body_and_binary(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  feed(&f, "Content-Length: 0\r\n\r\n");
  assert_int_equal(s.n_msgs, 1);
  assert_int_equal(s.lens[0], 0);
  assert_int_equal(rpc_framer_feed(&f, "Content-Length: 3\r\n\r\na\0b", 24), LS_OK);
  assert_int_equal(s.n_msgs, 2);
  assert_int_equal(s.lens[1], 3);
  assert_int_equal(s.msgs[1][1], '\0');
  rpc_framer_deinit(&f);
}

static void test_alloc_failure_resyncs(void **state) {
  (void)state;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  ls_alloc_fail_after(0);
  assert_int_equal(rpc_framer_feed(&f, "Content-Length: 3\r\n\r\nabc", 24), LS_ENOMEM);
  ls_alloc_fail_reset();
  feed(&f, "Content-Length: 2\r\n\r\nok");
  assert_int_equal(s.n_msgs, 1);
  assert_string_equal(s.msgs[0], "ok");
  rpc_framer_deinit(&f);
}

/* ================================================================ connection */

typedef struct echo_ctx {
  rpc_conn *c;
  int jobs;       /* replies still being produced on pool threads */
  int eof;
  int n_msgs;
} echo_ctx;

typedef struct echo_job {
  echo_ctx *ctx;
  char body[64];
} echo_job;

static void echo_work(rpc_job *j, void *arg) {
  echo_job *e = arg;
  (void)j;
  /* Off the loop thread: rpc_conn_send must hand the bytes to the loop. */
  assert_false(rpc_conn_on_loop_thread(e->ctx->c));
  assert_int_equal(rpc_conn_send(e->ctx->c, e->body, strlen(e->body)), LS_OK);
}

static void maybe_close(echo_ctx *x) {
  if (x->eof && x->jobs == 0) rpc_conn_close(x->c, NULL, NULL);
}

static void echo_done(rpc_job *j, void *arg, int canceled) {
  echo_job *e = arg;
  (void)j;
  assert_false(canceled);
  e->ctx->jobs--;
  maybe_close(e->ctx);
  free(e);
}

static void conn_msg(void *ud, const char *body, size_t len) {
  echo_ctx *x = ud;
  x->n_msgs++;
  echo_job *e = calloc(1, sizeof *e);
  assert_non_null(e);
  e->ctx = x;
  snprintf(e->body, sizeof e->body, "re:%.*s", (int)len, body);
  x->jobs++;
  /* Every other reply goes straight from the loop thread, the rest from the pool. */
  if (x->n_msgs % 2) {
    assert_int_equal(rpc_conn_send(x->c, e->body, strlen(e->body)), LS_OK);
    x->jobs--;
    free(e);
    return;
  }
  assert_int_equal(rpc_job_submit(uv_default_loop(), echo_work, echo_done, e, NULL), LS_OK);
}

static void conn_eof(void *ud) {
  echo_ctx *x = ud;
  x->eof = 1;
  maybe_close(x);
}

static void conn_err(void *ud, int code, const char *msg) { (void)ud; (void)code; (void)msg; }

/* Reads everything from fd and checks it is n framed replies "re:mK". */
static void check_replies(int fd, int n) {
  static char buf[65536];
  size_t len = 0;
  ssize_t k;
  while ((k = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)k;
  buf[len] = 0;
  sink s = {0};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_msg, on_err, &s);
  assert_int_equal(rpc_framer_feed(&f, buf, len), LS_OK);
  assert_int_equal(s.n_errs, 0);
  assert_int_equal(s.n_msgs, n);
  /* Each reply is whole; all are present (pool replies may overtake loop ones). */
  for (int i = 0; i < n; i++) {
    char want[32];
    snprintf(want, sizeof want, "re:m%d", i);
    int found = 0;
    for (int j = 0; j < s.n_msgs; j++) found |= strcmp(s.msgs[j], want) == 0;
    assert_true(found);
  }
  rpc_framer_deinit(&f);
}

static void run_echo(int in_fd, int out_fd, const char *prefill) {
  uv_loop_t *loop = uv_default_loop();
  echo_ctx x = {0};
  rpc_conn_opts o = {in_fd, out_fd, 0, prefill, prefill ? strlen(prefill) : 0};
  rpc_conn_cbs cbs = {conn_msg, conn_err, conn_eof};
  assert_int_equal(rpc_conn_new(loop, &o, &cbs, &x, &x.c), LS_OK);
  assert_int_equal(rpc_conn_start(x.c), LS_OK);
  assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(x.n_msgs, 8);
  assert_int_equal(rpc_conn_pending_writes(x.c), 0);
  /* After close, posting is refused and the caller keeps its argument. */
  assert_int_equal(rpc_conn_post(x.c, free, NULL), LS_ESTATE);
  rpc_conn_free(x.c);
}

static void write_requests(int fd, int from, int to) {
  for (int i = from; i < to; i++) {
    char m[64];
    int n = snprintf(m, sizeof m, "Content-Length: %d\r\n\r\nm%d", i < 10 ? 2 : 3, i);
    assert_int_equal(write(fd, m, (size_t)n), n);
  }
}

static void test_conn_socketpair(void **state) {
  (void)state;
  int in[2], out[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, in), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
  write_requests(in[1], 2, 8);
  close(in[1]); /* end of input after the messages */
  run_echo(in[0], out[0], "Content-Length: 2\r\n\r\nm0Content-Length: 2\r\n\r\nm1");
  close(out[0]); /* the conn does not own its fds' closing; the reader needs EOF */
  check_replies(out[1], 8);
  close(in[0]);
  close(out[1]);
}

static void test_conn_regular_files(void **state) {
  (void)state;
  char in_path[] = "/tmp/ls_test_rpc_inXXXXXX", out_path[] = "/tmp/ls_test_rpc_outXXXXXX";
  int in = mkstemp(in_path), out = mkstemp(out_path);
  assert_true(in >= 0 && out >= 0);
  write_requests(in, 0, 8);
  assert_int_equal(lseek(in, 0, SEEK_SET), 0);
  run_echo(in, out, NULL);
  assert_int_equal(lseek(out, 0, SEEK_SET), 0);
  check_replies(out, 8);
  close(in);
  close(out);
  unlink(in_path);
  unlink(out_path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_header),        cmocka_unit_test(test_byte_at_a_time),
      cmocka_unit_test(test_two_in_one_chunk_any_case), cmocka_unit_test(test_bad_lengths_then_recovery),
      cmocka_unit_test(test_over_cap_is_skipped), cmocka_unit_test(test_default_cap_is_256_mib),
      cmocka_unit_test(test_eof_mid_message),     cmocka_unit_test(test_junk_before_header),
      cmocka_unit_test(test_empty_body_and_binary), cmocka_unit_test(test_alloc_failure_resyncs),
      cmocka_unit_test(test_conn_socketpair),     cmocka_unit_test(test_conn_regular_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
