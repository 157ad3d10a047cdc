/*
 * sim/ec2_instances.c — the emulated instance lifecycle: creation (identifiers, a private IP
 * from the subnet), the EC2 state machine driven by boot-model delays, ageing out of terminated
 * instances, and the observer.
 *
 * State machine (EC2's codes):
 *   pending -> running                      SIM_BOOT_LAUNCH, or START / RESUME after a start
 *   running -> stopping -> stopped          SIM_BOOT_STOP, or SIM_BOOT_HIBERNATE (RAM saved:
 *                                           `hibernated` is set so the next start resumes)
 *   stopped -> pending                      StartInstances
 *   any but terminated -> shutting-down -> terminated   SIM_BOOT_TERMINATE
 *   terminated -> dropped                   after opts.terminated_ttl
 *
 * Invariants:
 *  - One core_loop timer (a->timer, due at a->timer_at) serves every instance: it is armed for
 *    the earliest scheduled transition or ageing. Scheduling one instance only ever moves the
 *    timer earlier (O(1)); sim_instances_advance, which is linear in the instances, applies
 *    what is due and re-arms it exactly for the new earliest deadline. A timer that fires with
 *    nothing due is harmless: it only re-arms.
 *  - A transition that is applied late (the clock jumped past it) takes effect at its scheduled
 *    time: later steps and the ageing are measured from there, not from when we noticed.
 *  - An instance holds its private IP from launch until it is terminated (stop keeps it); the
 *    address goes back to the subnet's bitmap exactly once, on entering terminated.
 *  - Terminated instances are dropped from a->instances and a->instance_by_id before they are
 *    freed; nothing else points at an instance.
 *  - The observer runs after every state change (launch included) and may call back into the
 *    account: iteration here re-reads a->instances and tolerates it growing.
 *  - sim_aws_instance_poweroff (the instance's own shutdown, for the simulated cluster) goes
 *    through the same running -> stopping -> stopped path as StopInstances; only the reason
 *    differs (Client.InstanceInitiatedShutdown).
 */
#include "sim/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* internal.h names CORE_E_BUSY for a subnet without a free address; core has no such code, so
 * the nearest one stands in: the subnet's state does not allow the launch. */
#define SIM_E_NO_ADDRESS CORE_E_STATE

const char *sim_istate_name(int code)
{
    switch (code) {
    case SIM_PENDING:
        return "pending";
    case SIM_RUNNING:
        return "running";
    case SIM_SHUTTING_DOWN:
        return "shutting-down";
    case SIM_TERMINATED:
        return "terminated";
    case SIM_STOPPING:
        return "stopping";
    case SIM_STOPPED:
        return "stopped";
    default:
        return "unknown";
    }
}

static void instance_free(struct sim_instance *i)
{
    if (!i)
        return;
    core_free(i->user_data);
    core_free(i->client_token);
    core_free(i->profile_arn);
    core_free(i->key_name);
    for (size_t k = 0; k < i->nsg; k++)
        core_free(i->sg_ids[k]);
    core_free(i->sg_ids);
    core_free(i->launch_template_id);
    core_free(i->fleet_id);
    sim_tags_cleanup(&i->tags);
    core_free(i);
}

static void on_timer(void *ud)
{
    struct sim_aws *a = ud;
    a->timer = NULL; /* fired: the loop has dropped it */
    sim_instances_advance(a);
}

/* Makes sure the timer fires no later than `at`. Only moves it earlier. When the loop cannot
 * allocate a timer the transition still happens: every request advances first. */
static void arm_before(struct sim_aws *a, core_ns at)
{
    core_ns now = sim_now(a);
    if (a->timer && a->timer_at <= at)
        return;
    if (a->timer)
        core_loop_timer_cancel(a->loop, a->timer);
    a->timer = core_loop_timer_add(a->loop, at > now ? at - now : 0, on_timer, a);
    /* Without a timer the earliest deadline is unknown: INT64_MIN makes every request scan
     * until a full scan re-arms exactly. */
    if (!a->timer)
        a->timer_at = INT64_MIN;
    else if (a->timer_at != INT64_MIN)
        a->timer_at = at;
}

/* Sets the timer to exactly `at` (INT64_MAX: none). */
static void arm_exact(struct sim_aws *a, core_ns at)
{
    if (a->timer && a->timer_at == at)
        return;
    if (a->timer) {
        core_loop_timer_cancel(a->loop, a->timer);
        a->timer = NULL;
    }
    a->timer_at = INT64_MAX; /* nothing scheduled: advance has nothing to scan for */
    if (at != INT64_MAX)
        arm_before(a, at);
}

