/* framing.h: the Content-Length framing shared by LSP and DAP ("base protocol"), as a pure
 * byte-stream parser with no I/O, so it can be fed from libuv reads, a test, or the protocol
 * sniffer in cli/main.c alike.
 *
 *   Content-Length: 42\r\n
 *   Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n   (optional)
 *   \r\n
 *   {...42 bytes...}
 *
 * Robustness rules: header names match in any case; lines may end in "\n" alone; unknown
 * headers are ignored; junk before a header (a body whose length was wrong, random bytes) is
 * skipped and reported once per header block, and a header found inside the junk still
 * counts, so the stream resynchronises on the next well-formed message. A missing, non-numeric
 * or overflowing length is reported and the block dropped. A length over the cap is reported
 * and that many bytes are skipped without being stored. */
#ifndef LS_RPC_FRAMING_H
#define LS_RPC_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#define RPC_MAX_MESSAGE_DEFAULT ((size_t)256 << 20) /* 256 MiB */
#define RPC_MAX_HEADER_LINE 8192                    /* bytes kept of one header line */

/* One complete message body; body is borrowed, valid during the call, NUL-terminated. */
typedef void (*rpc_frame_msg_fn)(void *ud, const char *body, size_t len);
/* A framing problem: code is LS_EFORMAT (bad header, junk), LS_ELIMIT (over the cap) or
 * LS_ETRUNC (end of stream inside a message); msg names the problem. */
typedef void (*rpc_frame_err_fn)(void *ud, int code, const char *msg);

typedef struct rpc_framer {
  size_t max_len;            /* cap on one body, bytes */
  rpc_frame_msg_fn on_msg;
  rpc_frame_err_fn on_err;
  void *ud;
  int state;                 /* RPC__HEADER, RPC__BODY or RPC__SKIP */
  char line[RPC_MAX_HEADER_LINE]; /* the header line being read */
  size_t line_len;
  /* the header block being read */
  int n_lines;               /* header lines seen in this block (valid or not) */
  int have_len;              /* a valid Content-Length was seen */
  int bad_len;               /* a Content-Length was present but unusable */
  uint64_t content_len;
  uint64_t junk;             /* junk bytes skipped in this block */
  char bad_msg[160];         /* why the length was unusable */
  /* the body being read */
  char *body;                /* [body_cap] bytes, NUL-terminated at body_len */
  size_t body_len, body_cap;
  uint64_t skip_left;        /* bytes still to drop of an oversize body */
} rpc_framer;

void rpc_framer_init(rpc_framer *f, size_t max_len, rpc_frame_msg_fn on_msg,
                     rpc_frame_err_fn on_err, void *ud);
void rpc_framer_deinit(rpc_framer *f);
/* Feeds n bytes; calls on_msg/on_err as messages complete. Returns 0 or LS_ENOMEM (the
 * message being read is dropped then and the framer resynchronises). Callbacks must not
 * call rpc_framer_feed on the same framer. */
int rpc_framer_feed(rpc_framer *f, const char *data, size_t n);
/* End of stream: reports LS_ETRUNC through on_err if a message was cut off and returns it;
 * returns 0 when the stream ended between messages. */
int rpc_framer_finish(rpc_framer *f);
/* 1 while between messages (nothing buffered), for tests and the sniffer. */
int rpc_framer_idle(const rpc_framer *f);

#endif
