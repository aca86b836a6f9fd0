/* record_profile.h: a profile (core/engine/profile.h) into a run record (record.h): one run
 * of kind "profile" with the pass's settings, the machine and its peaks; every module of the
 * tree with its figures; one event per module call on the engine thread (phase "forward",
 * thread 1) and per pool job on each worker (phase "job", thread 1 + worker), on the
 * profile's clock; the statistics of every module's output when the profile sampled them
 * (tensor_stats, source "sample"). All in one transaction. */
#ifndef LS_RECORD_PROFILE_H
#define LS_RECORD_PROFILE_H

#include "core/engine/profile.h"
#include "core/record/record.h"

/* config and weights are what the run is labelled with (NULL: none / random). *run_id gets
 * the new run's id. */
int ls_rec_add_profile(ls_rec *r, const ls_prof *p, const char *config, const char *weights, int64_t *run_id,
                       ls_diag *d);

#endif
