/* test_dap.c: the DAP session (dap/session.c): the state machine accepts exactly the
 * transitions of session.h and names both states when refusing; launch arguments are
 * parsed and every kind of bad value is refused with a message naming the argument; and a
 * launch's target (the fake of fake_target.c) floods output from the run's thread while the
 * loop keeps answering requests, every message in seq order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sys/socket.h>
#include <uv.h>

#include "core/base/errors.h"
#include "dap/server.h"
#include "dap/session.h"
#include "rpc/framing.h"
#include "tests/unit/fake_target.h"

static void test_transitions(void **state) {
  (void)state;
  dap_session ss = {0};
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(dap_session_transition(&ss, DAP_S_RUNNING, &d), LS_ESTATE);
  assert_non_null(strstr(d.msg, "while the session is new (wanted: running)"));
  assert_int_equal(dap_session_transition(&ss, DAP_S_TERMINATED, NULL), LS_ESTATE);
  assert_int_equal(dap_session_transition(&ss, DAP_S_INITIALIZED, NULL), LS_OK);
  assert_int_equal(dap_session_transition(&ss, DAP_S_INITIALIZED, NULL), LS_ESTATE);
  assert_int_equal(dap_session_transition(&ss, DAP_S_CONFIGURING, NULL), LS_OK);
  assert_int_equal(dap_session_transition(&ss, DAP_S_STOPPED, NULL), LS_ESTATE);
  assert_int_equal(dap_session_transition(&ss, DAP_S_RUNNING, NULL), LS_OK);
  assert_int_equal(dap_session_transition(&ss, DAP_S_STOPPED, NULL), LS_OK);
  assert_int_equal(dap_session_transition(&ss, DAP_S_RUNNING, NULL), LS_OK);
  assert_int_equal(dap_session_transition(&ss, DAP_S_TERMINATED, NULL), LS_OK);
  assert_int_equal(dap_session_transition(&ss, DAP_S_RUNNING, NULL), LS_ESTATE);
  assert_int_equal(dap_session_transition(&ss, DAP_S_TERMINATED, NULL), LS_ESTATE);
  assert_string_equal(dap_state_name(DAP_S_CONFIGURING), "configuring");
}

static char g_cfg[64];

static int setup(void **state) {
  (void)state;
  strcpy(g_cfg, "/tmp/ls_test_dap_XXXXXX");
  int fd = mkstemp(g_cfg);
  if (fd < 0) return -1;
  if (write(fd, "{}", 2) != 2) return -1;
  close(fd);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(g_cfg);
  return 0;
}

static void test_launch_ok(void **state) {
  (void)state;
  json_t *a = json_pack("{s:s, s:[i,i,i], s:i, s:i, s:b, s:b, s:s}", "config", g_cfg, "tokens", 1, 2, 3,
                        "seed", 7, "threads", 4, "stopOnEntry", 1, "showNativeFrames", 0, "type", "layerscope");
  dap_launch_args la;
  ls_diag d;
  ls_diag_init(&d);
  assert_int_equal(dap_launch_args_parse(a, &la, &d), LS_OK);
  assert_string_equal(la.config, g_cfg);
  assert_int_equal(la.n_tokens, 3);
  assert_int_equal(la.tokens[2], 3);
  assert_int_equal(la.seed, 7);
  assert_int_equal(la.threads, 4);
  assert_int_equal(la.stop_on_entry, 1);
  assert_int_equal(la.show_native_frames, 0);
  assert_null(la.weights);
  dap_launch_args_free(&la);
  json_decref(a);
  /* Relative paths resolve against cwd; a directory is fine for weights. */
  const char *base = strrchr(g_cfg, '/') + 1;
  a = json_pack("{s:s, s:s, s:s, s:i}", "config", base, "cwd", "/tmp", "weights", "/tmp", "randomTokens", 16);
  ls_diag_init(&d);
  assert_int_equal(dap_launch_args_parse(a, &la, &d), LS_OK);
  assert_string_equal(la.config, g_cfg);
  assert_int_equal(la.random_tokens, 16);
  dap_launch_args_free(&la);
  json_decref(a);
}

static void test_launch_errors(void **state) {
  (void)state;
  struct { json_t *args; const char *why; } cases[] = {
      {NULL, "'config' is required"},
      {json_pack("{s:i}", "config", 1), "'config' must be a non-empty string path, got an integer"},
      {json_pack("{s:s}", "config", "/nonexistent/config.json"), "cannot be opened: No such file"},
      {json_pack("{s:s}", "config", "/tmp"), "is not a regular file"},
      {json_pack("{s:s, s:s}", "config", g_cfg, "weights", "/nonexistent"), "weights file '/nonexistent'"},
      {json_pack("{s:s, s:[i,s]}", "config", g_cfg, "tokens", 1, "x"), "'tokens[1]' must be a token id"},
      {json_pack("{s:s, s:[I]}", "config", g_cfg, "tokens", (json_int_t)1 << 40), "'tokens[0]'"},
      {json_pack("{s:s, s:[i], s:i}", "config", g_cfg, "tokens", 1, "randomTokens", 3), "not both"},
      {json_pack("{s:s, s:i}", "config", g_cfg, "threads", 5000), "'threads' must be an integer in [1, 1024]"},
      {json_pack("{s:s, s:f}", "config", g_cfg, "seed", 0.5), "'seed' must be an integer"},
      {json_pack("{s:s, s:s}", "config", g_cfg, "stopOnEntry", "no"), "'stopOnEntry' must be a boolean"},
      {json_pack("{s:s%}", "config", "a\0b", (size_t)3), "NUL character"},
      {json_pack("[]"), "'arguments' must be an object"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dap_launch_args la;
    ls_diag d;
    ls_diag_init(&d);
    assert_int_equal(dap_launch_args_parse(cases[i].args, &la, &d), LS_EINVAL);
    if (!strstr(d.msg, cases[i].why)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].why);
    assert_null(la.config);
    assert_null(la.tokens);
    json_decref(cases[i].args);
  }
}

