/*
 * sim/tracker_internal.h — what the report (sim/report.c) reads from the tracker
 * (sim/tracker.c) beyond the public summary: the samples, the pod waits and the boot model.
 * Private to sim/.
 *
 * Invariants: everything returned is borrowed from the tracker and valid until the tracker
 * changes (the next loop turn) or is freed; arrays handed out through out-parameters are new
 * and owned by the caller (core_free).
 */
#ifndef STOKER_SIM_TRACKER_INTERNAL_H
#define STOKER_SIM_TRACKER_INTERNAL_H

#include "sim/sim.h"

/* The periodic samples, oldest first. */
const struct sim_sample *sim_tracker_samples(const struct sim_tracker *t, size_t *n);
/* Every bound pod's wait (created -> bound) in seconds, sorted ascending; *out is NULL when
 * there is none. */
int sim_tracker_waits(const struct sim_tracker *t, double **out, size_t *n) CORE_NODISCARD;
/* The boot model of the world the tracker watches. */
const struct sim_boot_model *sim_tracker_boot_model(const struct sim_tracker *t);
/* The summary and how many samples each of its figures has, so that the report can tell a
 * figure from the absence of one (0 samples: no figure, not 0 s). */
struct sim_tracker_stats {
    struct sim_summary s;
    size_t nwaits;                   /* bound pods: the samples of wait and Ready percentiles */
    size_t ncold_ready, nwarm_ready; /* launches, by path, whose Node became Ready */
};
/* 0, or CORE_E_NOMEM (nothing written): an allocation failure is never a figure of 0. */
int sim_tracker_stats(const struct sim_tracker *t, struct sim_tracker_stats *out) CORE_NODISCARD;
/* Nearest-rank percentile (p in [0, 1]) of a sorted array; 0 for an empty one. */
double sim_tracker_percentile(const double *sorted, size_t n, double p);

#endif /* STOKER_SIM_TRACKER_INTERNAL_H */
