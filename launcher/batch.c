/*
 * launcher/batch.c — when to close a batch of pending pods: `idle` after the last arrival or
 * `max` after the first, whichever comes first, so a burst of pods is planned together without
 * a steady trickle postponing the plan forever.
 *
 * Invariants: idle and max are > 0 and idle <= max after launcher_batcher_init; first <= last
 * whenever count > 0 (an arrival stamped before the batch opened does not move it back); the
 * deadline is never later than first + max. Pure: time comes in as arguments.
 */
#include "launcher/launcher.h"

#include <string.h>

void launcher_batcher_init(struct launcher_batcher *b, core_ns idle, core_ns max)
{
    if (!b)
        return;
    memset(b, 0, sizeof *b);
    b->idle = idle > 0 ? idle : LAUNCHER_BATCH_IDLE_DEFAULT;
    b->max = max > 0 ? max : LAUNCHER_BATCH_MAX_DEFAULT;
    if (b->idle > b->max)
        b->idle = b->max;
}

void launcher_batcher_add(struct launcher_batcher *b, core_ns now)
{
    if (!b)
        return;
    if (b->count == 0) {
        b->first = now;
        b->last = now;
    } else if (now > b->last) {
        b->last = now;
    }
    b->count++;
}

/* a + d without wrapping past INT64_MAX. */
static core_ns add_sat(core_ns a, core_ns d)
{
    return a > INT64_MAX - d ? INT64_MAX : a + d;
}

core_ns launcher_batcher_deadline(const struct launcher_batcher *b)
{
    core_ns by_idle, by_max;

    if (!b || b->count == 0)
        return 0;
    by_idle = add_sat(b->last, b->idle);
    by_max = add_sat(b->first, b->max);
    return by_idle < by_max ? by_idle : by_max;
}

int launcher_batcher_due(const struct launcher_batcher *b, core_ns now)
{
    if (!b || b->count == 0)
        return 0;
    return now >= launcher_batcher_deadline(b);
}

void launcher_batcher_reset(struct launcher_batcher *b)
{
    if (!b)
        return;
    b->count = 0;
    b->first = 0;
    b->last = 0;
}
