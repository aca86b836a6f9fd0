/* framing.c: the Content-Length stream parser (see framing.h). Header bytes are examined one
 * at a time (headers are short); body bytes are copied in chunks. The parser never trusts a
 * length before checking it against the cap, and grows the body buffer only as bytes
 * actually arrive, so a lying Content-Length costs no memory. */
#include "rpc/framing.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"

enum { RPC__HEADER = 0, RPC__BODY, RPC__SKIP };

/* Bytes of a long junk line kept when it is cut, so a header straddling the cut is found. */
#define KEEP_TAIL 32

static const char k_clen[] = "content-length";

void rpc_framer_init(rpc_framer *f, size_t max_len, rpc_frame_msg_fn on_msg,
                     rpc_frame_err_fn on_err, void *ud) {
  memset(f, 0, sizeof *f);
  f->max_len = max_len ? max_len : RPC_MAX_MESSAGE_DEFAULT;
  f->on_msg = on_msg;
  f->on_err = on_err;
  f->ud = ud;
}

void rpc_framer_deinit(rpc_framer *f) {
  ls_free(f->body);
  f->body = NULL;
  f->body_cap = f->body_len = 0;
}

static void block_reset(rpc_framer *f) {
  f->n_lines = 0;
  f->have_len = f->bad_len = 0;
  f->content_len = 0;
  f->junk = 0;
  f->bad_msg[0] = '\0';
}

