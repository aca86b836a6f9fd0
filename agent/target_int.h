/* target_int.h: the agent target's parts shared by its files (private to agent/):
 * target_agent.c (the agents' events and the target ops), target_program.c (the program's
 * process and its output pipes) and target_health.c (a `health` body as a sample). The state
 * is one tgt, owned by the target; a peer is one agent process. */
#ifndef LS_AGENT_TARGET_INT_H
#define LS_AGENT_TARGET_INT_H

#include <jansson.h>
#include <pthread.h>
#include <sys/types.h>

#include "agent/link.h"
#include "agent/target_agent.h"
#include "core/base/diag.h"
#include "core/base/strmap.h"
#include "core/debug/debug.h"
#include "core/record/record.h"

#define MAX_PEERS 256
#define MAX_VARS 64
#define MAX_FRAMES 64
#define FETCH_TIMEOUT_MS 120000

/* One agent process while it is stopped: its event and what the event borrows. */
typedef struct stop_rec {
  json_t *body;                       /* the `stopped` body: strings below point into it */
  ls_dbg_event ev;
  ls_dbg_var vars[LS_DBG_G_COUNT][MAX_VARS];
  ls_dbg_frame frames[MAX_FRAMES];
  int n_frames;
} stop_rec;

typedef struct peer {
  struct tgt *t;
  ls_agent_conn *c;
  int thread;                         /* the run's thread id: the connection's number */
  int alive;
  int *map;                           /* [n_map] the process's module index -> the table's */
  size_t n_map;
  stop_rec *stop;                     /* non-NULL while stopped */
  char name[64];                      /* "rank 1 (pid 4242)" */
} peer;

typedef struct tgt {
  ls_agent_target_opts o;
  char **owned;                       /* strings copied from the options */
  size_t n_owned;
  pthread_mutex_t report_mu;          /* held from adding modules to the table until the host
                                         has them, so the run's table keeps the same order */
  pthread_mutex_t mu;                 /* guards everything below */
  const ls_dbg_target_host *host;     /* during run() */
  ls_agent_srv *srv;
  pid_t pid;
  int terminate_req, pause_req;
  peer *peers[MAX_PEERS];
  int n_peers, ever_connected;
  /* the module table, shared by every process: names are unique */
  char **names, **types;
  int *depths;
  size_t n_mods, cap_mods;
  ls_strmap by_name;
  json_t *config;                     /* what `configure` sends (breakpoints, filters) */
  /* The program's output pipes (capture_output): a pump holds out_mu from reading a chunk to
   * handing it to the host, and a stop holds it while it drains them (output_drain), so the
   * output the program wrote before it stopped reaches the front end before the stop. */
  pthread_mutex_t out_mu;
  int out_fds[2];                     /* the read ends, stdout and stderr, non-blocking; -1
                                         none or closed (out_mu) */
} tgt;

/* One pipe's pump: a thread handing what the program writes to the host. */
typedef struct pump {
  tgt *t;
  int which;                /* 0 stdout, 1 stderr: t->out_fds[which] */
  pthread_t th;
} pump;

/* A `health` body as the run's sample; rows and sources own arrays (ls_free), strings
 * borrowed from the body. */
typedef struct hsample {
  ls_dbg_health h;
  ls_rec_health_row *rows;
  ls_rec_source_row *src;
} hsample;

/* target_health.c: reads a `health` body into *hs; rows that name no module of the table are
 * left out. 0, or -1 when it cannot be read. t->mu held. */
int ls__agent_health_build(peer *p, json_t *b, hsample *hs);

/* target_program.c: the program's output, read now up to what the pipes hold and handed to
 * the host (out_mu taken), so that what it wrote before a stop comes before the stop. */
void ls__agent_output_drain(tgt *t);

/* target_program.c: spawns the program with the agent (capture_output: pipes and a pump per
 * pipe in pumps[*n_pumps]). */
int ls__agent_start_program(tgt *t, pump *pumps, int *n_pumps, ls_diag *d);

/* target_program.c: waits for the program; kills its process group on terminate (TERM, then
 * KILL after 3 s). */
int ls__agent_wait_program(tgt *t, int *status);

#endif