static void notify(struct sim_aws *a, const struct sim_instance *i)
{
    struct sim_instance_view v;
    if (!a->observer)
        return;
    memset(&v, 0, sizeof v);
    v.id = i->id;
    v.instance_type = i->type->t->name;
    v.zone = a->zones[i->subnet->zone].name;
    v.subnet_id = i->subnet->id;
    v.image_id = i->image->id;
    v.private_ip = i->private_ip;
    v.private_dns = i->private_dns;
    v.state = sim_istate_name(i->state);
    v.user_data = i->user_data;
    v.user_data_len = i->user_data_len;
    v.boots = i->boots;
    v.resumed = i->resumed;
    v.spot = i->spot;
    a->observer(a->observer_ud, &v);
}

/* "User initiated (2026-11-22 15:26:04 GMT)", as EC2 writes <reason>. */
static void user_initiated(struct sim_instance *i, core_ns wall)
{
    char t[32];
    core_time_rfc3339(wall, t, sizeof t); /* 2026-11-22T15:26:04Z */
    if (strlen(t) >= 20) {
        t[10] = ' ';
        t[19] = '\0';
    }
    snprintf(i->reason, sizeof i->reason, "User initiated (%s GMT)", t);
}

static void set_state_reason(struct sim_instance *i, const char *code, const char *message)
{
    core_strlcpy(i->reason_code, code, sizeof i->reason_code);
    core_strlcpy(i->reason_message, message, sizeof i->reason_message);
}

static void release_ip(struct sim_instance *i)
{
    struct sim_subnet *s = i->subnet;
    uint32_t idx;
    if (!i->ip || !s->used)
        return;
    idx = i->ip - s->base;
    if (idx < s->size && s->used[idx]) {
        s->used[idx] = 0;
        s->available++;
    }
    i->ip = 0;
}

/* Enters `state` at mono time `at` (now, or the scheduled time of a late transition), then
 * schedules next_state after a draw from step (none when step is SIM_BOOT_COUNT). */
static void enter_state_by(struct sim_aws *a, struct sim_instance *i, int state, int next_state,
                           enum sim_boot_step step, core_ns at, int instance_initiated)
{
    core_ns wall = sim_wall(a) - (sim_now(a) - at);

    i->state = state;
    switch (state) {
    case SIM_PENDING:
        /* A start after a hibernation is a resume; the flag lives for this boot only. */
        i->resumed = i->hibernated;
        i->hibernated = 0;
        i->hibernating = 0;
        i->launch_wall = wall;
        i->reason[0] = '\0';
        set_state_reason(i, "pending", "pending");
        break;
    case SIM_RUNNING:
        i->boots++;
        i->reason[0] = '\0';
        set_state_reason(i, "", "");
        break;
    case SIM_STOPPING:
        if (instance_initiated) {
            /* The OS halted itself (shutdown -h): EC2 names no user. */
            i->reason[0] = '\0';
            set_state_reason(i, "Client.InstanceInitiatedShutdown",
                             "Client.InstanceInitiatedShutdown: Instance initiated shutdown");
            break;
        }
        user_initiated(i, wall);
        if (i->hibernating)
            set_state_reason(i, "Client.UserInitiatedHibernate",
                             "Client.UserInitiatedHibernate: User initiated hibernate");
        else
            set_state_reason(i, "Client.UserInitiatedShutdown",
                             "Client.UserInitiatedShutdown: User initiated shutdown");
        break;
    case SIM_STOPPED:
        if (i->hibernating)
            i->hibernated = 1;
        i->hibernating = 0;
        break;
    case SIM_SHUTTING_DOWN:
        user_initiated(i, wall);
        set_state_reason(i, "Client.UserInitiatedShutdown",
                         "Client.UserInitiatedShutdown: User initiated shutdown");
        i->hibernating = 0;
        i->hibernated = 0;
        break;
    case SIM_TERMINATED:
        /* The address may go to another instance now: describes must stop showing it. The DNS
         * name stays for the observer (it names the Node to clean up). */
        release_ip(i);
        i->private_ip[0] = '\0';
        i->hibernating = 0;
        i->hibernated = 0;
        i->gone_at = at + a->opts.terminated_ttl;
        if (i->gone_at == 0)
            i->gone_at = 1; /* 0 means "not set" */
        arm_before(a, i->gone_at);
        break;
    default:
        break;
    }
    if (step < SIM_BOOT_COUNT && next_state >= 0) {
        i->next_state = next_state;
        i->next_at = at + sim_boot_draw(&a->opts.boot, step, &a->rng_boot);
        arm_before(a, i->next_at);
    } else {
        i->next_state = -1;
        i->next_at = 0;
    }
    notify(a, i);
}

static void enter_state(struct sim_aws *a, struct sim_instance *i, int state, int next_state,
                        enum sim_boot_step step, core_ns at)
{
    enter_state_by(a, i, state, next_state, step, at, 0);
}