static void report(rpc_framer *f, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(rpc_framer *f, int code, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (f->on_err) f->on_err(f->ud, code, msg);
}

/* RFC 7230 token characters, the only ones a header name may hold. */
static int is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Last case-insensitive occurrence of "content-length" in s[0, n), or -1. */
static long find_clen(const char *s, size_t n) {
  size_t k = sizeof k_clen - 1;
  for (size_t i = n >= k ? n - k + 1 : 0; i-- > 0;)
    if (strncasecmp(s + i, k_clen, k) == 0) return (long)i;
  return -1;
}

/* Copies s[0, n) into out as printable ASCII (for quoting untrusted values in messages). */
static void quote(char *out, size_t cap, const char *s, size_t n) {
  size_t j = 0;
  for (size_t i = 0; i < n && j + 4 < cap; i++)
    out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  if (n > 0 && j + 4 >= cap) { out[j++] = '.'; out[j++] = '.'; out[j++] = '.'; }
  out[j] = '\0';
}

static void parse_length(rpc_framer *f, const char *v, size_t n) {
  while (n && (*v == ' ' || *v == '\t')) { v++; n--; }
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  uint64_t x = 0;
  int ok = n > 0;
  for (size_t i = 0; ok && i < n; i++) {
    if (v[i] < '0' || v[i] > '9') { ok = 0; break; }
    unsigned d = (unsigned)(v[i] - '0');
    if (x > (UINT64_MAX - d) / 10) {
      char q[48];
      quote(q, sizeof q, v, n);
      snprintf(f->bad_msg, sizeof f->bad_msg, "Content-Length '%s' overflows 64 bits", q);
      f->bad_len = 1;
      return;
    }
    x = x * 10 + d;
  }
  if (!ok) {
    char q[48];
    quote(q, sizeof q, v, n);
    snprintf(f->bad_msg, sizeof f->bad_msg, "Content-Length '%s' is not a non-negative integer", q);
    f->bad_len = 1;
    return;
  }
  if (f->have_len && x != f->content_len) {
    snprintf(f->bad_msg, sizeof f->bad_msg,
             "conflicting Content-Length headers (%" PRIu64 " and %" PRIu64 ")", f->content_len, x);
    f->bad_len = 1;
    return;
  }
  f->have_len = 1;
  f->content_len = x;
}

/* One header line without its line break. */
static void parse_line(rpc_framer *f, const char *s, size_t n) {
  f->n_lines++;
  /* Junk glued in front of a real header (a body longer than its Content-Length said, random
   * bytes): restart the line at the last "content-length" followed by a colon. */
  long at = find_clen(s, n);
  if (at > 0) {
    size_t k = (size_t)at + sizeof k_clen - 1;
    while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
    if (k < n && s[k] == ':') {
      f->junk += (uint64_t)at;
      s += at;
      n -= (size_t)at;
    }
  }
  const char *colon = memchr(s, ':', n);
  int valid = colon != NULL && colon > s;
  for (const char *p = s; valid && p < colon; p++)
    if (!is_tchar((unsigned char)*p)) valid = 0;
  if (!valid) {
    f->junk += n + 1;
    return;
  }
  size_t name_len = (size_t)(colon - s);
  if (name_len == sizeof k_clen - 1 && strncasecmp(s, k_clen, name_len) == 0)
    parse_length(f, colon + 1, n - name_len - 1);
  /* Content-Type and any other header: accepted and ignored (UTF-8 is the only charset). */
}

static int start_body(rpc_framer *f);

static int end_block(rpc_framer *f) {
  if (f->junk)
    report(f, LS_EFORMAT, "skipped %" PRIu64 " bytes that are not a message header", f->junk);
  if (f->bad_len) {
    report(f, LS_EFORMAT, "%s", f->bad_msg);
  } else if (!f->have_len) {
    if (!f->junk) report(f, LS_EFORMAT, "message header without a Content-Length");
  } else if (f->content_len > f->max_len) {
    report(f, LS_ELIMIT, "message of %" PRIu64 " bytes exceeds the limit of %zu bytes; skipped",
           f->content_len, f->max_len);
    f->skip_left = f->content_len;
    f->state = RPC__SKIP;
  } else {
    return start_body(f);
  }
  block_reset(f);
  return LS_OK;
}

static void deliver(rpc_framer *f) {
  f->state = RPC__HEADER;
  block_reset(f);
  f->body[f->body_len] = '\0';
  if (f->on_msg) f->on_msg(f->ud, f->body, f->body_len);
  f->body_len = 0;
  /* Give back big buffers; keep small ones for the next message. */
  if (f->body_cap > (1u << 20)) { ls_free(f->body); f->body = NULL; f->body_cap = 0; }
}

static int start_body(rpc_framer *f) {
  f->state = RPC__BODY;
  f->body_len = 0;
  if (!f->body) {
    f->body_cap = 4096;
    f->body = ls_malloc(f->body_cap);
    if (!f->body) { f->body_cap = 0; f->skip_left = f->content_len; f->state = RPC__SKIP; block_reset(f); return LS_ENOMEM; }
  }
  if (f->content_len == 0) deliver(f);
  return LS_OK;
}

static int feed_header_byte(rpc_framer *f, char c) {
  if (c != '\n') {
    if (f->line_len == sizeof f->line) { /* over-long line: keep the tail only */
      f->junk += sizeof f->line - KEEP_TAIL;
      memmove(f->line, f->line + sizeof f->line - KEEP_TAIL, KEEP_TAIL);
      f->line_len = KEEP_TAIL;
    }
    f->line[f->line_len++] = c;
    return LS_OK;
  }
  size_t n = f->line_len;
  if (n && f->line[n - 1] == '\r') n--;
  f->line_len = 0;
  if (n == 0) {
    if (f->n_lines == 0 && f->junk == 0) return LS_OK; /* stray blank line between messages */
    return end_block(f);
  }
  parse_line(f, f->line, n);
  return LS_OK;
}

int rpc_framer_feed(rpc_framer *f, const char *data, size_t n) {
  int rc = LS_OK;
  size_t i = 0;
  while (i < n) {
    if (f->state == RPC__HEADER) {
      int r = feed_header_byte(f, data[i++]);
      if (r && !rc) rc = r;
    } else if (f->state == RPC__SKIP) {
      uint64_t take = n - i < f->skip_left ? n - i : f->skip_left;
      f->skip_left -= take;
      i += (size_t)take;
      if (f->skip_left == 0) f->state = RPC__HEADER;
    } else {
      size_t need = (size_t)f->content_len - f->body_len;
      size_t take = n - i < need ? n - i : need;
      if (f->body_len + take + 1 > f->body_cap) {
        size_t cap = f->body_cap * 2;
        if (cap < f->body_len + take + 1) cap = f->body_len + take + 1;
        if (cap > (size_t)f->content_len + 1) cap = (size_t)f->content_len + 1;
        char *grown = ls_realloc(f->body, cap);
        if (!grown) { /* drop this message, keep the stream in sync */
          f->skip_left = f->content_len - f->body_len;
          f->body_len = 0;
          f->state = RPC__SKIP;
          block_reset(f);
          report(f, LS_ENOMEM, "out of memory reading a message of %zu bytes; skipped", need);
          if (!rc) rc = LS_ENOMEM;
          continue;
        }
        f->body = grown;
        f->body_cap = cap;
      }
      memcpy(f->body + f->body_len, data + i, take);
      f->body_len += take;
      i += take;
      if (f->body_len == f->content_len) deliver(f);
    }
  }
  return rc;
}

int rpc_framer_idle(const rpc_framer *f) {
  return f->state == RPC__HEADER && f->line_len == 0 && f->n_lines == 0 && f->junk == 0;
}

int rpc_framer_finish(rpc_framer *f) {
  int rc = LS_OK;
  if (f->state == RPC__BODY) {
    report(f, LS_ETRUNC, "end of input inside a message: got %zu of %" PRIu64 " body bytes",
           f->body_len, f->content_len);
    rc = LS_ETRUNC;
  } else if (f->state == RPC__SKIP) {
    report(f, LS_ETRUNC, "end of input inside an oversize message (%" PRIu64 " bytes missing)",
           f->skip_left);
    rc = LS_ETRUNC;
  } else if (!rpc_framer_idle(f)) {
    report(f, LS_ETRUNC, "end of input inside a message header");
    rc = LS_ETRUNC;
  }
  f->state = RPC__HEADER;
  f->body_len = 0;
  f->line_len = 0;
  f->skip_left = 0;
  block_reset(f);
  return rc;
}
