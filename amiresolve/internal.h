/*
 * amiresolve/internal.h — what the amiresolve files share and nothing outside uses: building
 * one resolved AMI from a DescribeImages answer (with its requirements) and folding AMIs into a
 * result that keeps the best image per distinct requirement set (select.c, used by resolver.c).
 *
 * Invariants: pure (no I/O, no clock: the wall time is passed in); out-parameters written only
 * on success; an AMI handed to amiresolve_result_fold is owned by the result afterwards, on
 * success and on failure alike.
 */
#ifndef STOKER_AMIRESOLVE_INTERNAL_H
#define STOKER_AMIRESOLVE_INTERNAL_H

#include "amiresolve/amiresolve.h"

/* Fills *out from img: id, name, Kubernetes arch (x86_64 -> amd64, arm64), variant ("" when
 * NULL: a selector-term image), times, deprecated (deprecation_time <= wall_now), source
 * (copied) and the requirements (arch In; the variant's GPU/accelerator operators).
 * CORE_E_UNSUPPORTED for an architecture Kubernetes nodes cannot run (i386, *_mac), so the
 * caller skips the image; CORE_E_PARSE for an image without id; CORE_E_NOMEM. */
int amiresolve_ami_from_image(const struct aws_ec2_image *img, const char *variant,
                              const char *source, core_ns wall_now, struct amiresolve_ami *out,
                              struct core_err *err) CORE_NODISCARD;
void amiresolve_ami_cleanup(struct amiresolve_ami *a);
int amiresolve_ami_copy(struct amiresolve_ami *dst, const struct amiresolve_ami *src)
    CORE_NODISCARD;

/* Adds *a to r, or keeps only the better of it and the image r already holds for the same
 * requirement set (arch + variant). *a is taken over (and zeroed) in every case. */
int amiresolve_result_fold(struct amiresolve_result *r, struct amiresolve_ami *a) CORE_NODISCARD;
/* Orders r by amiresolve_better (not deprecated, newest, larger name first), then arch and
 * variant, so the order is total and reproducible. */
void amiresolve_result_sort(struct amiresolve_result *r);

#endif /* STOKER_AMIRESOLVE_INTERNAL_H */