void sim_instance_transition(struct sim_aws *a, struct sim_instance *i, int state, int next_state,
                             enum sim_boot_step step)
{
    enter_state(a, i, state, next_state, step, sim_now(a));
}

/* Takes the first free address at or after subnet->next (wrapping). */
static int alloc_ip(struct sim_subnet *s, uint32_t *ip)
{
    if (!s->used || s->size == 0 || s->available <= 0)
        return SIM_E_NO_ADDRESS;
    for (uint32_t k = 0; k < s->size; k++) {
        uint32_t idx = (s->next + k) % s->size;
        if (!s->used[idx]) {
            s->used[idx] = 1;
            s->available--;
            s->next = (idx + 1) % s->size;
            *ip = s->base + idx;
            return 0;
        }
    }
    return SIM_E_NO_ADDRESS;
}

static void format_ip(struct sim_aws *a, struct sim_instance *i)
{
    unsigned b0 = (i->ip >> 24) & 0xff, b1 = (i->ip >> 16) & 0xff, b2 = (i->ip >> 8) & 0xff,
             b3 = i->ip & 0xff;
    snprintf(i->private_ip, sizeof i->private_ip, "%u.%u.%u.%u", b0, b1, b2, b3);
    /* us-east-1 keeps the historical ec2.internal domain; every other region uses
     * <region>.compute.internal. */
    if (strcmp(a->region, "us-east-1") == 0)
        snprintf(i->private_dns, sizeof i->private_dns, "ip-%u-%u-%u-%u.ec2.internal", b0, b1, b2,
                 b3);
    else
        snprintf(i->private_dns, sizeof i->private_dns, "ip-%u-%u-%u-%u.%.27s.compute.internal", b0,
                 b1, b2, b3, a->region);
}

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = core_strdup(s);
    return *out ? 0 : CORE_E_NOMEM;
}

/* Everything but the IP and the indexes. */
static int instance_fill(struct sim_aws *a, const struct sim_launch_spec *s, struct sim_instance *i)
{
    int rc = 0;
    sim_new_id(a, "i-", i->id, sizeof i->id);
    if (s->reservation_id)
        core_strlcpy(i->reservation_id, s->reservation_id, sizeof i->reservation_id);
    else
        sim_new_id(a, "r-", i->reservation_id, sizeof i->reservation_id);
    i->type = s->type;
    i->image = s->image;
    i->subnet = s->subnet;
    i->hibernation_configured = s->hibernation_configured;
    i->spot = s->spot;
    i->next_state = -1;
    if (s->user_data && s->user_data_len) {
        i->user_data = core_malloc(s->user_data_len);
        if (!i->user_data)
            return CORE_E_NOMEM;
        memcpy(i->user_data, s->user_data, s->user_data_len);
        i->user_data_len = s->user_data_len;
    }
    rc = dup_opt(s->client_token, &i->client_token);
    rc = rc ? rc : dup_opt(s->profile_arn, &i->profile_arn);
    rc = rc ? rc : dup_opt(s->key_name, &i->key_name);
    rc = rc ? rc : dup_opt(s->launch_template_id, &i->launch_template_id);
    rc = rc ? rc : dup_opt(s->fleet_id, &i->fleet_id);
    if (rc)
        return rc;
    if (s->nsg) {
        i->sg_ids = core_calloc(s->nsg, sizeof *i->sg_ids);
        if (!i->sg_ids)
            return CORE_E_NOMEM;
        for (size_t k = 0; k < s->nsg; k++) {
            if (!(i->sg_ids[k] = core_strdup(s->sg_ids[k])))
                return CORE_E_NOMEM;
            i->nsg++;
        }
    }
    for (size_t k = 0; s->tags && k < s->tags->n; k++) {
        rc = sim_tags_set(&i->tags, s->tags->v[k].key, s->tags->v[k].value);
        if (rc)
            return rc;
    }
    return 0;
}

int sim_instance_launch(struct sim_aws *a, const struct sim_launch_spec *s,
                        struct sim_instance **out, struct core_err *err)
{
    struct sim_instance *i;
    int rc;