/* ---- a target's thread sending events while the loop keeps serving ---- */

#define N_LINES 300

/* The launch's target: the fake (fake_target.c), printing N_LINES lines of program output
 * from the run's thread and ending by itself. */
static int open_fake(const dap_launch_args *la, ls_dbg_target *out, ls_diag *d) {
  (void)la;
  fake_target_opts o = fake_target_defaults();
  o.n_lines = N_LINES;
  return fake_target_new(out, &o, d);
}

typedef struct server_run { dap_server_opts o; int rc; } server_run;
static void server_thread(void *arg) { server_run *r = arg; r->rc = dap_server_main(&r->o); }

typedef struct reader { int n, last_seq, outputs, last_line, responses, terminated, bad; } reader;
static void on_frame(void *ud, const char *body, size_t len) {
  reader *r = ud;
  json_t *m = json_loadb(body, len, 0, NULL);
  if (!m) { r->bad++; return; }
  int seq = (int)json_integer_value(json_object_get(m, "seq"));
  if (seq != r->last_seq + 1) r->bad++;
  r->last_seq = seq;
  const char *type = json_string_value(json_object_get(m, "type"));
  const char *ev = json_string_value(json_object_get(m, "event"));
  if (type && strcmp(type, "response") == 0) {
    r->responses++;
    if (!json_is_true(json_object_get(m, "success"))) r->bad++;
  } else if (ev && strcmp(ev, "output") == 0) {
    const char *out = json_string_value(json_object_get(json_object_get(m, "body"), "output"));
    int line = -1;
    if (out && sscanf(out, "line %d", &line) == 1 && strcmp(json_string_value(json_object_get(json_object_get(m, "body"), "category")), "stdout") == 0) {
      if (line != r->last_line + 1) r->bad++;
      r->last_line = line;
      r->outputs++;
    }
  } else if (ev && strcmp(ev, "terminated") == 0) {
    r->terminated++;
  }
  json_decref(m);
}
static void on_frame_err(void *ud, int code, const char *msg) { (void)code; (void)msg; ((reader *)ud)->bad++; }

static void send_req(int fd, const char *json) {
  char hdr[64];
  int h = snprintf(hdr, sizeof hdr, "Content-Length: %zu\r\n\r\n", strlen(json));
  assert_int_equal(write(fd, hdr, (size_t)h), h);
  assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
}

static void test_engine_thread_events(void **state) {
  (void)state;
  int in[2], out[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, in), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
  server_run run = {{in[0], out[0], 0, NULL, 0, open_fake}, -1};
  uv_thread_t th;
  assert_int_equal(uv_thread_create(&th, server_thread, &run), 0);
  char launch[256];
  snprintf(launch, sizeof launch, "{\"seq\":2,\"type\":\"request\",\"command\":\"launch\",\"arguments\":{\"config\":\"%s\"}}", g_cfg);
  send_req(in[1], "{\"seq\":1,\"type\":\"request\",\"command\":\"initialize\",\"arguments\":{\"adapterID\":\"t\"}}");
  send_req(in[1], launch);
  send_req(in[1], "{\"seq\":3,\"type\":\"request\",\"command\":\"configurationDone\"}");
  /* Requests keep being answered while the engine thread floods events. */
  send_req(in[1], "{\"seq\":4,\"type\":\"request\",\"command\":\"threads\"}");
  reader r = {.last_line = -1};
  rpc_framer f;
  rpc_framer_init(&f, 0, on_frame, on_frame_err, &r);
  char buf[4096];
  while (!r.terminated) {
    ssize_t k = read(out[1], buf, sizeof buf);
    assert_true(k > 0);
    rpc_framer_feed(&f, buf, (size_t)k);
  }
  send_req(in[1], "{\"seq\":5,\"type\":\"request\",\"command\":\"disconnect\"}");
  uv_thread_join(&th);
  close(out[0]);
  ssize_t k;
  while ((k = read(out[1], buf, sizeof buf)) > 0) rpc_framer_feed(&f, buf, (size_t)k);
  assert_int_equal(rpc_framer_finish(&f), LS_OK);
  rpc_framer_deinit(&f);
  assert_int_equal(run.rc, 0);
  assert_int_equal(r.bad, 0);
  assert_int_equal(r.outputs, N_LINES);
  assert_int_equal(r.responses, 5);
  assert_int_equal(r.terminated, 1);
  close(in[0]);
  close(in[1]);
  close(out[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_transitions),
      cmocka_unit_test_setup_teardown(test_launch_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(test_launch_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_engine_thread_events, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