    if (!a || !s || !s->type || !s->image || !s->subnet)
        return core_err_set(err, CORE_E_INVAL, "sim_instance_launch: type, image and subnet "
                                               "are required");
    if (a->ninstances == a->instances_cap) {
        size_t cap = a->instances_cap ? a->instances_cap * 2 : 64;
        struct sim_instance **v = core_realloc(a->instances, cap * sizeof *v);
        if (!v)
            return core_err_set(err, CORE_E_NOMEM, "out of memory for instance %zu",
                                a->ninstances + 1);
        a->instances = v;
        a->instances_cap = cap;
    }
    i = core_calloc(1, sizeof *i);
    if (!i)
        return core_err_set(err, CORE_E_NOMEM, "out of memory for an instance");
    rc = instance_fill(a, s, i);
    if (rc) {
        instance_free(i);
        return core_err_set(err, rc, "out of memory for an instance");
    }
    if (alloc_ip(s->subnet, &i->ip) != 0) {
        instance_free(i);
        return core_err_set(err, SIM_E_NO_ADDRESS, "subnet %s has no free address",
                            s->subnet->id);
    }
    format_ip(a, i);
    if (core_map_set(a->instance_by_id, i->id, i, NULL) != 0) {
        release_ip(i);
        instance_free(i);
        return core_err_set(err, CORE_E_NOMEM, "out of memory indexing an instance");
    }
    a->instances[a->ninstances++] = i;
    i->visible_at = sim_now(a) + a->opts.faults.consistency_delay;
    enter_state(a, i, SIM_PENDING, SIM_RUNNING, SIM_BOOT_LAUNCH, sim_now(a));
    if (out)
        *out = i;
    return 0;
}

int sim_instance_visible(const struct sim_aws *a, const struct sim_instance *i)
{
    return sim_now(a) >= i->visible_at;
}

void sim_instances_advance(struct sim_aws *a)
{
    core_ns now = sim_now(a), earliest = INT64_MAX;
    size_t k, w;

    /* timer_at is never later than the earliest deadline (scheduling only moves it earlier,
     * and it keeps its value when a timer could not be allocated), so before it nothing is
     * due and the scan is skipped: describes stay O(answer), not O(instances). */
    if (now < a->timer_at)
        return;
    /* The observer may call back into the account (a request, which advances first); the
     * outer pass finishes the work, so a nested one would only free what it still holds. */
    if (a->advancing)
        return;
    a->advancing = 1;

    /* Transitions first, in launch order. The observer may add instances (the array may move),
     * so every step re-reads a->instances. */
    for (k = 0; k < a->ninstances; k++) {
        struct sim_instance *i = a->instances[k];
        while (i->next_state >= 0 && i->next_at <= now) {
            int st = i->next_state;
            core_ns at = i->next_at;
            i->next_state = -1;
            enter_state(a, i, st, -1, SIM_BOOT_COUNT, at);
        }
    }
    /* Then ageing, compacting the array in place (launch order kept), and the new earliest
     * deadline. */
    for (k = w = 0; k < a->ninstances; k++) {
        struct sim_instance *i = a->instances[k];
        if (i->state == SIM_TERMINATED && i->gone_at && i->gone_at <= now) {
            core_map_del(a->instance_by_id, i->id);
            instance_free(i);
            continue;
        }
        a->instances[w++] = i;
        if (i->next_state >= 0 && i->next_at < earliest)
            earliest = i->next_at;
        if (i->gone_at && i->gone_at < earliest)
            earliest = i->gone_at;
    }
    a->ninstances = w;
    arm_exact(a, earliest);
    a->advancing = 0;
}

void sim_instances_cleanup(struct sim_aws *a)
{
    if (!a)
        return;
    if (a->timer) {
        core_loop_timer_cancel(a->loop, a->timer);
        a->timer = NULL;
    }
    for (size_t k = 0; k < a->ninstances; k++) {
        if (a->instance_by_id)
            core_map_del(a->instance_by_id, a->instances[k]->id);
        instance_free(a->instances[k]);
    }
    core_free(a->instances);
    a->instances = NULL;
    a->ninstances = a->instances_cap = 0;
}

int sim_aws_instance_poweroff(struct sim_aws *a, const char *instance_id, struct core_err *err)
{
    struct sim_instance *i;

    if (!a || !instance_id)
        return core_err_set(err, CORE_E_INVAL, "sim_aws_instance_poweroff: account and "
                                               "instance id are required");
    char id[SIM_ID_MAX];

    /* The caller's id may live in state an observer frees during the advance: copy it. */
    if (core_strlcpy(id, instance_id, sizeof id) >= sizeof id)
        return core_err_set(err, CORE_E_NOTFOUND, "instance %.40s does not exist", instance_id);
    instance_id = id;
    /* Apply what is due first, so the state checked is the one describes would show. */
    sim_instances_advance(a);
    i = sim_instance_find(a, instance_id);
    if (!i)
        return core_err_set(err, CORE_E_NOTFOUND, "instance %s does not exist", instance_id);
    if (i->state != SIM_RUNNING)
        return core_err_set(err, CORE_E_STATE, "instance %s is %s, not running", instance_id,
                            sim_istate_name(i->state));
    /* The OS halting is not a StopInstances call: no hibernation, and EC2 reports it with its
     * own reason (set before the observer hears of the change). */
    i->hibernating = 0;
    enter_state_by(a, i, SIM_STOPPING, SIM_STOPPED, SIM_BOOT_STOP, sim_now(a), 1);
    return 0;
}
