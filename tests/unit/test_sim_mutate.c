/*
 * tests/unit/test_sim_mutate.c — the emulated EC2 actions that change the account and the
 * instance lifecycle behind them. Requests are built with stoker's own encoders
 * (aws_ec2_*_encode: exactly what the client sends, or aws_query by hand where the client has
 * no encoder or refuses the input) and answers are read with the client's decoders. Time is a
 * virtual clock: the loop's timer moves instances along, and every request catches up first.
 */
#include "sim/internal.h"
#include "tests/unit/harness.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define WALL0 ((core_ns)1795000000 * 1000000000LL)
#define S(x) ((core_ns)(x) * CORE_NS_PER_S)
#define MS(x) ((core_ns)(x) * CORE_NS_PER_MS)

/* ------------------------------------------------------------------------------------------ */
/* Fixture                                                                                     */
/* ------------------------------------------------------------------------------------------ */

struct seen {
    char id[SIM_ID_MAX];
    char state[16];
    char ip[16];
    unsigned boots;
    int resumed;
};

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct sim_aws *a;
    struct seen seen[64];
    size_t nseen;
    const char *image;       /* an x86_64 image */
    const char *types[3];    /* x86_64, offered in zone a, hibernation, ascending price */
    const char *no_hib_type; /* x86_64, offered in zone a, no hibernation */
};

static void observe(void *ud, const struct sim_instance_view *v)
{
    struct fx *f = ud;
    struct seen *s;
    if (f->nseen >= sizeof f->seen / sizeof f->seen[0])
        return;
    s = &f->seen[f->nseen++];
    core_strlcpy(s->id, v->id, sizeof s->id);
    core_strlcpy(s->state, v->state, sizeof s->state);
    core_strlcpy(s->ip, v->private_ip ? v->private_ip : "", sizeof s->ip);
    s->boots = v->boots;
    s->resumed = v->resumed;
}

static int cmp_price(const void *x, const void *y)
{
    const struct sim_itype *a = *(const struct sim_itype *const *)x;
    const struct sim_itype *b = *(const struct sim_itype *const *)y;
    return a->od_price < b->od_price ? -1 : a->od_price > b->od_price;
}

/* Deterministic delays: every row at its median (sigma 0). */
static int fx_open_with(struct fx *f, int throttle)
{
    static const char *const names[] = {"m5.large", "c5.large",  "r5.large",  "m5.xlarge",
                                        "c5.xlarge", "m6i.large", "c6i.large", "r6i.large",
                                        "t3.large",  "m5a.large", "c5a.large", "r5a.large"};
    static const char *const rows[] = {"launch=20s/0", "start=5s/0", "resume=8s/0",
                                       "stop=15s/0",   "hibernate=25s/0", "terminate=20s/0"};
    const struct sim_itype *pick[sizeof names / sizeof names[0]];
    size_t npick = 0;
    struct sim_aws_opts o;

    memset(f, 0, sizeof *f);
    sim_aws_opts_default(&o);
    o.skip_signature_check = 1;
    o.faults.throttle = throttle;
    o.terminated_ttl = S(600);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (sim_boot_model_set(&o.boot, rows[i], NULL) != 0)
            return -1;
    f->clock = core_clock_virtual_new(S(1000), WALL0);
    if (!f->clock || core_loop_new(f->clock, NULL, &f->loop, NULL) != 0)
        return -1;
    if (sim_aws_new(f->loop, &o, &f->a, NULL) != 0)
        return -1;
    sim_aws_set_observer(f->a, observe, f);
    for (size_t i = 0; i < f->a->nimages && !f->image; i++)
        if (f->a->images[i]->family == SIM_AMI_AL2023 &&
            strcmp(f->a->images[i]->arch, "x86_64") == 0)
            f->image = f->a->images[i]->id;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct sim_itype *t = sim_itype_find(f->a, names[i]);
        int dup = 0;
        if (!t || !(t->zones & 1u) || !t->hibernation || strcmp(t->t->ec2_arch, "x86_64") != 0)
            continue;
        for (size_t k = 0; k < npick; k++)
            dup |= pick[k]->od_price == t->od_price;
        if (!dup)
            pick[npick++] = t;
    }
    if (npick < 3)
        return -1;
    qsort(pick, npick, sizeof pick[0], cmp_price);
    for (size_t i = 0; i < 3; i++)
        f->types[i] = pick[i]->t->name;
    for (size_t i = 0; i < f->a->nitypes && !f->no_hib_type; i++) {
        const struct sim_itype *t = &f->a->itypes[i];
        if (!t->hibernation && (t->zones & 1u) && strcmp(t->t->ec2_arch, "x86_64") == 0)
            f->no_hib_type = t->t->name;
    }
    return f->image && f->no_hib_type ? 0 : -1;
}

static void fx_close(struct fx *f)
{
    sim_aws_free(f->a);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
}

/* An answer: status, error code, and the parsed document. */
struct ans {
    long status;
    char code[64];
    struct core_http_response resp;
    struct aws_xml_parser *p;
    const struct aws_xml_node *root;
};

static void ans_free(struct ans *a)
{
    aws_xml_parser_free(a->p);
    core_http_response_cleanup(&a->resp);
    memset(a, 0, sizeof *a);
}

/* Sends the form (and cleans q up). */
static void call_q(struct fx *f, struct aws_query *q, struct ans *a)
{
    struct sim_header h[] = {
        {"Host", "ec2.us-east-1.amazonaws.com"},
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    struct sim_http_req req = {0};
    struct core_buf b;
    const struct aws_xml_node *code;
    core_ns delay = 0;

    memset(a, 0, sizeof *a);
    core_buf_init(&b, 1u << 24);
    CU_ASSERT_EQUAL_FATAL(aws_query_encode(q, &b), 0);
    aws_query_cleanup(q);
    req.method = "POST";
    req.target = "/";
    req.headers = h;
    req.nheaders = 2;
    req.body = b.data;
    req.body_len = b.len;
    core_buf_init(&a->resp.body, 64u << 20);
    sim_aws_handle(f->a, &req, &a->resp, &delay);
    core_buf_cleanup(&b);
    a->status = a->resp.status;
    a->p = aws_xml_parser_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a->p);
    CU_ASSERT_EQUAL_FATAL(aws_xml_parser_feed(a->p, a->resp.body.data, a->resp.body.len, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(aws_xml_parser_finish(a->p, &a->root, NULL), 0);
    if ((code = aws_xml_path(a->root, "Errors/Error/Code")))
        core_strlcpy(a->code, code->text, sizeof a->code);
}

/* RunInstances; on success the decoded instances are appended to *out (may be NULL). */
static long run(struct fx *f, const struct aws_ec2_run_instances_req *r,
                struct aws_ec2_instances *out, char *code, size_t codesz)
{
    struct aws_query q;
    struct ans a;
    long status;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances_encode(r, &q, NULL), 0);
    call_q(f, &q, &a);
    if (a.status == 200 && out)
        CU_ASSERT_EQUAL(aws_ec2_run_instances_decode(a.root, out, NULL), 0);
    if (code)
        core_strlcpy(code, a.code, codesz);
    status = a.status;
    ans_free(&a);
    return status;
}

/* Launches one instance of types[0]; returns its id in id. */
static void run_one(struct fx *f, int hibernation, const char *user_data, char *id, size_t idsz)
{
    struct aws_ec2_run_instances_req r = {0};
    struct aws_ec2_instances out = {0};
    r.image_id = f->image;
    r.instance_type = f->types[0];
    r.min_count = r.max_count = 1;
    r.hibernation_configured = hibernation ? AWS_EC2_TRUE : AWS_EC2_UNSET;
    r.user_data = user_data;
    r.user_data_len = user_data ? strlen(user_data) : 0;
    CU_ASSERT_EQUAL_FATAL(run(f, &r, &out, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    core_strlcpy(id, out.v[0].instance_id, idsz);
    aws_ec2_instances_cleanup(&out);
}

/* DescribeInstances of one id: 200 and *out filled, or the error code. */
static long describe(struct fx *f, const char *id, struct aws_ec2_instances *out, char *code,
                     size_t codesz)
{
    struct aws_ec2_describe_instances_req r = {0};
    const char *ids[1] = {id};
    struct aws_query q;
    struct ans a;
    long status;
    r.instance_ids = ids;
    r.ninstance_ids = 1;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_describe_instances_encode(&r, NULL, &q, NULL), 0);
    call_q(f, &q, &a);
    if (a.status == 200)
        CU_ASSERT_EQUAL(aws_ec2_describe_instances_decode(a.root, out, NULL, NULL), 0);
    if (code)
        core_strlcpy(code, a.code, codesz);
    status = a.status;
    ans_free(&a);
    return status;
}

/* The instance's state name now (via DescribeInstances), into buf. */
static const char *state_of(struct fx *f, const char *id, char *buf, size_t bufsz)
{
    struct aws_ec2_instances out = {0};
    buf[0] = '\0';
    if (describe(f, id, &out, NULL, 0) == 200 && out.n == 1)
        core_strlcpy(buf, out.v[0].state_name, bufsz);
    aws_ec2_instances_cleanup(&out);
    return buf;
}

enum change { START, STOP, STOP_HIBERNATE, TERMINATE };

static long change(struct fx *f, enum change what, const char *id, struct aws_ec2_state_changes *out,
                   char *code, size_t codesz)
{
    const char *ids[1] = {id};
    struct aws_query q;
    struct ans a;
    long status;
    int rc;
    aws_query_init(&q);
    if (what == START) {
        struct aws_ec2_start_instances_req r = {ids, 1};
        rc = aws_ec2_start_instances_encode(&r, &q, NULL);
    } else if (what == TERMINATE) {
        struct aws_ec2_terminate_instances_req r = {ids, 1};
        rc = aws_ec2_terminate_instances_encode(&r, &q, NULL);
    } else {
        struct aws_ec2_stop_instances_req r = {ids, 1, what == STOP_HIBERNATE, 0};
        rc = aws_ec2_stop_instances_encode(&r, &q, NULL);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    call_q(f, &q, &a);
    if (a.status == 200 && out)
        CU_ASSERT_EQUAL(aws_ec2_stop_instances_decode(a.root, out, NULL) == 0 ||
                            aws_ec2_start_instances_decode(a.root, out, NULL) == 0 ||
                            aws_ec2_terminate_instances_decode(a.root, out, NULL) == 0,
                        1);
    if (code)
        core_strlcpy(code, a.code, codesz);
    status = a.status;
    ans_free(&a);
    return status;
}

/* Runs the loop (its timer only: no request) until the observer has seen `state` for id. */
static int run_until_state(struct fx *f, const char *id, const char *state)
{
    int more = 1;
    for (int turns = 0; turns < 100; turns++) {
        for (size_t k = f->nseen; k > 0; k--)
            if (strcmp(f->seen[k - 1].id, id) == 0) {
                if (strcmp(f->seen[k - 1].state, state) == 0)
                    return 1;
                break;
            }
        if (!more)
            return 0;
        /* 0 = nothing left to do, which may follow the very timer we waited for. */
        more = core_loop_run_once(f->loop, -1, NULL) > 0;
    }
    return 0;
}

/* ModifyInstanceAttribute UserData.Value through the client's encoder. */
static long modify_user_data(struct fx *f, const char *id, const char *data, char *code,
                             size_t codesz)
{
    struct aws_ec2_modify_instance_attribute_req r = {id, data, strlen(data)};
    struct aws_query q;
    struct ans a;
    long status;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_modify_instance_attribute_encode(&r, &q, NULL), 0);
    call_q(f, &q, &a);
    if (a.status == 200)
        CU_ASSERT_EQUAL(aws_ec2_modify_instance_attribute_decode(a.root, NULL), 0);
    core_strlcpy(code, a.code, codesz);
    status = a.status;
    ans_free(&a);
    return status;
}

/* DescribeInstanceAttribute: the <value> of the attribute, decoded from base64 for userData. */
static long describe_attribute(struct fx *f, const char *id, const char *attr, char *value,
                               size_t valuesz)
{
    struct aws_query q;
    struct ans a;
    const struct aws_xml_node *n;
    char path[64];
    long status;
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "DescribeInstanceAttribute"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceId", id), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Attribute", attr), 0);
    call_q(f, &q, &a);
    value[0] = '\0';
    snprintf(path, sizeof path, "%s/value", attr);
    if (a.status == 200 && (n = aws_xml_path(a.root, path))) {
        if (strcmp(attr, "userData") == 0) {
            unsigned char buf[32768];
            int len = EVP_DecodeBlock(buf, (const unsigned char *)n->text, (int)n->text_len);
            CU_ASSERT(len >= 0);
            if (len >= 0) {
                /* EVP_DecodeBlock counts padding as zero bytes. */
                for (size_t k = n->text_len; k > 0 && n->text[k - 1] == '='; k--)
                    len--;
                snprintf(value, valuesz, "%.*s", len, (const char *)buf);
            }
        } else {
            core_strlcpy(value, n->text, valuesz);
        }
    }
    status = a.status;
    ans_free(&a);
    return status;
}

/* A launch template with the image (and types[0] unless type_too is 0). */
static void create_lt(struct fx *f, const char *name, int type_too, char *id, size_t idsz)
{
    struct aws_ec2_create_launch_template_req r = {0};
    struct aws_ec2_launch_templates out = {0};
    struct aws_query q;
    struct ans a;
    r.name = name;
    r.data.image_id = f->image;
    r.data.instance_type = type_too ? f->types[0] : NULL;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_launch_template_encode(&r, &q, NULL), 0);
    call_q(f, &q, &a);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_launch_template_decode(a.root, &out, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    core_strlcpy(id, out.v[0].launch_template_id, idsz);
    aws_ec2_launch_templates_cleanup(&out);
    ans_free(&a);
}

static long fleet(struct fx *f, const struct aws_ec2_create_fleet_req *r, struct aws_ec2_fleet *out,
                  char *code, size_t codesz)
{
    struct aws_query q;
    struct ans a;
    long status;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_fleet_encode(r, &q, NULL), 0);
    call_q(f, &q, &a);
    if (a.status == 200)
        CU_ASSERT_EQUAL(aws_ec2_create_fleet_decode(a.root, out, NULL), 0);
    if (code)
        core_strlcpy(code, a.code, codesz);
    status = a.status;
    ans_free(&a);
    return status;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void test_pending_then_running_after_boot_delay(void)
{
    struct fx f;
    struct aws_ec2_run_instances_req r = {0};
    struct aws_ec2_instances out = {0};
    char st[32];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    r.image_id = f.image;
    r.instance_type = f.types[0];
    r.min_count = 1;
    r.max_count = 1;
    CU_ASSERT_EQUAL_FATAL(run(&f, &r, &out, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(out.n, 1);
    CU_ASSERT_STRING_EQUAL(out.v[0].state_name, "pending");
    CU_ASSERT_EQUAL(out.v[0].state_code, 0);
    CU_ASSERT_STRING_EQUAL(out.v[0].instance_type, f.types[0]);
    CU_ASSERT_STRING_EQUAL(out.v[0].availability_zone, "us-east-1a");
    /* The first free address of the first subnet (.0-.3 are reserved). */
    CU_ASSERT_STRING_EQUAL(out.v[0].private_ip, "10.0.0.4");
    CU_ASSERT_STRING_EQUAL(out.v[0].private_dns_name, "ip-10-0-0-4.ec2.internal");
    CU_ASSERT_EQUAL(out.v[0].launch_time, WALL0);
    CU_ASSERT_EQUAL(f.a->subnets[0].available, 8192 - 5 - 1);

    /* launch=20s: still pending just before, running right after (requests catch up). */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, S(20) - MS(1)), 0);
    CU_ASSERT_STRING_EQUAL(state_of(&f, out.v[0].instance_id, st, sizeof st), "pending");
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, MS(1)), 0);
    CU_ASSERT_STRING_EQUAL(state_of(&f, out.v[0].instance_id, st, sizeof st), "running");
    CU_ASSERT_EQUAL(f.nseen, 2);
    aws_ec2_instances_cleanup(&out);
    fx_close(&f);
}

static void test_observer_sees_every_transition(void)
{
    static const char *const want[] = {"pending", "running",       "stopping",  "stopped",
                                       "pending", "running",       "shutting-down",
                                       "terminated"};
    struct fx f;
    char id[SIM_ID_MAX];
    core_ns t0;

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    t0 = core_clock_mono(f.clock);
    run_one(&f, 0, NULL, id, sizeof id);
    /* The loop's timer alone moves it: no request in between. */
    CU_ASSERT_FATAL(run_until_state(&f, id, "running"));
    CU_ASSERT_EQUAL(core_clock_mono(f.clock) - t0, S(20));
    CU_ASSERT_EQUAL(change(&f, STOP, id, NULL, NULL, 0), 200);
    CU_ASSERT_FATAL(run_until_state(&f, id, "stopped"));
    CU_ASSERT_EQUAL(core_clock_mono(f.clock) - t0, S(35));
    CU_ASSERT_EQUAL(change(&f, START, id, NULL, NULL, 0), 200);
    CU_ASSERT_FATAL(run_until_state(&f, id, "running"));
    CU_ASSERT_EQUAL(core_clock_mono(f.clock) - t0, S(40));
    CU_ASSERT_EQUAL(change(&f, TERMINATE, id, NULL, NULL, 0), 200);
    CU_ASSERT_FATAL(run_until_state(&f, id, "terminated"));
    CU_ASSERT_EQUAL(core_clock_mono(f.clock) - t0, S(60));

    CU_ASSERT_EQUAL_FATAL(f.nseen, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < f.nseen; i++) {
        CU_ASSERT_STRING_EQUAL(f.seen[i].state, want[i]);
        CU_ASSERT_STRING_EQUAL(f.seen[i].id, id);
    }
    CU_ASSERT_EQUAL(f.seen[1].boots, 1);
    CU_ASSERT_EQUAL(f.seen[5].boots, 2);
    CU_ASSERT_EQUAL(f.seen[5].resumed, 0);
    fx_close(&f);
}

static void test_stop_keeps_private_ip(void)
{
    struct fx f;
    struct aws_ec2_instances a = {0}, b = {0};
    struct aws_ec2_state_changes ch = {0};
    char id[SIM_ID_MAX];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    run_one(&f, 0, NULL, id, sizeof id);
    CU_ASSERT_FATAL(run_until_state(&f, id, "running"));
    CU_ASSERT_EQUAL_FATAL(describe(&f, id, &a, NULL, 0), 200);
    CU_ASSERT_EQUAL(change(&f, STOP, id, &ch, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(ch.n, 1);
    CU_ASSERT_STRING_EQUAL(ch.v[0].previous_name, "running");
    CU_ASSERT_STRING_EQUAL(ch.v[0].current_name, "stopping");
    aws_ec2_state_changes_cleanup(&ch);
    CU_ASSERT_FATAL(run_until_state(&f, id, "stopped"));
    /* Another launch meanwhile must not get the stopped instance's address. */
    {
        char other[SIM_ID_MAX];
        run_one(&f, 0, NULL, other, sizeof other);
    }
    CU_ASSERT_EQUAL_FATAL(describe(&f, id, &b, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(b.v[0].state_name, "stopped");
    CU_ASSERT_STRING_EQUAL(b.v[0].private_ip, a.v[0].private_ip);
    CU_ASSERT_STRING_EQUAL(b.v[0].state_reason_code, "Client.UserInitiatedShutdown");
    CU_ASSERT_PTR_NOT_NULL(strstr(b.v[0].state_transition_reason, "User initiated ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.v[0].state_transition_reason, " GMT)"));
    aws_ec2_instances_cleanup(&b);
    CU_ASSERT_EQUAL(change(&f, START, id, NULL, NULL, 0), 200);
    CU_ASSERT_FATAL(run_until_state(&f, id, "running"));
    CU_ASSERT_EQUAL_FATAL(describe(&f, id, &b, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(b.v[0].private_ip, a.v[0].private_ip);
    CU_ASSERT(b.v[0].launch_time > a.v[0].launch_time);
    aws_ec2_instances_cleanup(&a);
    aws_ec2_instances_cleanup(&b);
    fx_close(&f);
}

static void test_user_data_replaceable_only_while_stopped(void)
{
    struct fx f;
    char id[SIM_ID_MAX], code[64], value[64];
    struct aws_query q;
    struct ans a;

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    run_one(&f, 0, "#!/bin/sh\necho warm\n", id, sizeof id);
    CU_ASSERT_EQUAL(describe_attribute(&f, id, "userData", value, sizeof value), 200);
    CU_ASSERT_STRING_EQUAL(value, "#!/bin/sh\necho warm\n");
    /* pending, then running: refused. */
    CU_ASSERT_EQUAL(modify_user_data(&f, id, "join", code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "IncorrectInstanceState");
    CU_ASSERT_FATAL(run_until_state(&f, id, "running"));
    CU_ASSERT_EQUAL(modify_user_data(&f, id, "join", code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "IncorrectInstanceState");
    CU_ASSERT_EQUAL(change(&f, STOP, id, NULL, NULL, 0), 200);
    CU_ASSERT_EQUAL(modify_user_data(&f, id, "join", code, sizeof code), 400); /* stopping */
    CU_ASSERT_FATAL(run_until_state(&f, id, "stopped"));
    CU_ASSERT_EQUAL(modify_user_data(&f, id, "join-config", code, sizeof code), 200);
    CU_ASSERT_EQUAL(describe_attribute(&f, id, "userData", value, sizeof value), 200);
    CU_ASSERT_STRING_EQUAL(value, "join-config");

    /* The instance type too, while stopped (the older Attribute/Value form). */
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "ModifyInstanceAttribute"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceId", id), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceType.Value", f.types[1]), 0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    ans_free(&a);
    CU_ASSERT_EQUAL(describe_attribute(&f, id, "instanceType", value, sizeof value), 200);
    CU_ASSERT_STRING_EQUAL(value, f.types[1]);

    /* The observer gets the new user data on the next start. */
    CU_ASSERT_EQUAL(change(&f, START, id, NULL, NULL, 0), 200);
    CU_ASSERT_FATAL(run_until_state(&f, id, "running"));
    CU_ASSERT_EQUAL(f.a->instances[0]->user_data_len, strlen("join-config"));
    fx_close(&f);
}

/* RunInstances by hand with UserData of n raw bytes (the client refuses more than 16 KiB). */
static long run_with_raw_user_data(struct fx *f, size_t n, const char *b64_override, char *code,
                                   size_t codesz)
{
    struct aws_query q;
    struct ans a;
    unsigned char *raw = core_calloc(n + 1, 1);
    char *b64 = core_calloc(4 * ((n + 2) / 3) + 1, 1);
    long status;
    CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b64);
    memset(raw, 'x', n);
    EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "RunInstances"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "ImageId", f->image), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceType", f->types[0]), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MinCount", "1"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MaxCount", "1"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "UserData", b64_override ? b64_override : b64), 0);
    call_q(f, &q, &a);
    core_strlcpy(code, a.code, codesz);
    status = a.status;
    ans_free(&a);
    core_free(raw);
    core_free(b64);
    return status;
}

static void test_user_data_limits(void)
{
    struct fx f;
    char code[64];
    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    CU_ASSERT_EQUAL(run_with_raw_user_data(&f, 16385, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidParameterValue");
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 0);
    CU_ASSERT_EQUAL(run_with_raw_user_data(&f, 16384, NULL, code, sizeof code), 200);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 1);
    CU_ASSERT_EQUAL(f.a->instances[0]->user_data_len, 16384);
    CU_ASSERT_EQUAL(run_with_raw_user_data(&f, 1, "not base64!", code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidUserData.Malformed");
    CU_ASSERT_EQUAL(run_with_raw_user_data(&f, 1, "ab=c", code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidUserData.Malformed");
    fx_close(&f);
}

static void test_hibernation(void)
{
    struct fx f;
    struct aws_ec2_run_instances_req r = {0};
    struct aws_ec2_instances out = {0};
    char plain[SIM_ID_MAX], hib[SIM_ID_MAX], code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    /* Launched without hibernation: Hibernate=true is refused. */
    run_one(&f, 0, NULL, plain, sizeof plain);
    CU_ASSERT_FATAL(run_until_state(&f, plain, "running"));
    CU_ASSERT_EQUAL(change(&f, STOP_HIBERNATE, plain, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "UnsupportedOperation");

    /* A type without hibernation cannot be launched with it. */
    r.image_id = f.image;
    r.instance_type = f.no_hib_type;
    r.min_count = r.max_count = 1;
    r.hibernation_configured = AWS_EC2_TRUE;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "UnsupportedHibernationConfiguration");

    /* With hibernation: stop saves RAM, the next start is a resume. */
    run_one(&f, 1, NULL, hib, sizeof hib);
    CU_ASSERT_FATAL(run_until_state(&f, hib, "running"));
    CU_ASSERT_EQUAL(change(&f, STOP_HIBERNATE, hib, NULL, code, sizeof code), 200);
    CU_ASSERT_EQUAL_FATAL(describe(&f, hib, &out, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(out.v[0].state_name, "stopping");
    CU_ASSERT_STRING_EQUAL(out.v[0].state_reason_code, "Client.UserInitiatedHibernate");
    CU_ASSERT(out.v[0].hibernation_configured);
    aws_ec2_instances_cleanup(&out);
    CU_ASSERT_FATAL(run_until_state(&f, hib, "stopped"));
    CU_ASSERT_EQUAL(change(&f, START, hib, NULL, NULL, 0), 200);
    CU_ASSERT_FATAL(run_until_state(&f, hib, "running"));
    CU_ASSERT_EQUAL(f.seen[f.nseen - 1].resumed, 1);
    CU_ASSERT_EQUAL(f.seen[f.nseen - 1].boots, 2);
    fx_close(&f);
}

static void test_state_errors(void)
{
    struct fx f;
    struct aws_ec2_state_changes ch = {0};
    char id[SIM_ID_MAX], code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    run_one(&f, 0, NULL, id, sizeof id);
    /* A pending instance cannot be stopped. */
    CU_ASSERT_EQUAL(change(&f, STOP, id, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "IncorrectInstanceState");
    CU_ASSERT_FATAL(run_until_state(&f, id, "running"));
    /* Starting a running instance is a no-op success, as on AWS. */
    CU_ASSERT_EQUAL(change(&f, START, id, &ch, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(ch.n, 1);
    CU_ASSERT_STRING_EQUAL(ch.v[0].previous_name, "running");
    CU_ASSERT_STRING_EQUAL(ch.v[0].current_name, "running");
    aws_ec2_state_changes_cleanup(&ch);
    CU_ASSERT_EQUAL(change(&f, TERMINATE, id, NULL, NULL, 0), 200);
    CU_ASSERT_FATAL(run_until_state(&f, id, "terminated"));
    CU_ASSERT_EQUAL(change(&f, START, id, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "IncorrectInstanceState");
    /* Terminating a terminated instance answers terminated -> terminated. */
    CU_ASSERT_EQUAL(change(&f, TERMINATE, id, &ch, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(ch.n, 1);
    CU_ASSERT_STRING_EQUAL(ch.v[0].previous_name, "terminated");
    CU_ASSERT_STRING_EQUAL(ch.v[0].current_name, "terminated");
    aws_ec2_state_changes_cleanup(&ch);
    CU_ASSERT_EQUAL(change(&f, STOP, "i-0123456789abcdef0", NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidInstanceID.NotFound");
    CU_ASSERT_EQUAL(change(&f, STOP, "instance-1", NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidInstanceID.Malformed");
    fx_close(&f);
}

static void test_run_instances_errors(void)
{
    struct fx f;
    struct aws_ec2_run_instances_req r = {0};
    const char *bad_sg[1] = {"sg-0000000000000000a"};
    char code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    r.instance_type = f.types[0];
    r.min_count = r.max_count = 1;
    r.image_id = "ami-0000000000000000f";
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidAMIID.NotFound");
    r.image_id = "image-1";
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidAMIID.Malformed");
    r.image_id = f.image;
    r.subnet_id = "subnet-0000000000000000a";
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidSubnetID.NotFound");
    r.subnet_id = NULL;
    r.security_group_ids = bad_sg;
    r.nsecurity_group_ids = 1;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidGroup.NotFound");
    r.security_group_ids = NULL;
    r.nsecurity_group_ids = 0;
    /* ICE: HTTP 500, counted. */
    core_strlcpy(f.a->opts.faults.ice[0].instance_type, f.types[0], 64);
    core_strlcpy(f.a->opts.faults.ice[0].zone, "*", 32);
    f.a->opts.faults.nice = 1;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 500);
    CU_ASSERT_STRING_EQUAL(code, "InsufficientInstanceCapacity");
    CU_ASSERT_EQUAL(f.a->stats.ice, 1);
    f.a->opts.faults.nice = 0;
    /* MinCount beyond the free addresses of the small subnet. */
    r.subnet_id = f.a->subnets[3].id;
    r.min_count = 300;
    r.max_count = 300;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InsufficientFreeAddressesInSubnet");
    /* ... but MinCount 1 takes what there is. */
    r.min_count = 1;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 200);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 256 - 5);
    CU_ASSERT_EQUAL(f.a->subnets[3].available, 0);
    CU_ASSERT_EQUAL(f.a->stats.launched, 256 - 5);
    fx_close(&f);
}

static void test_spot_cannot_stop(void)
{
    struct fx f;
    struct aws_query q;
    struct ans a;
    struct aws_ec2_instances out = {0};
    char code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "RunInstances"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "ImageId", f.image), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceType", f.types[0]), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MinCount", "1"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MaxCount", "1"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceMarketOptions.MarketType", "spot"), 0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_run_instances_decode(a.root, &out, NULL), 0);
    ans_free(&a);
    CU_ASSERT_STRING_EQUAL(out.v[0].lifecycle, "spot");
    CU_ASSERT_FATAL(run_until_state(&f, out.v[0].instance_id, "running"));
    CU_ASSERT_EQUAL(change(&f, STOP, out.v[0].instance_id, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "UnsupportedOperation");
    aws_ec2_instances_cleanup(&out);

    /* A maximum under the Spot price is refused. */
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", "RunInstances"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "ImageId", f.image), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceType", f.types[0]), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MinCount", "1"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "MaxCount", "1"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceMarketOptions.MarketType", "spot"), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "InstanceMarketOptions.SpotOptions.MaxPrice", "0.000001"),
                    0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_STRING_EQUAL(a.code, "SpotMaxPriceTooLow");
    ans_free(&a);
    fx_close(&f);
}

static void test_terminated_instances_age_out(void)
{
    struct fx f;
    struct aws_ec2_instances out = {0};
    char id[SIM_ID_MAX], code[64], st[32];
    int64_t avail;

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    avail = f.a->subnets[0].available;
    run_one(&f, 0, NULL, id, sizeof id);
    CU_ASSERT_EQUAL(f.a->subnets[0].available, avail - 1);
    CU_ASSERT_EQUAL(change(&f, TERMINATE, id, NULL, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(state_of(&f, id, st, sizeof st), "shutting-down");
    CU_ASSERT_FATAL(run_until_state(&f, id, "terminated"));
    /* The address is back; the instance is still described, without it. */
    CU_ASSERT_EQUAL(f.a->subnets[0].available, avail);
    CU_ASSERT_EQUAL_FATAL(describe(&f, id, &out, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(out.v[0].state_name, "terminated");
    CU_ASSERT_PTR_NULL(out.v[0].private_ip);
    aws_ec2_instances_cleanup(&out);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 1);
    /* terminated_ttl (600 s) later it is gone: by the timer, with no request. */
    CU_ASSERT_EQUAL(core_loop_run_once(f.loop, -1, NULL) >= 0, 1);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 0);
    CU_ASSERT_EQUAL(describe(&f, id, &out, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidInstanceID.NotFound");
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);
    fx_close(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* CreateFleet                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void test_fleet_lowest_price_picks_cheapest(void)
{
    struct fx f;
    struct aws_ec2_fleet_override ov[3] = {{0}};
    struct aws_ec2_fleet_template_config cfg = {0};
    struct aws_ec2_create_fleet_req r = {0};
    struct aws_ec2_fleet out = {0};
    char lt[SIM_ID_MAX];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    create_lt(&f, "stoker-fleet", 0, lt, sizeof lt);
    /* Most expensive first: the order sent must not matter. */
    for (size_t i = 0; i < 3; i++) {
        ov[i].instance_type = f.types[2 - i];
        ov[i].subnet_id = f.a->subnets[0].id;
    }
    cfg.launch_template_id = lt;
    cfg.overrides = ov;
    cfg.noverrides = 3;
    r.configs = &cfg;
    r.nconfigs = 1;
    r.total_target_capacity = 2;
    r.default_target_capacity_type = "on-demand";
    CU_ASSERT_EQUAL_FATAL(fleet(&f, &r, &out, NULL, 0), 200);
    CU_ASSERT_PTR_NOT_NULL(out.fleet_id);
    CU_ASSERT_EQUAL(out.nerrors, 0);
    CU_ASSERT_EQUAL_FATAL(out.ninstances, 1);
    CU_ASSERT_STRING_EQUAL(out.instances[0].instance_type, f.types[0]);
    CU_ASSERT_STRING_EQUAL(out.instances[0].lifecycle, "on-demand");
    CU_ASSERT_STRING_EQUAL(out.instances[0].overrides.instance_type, f.types[0]);
    CU_ASSERT_EQUAL(out.instances[0].instance_ids.n, 2);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 2);
    aws_ec2_fleet_cleanup(&out);

    /* prioritized: Priority wins over price. */
    ov[0].has_priority = 1; /* the most expensive */
    ov[0].priority = 0;
    ov[1].has_priority = 1;
    ov[1].priority = 1;
    r.on_demand_allocation_strategy = "prioritized";
    r.total_target_capacity = 1;
    CU_ASSERT_EQUAL_FATAL(fleet(&f, &r, &out, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(out.ninstances, 1);
    CU_ASSERT_STRING_EQUAL(out.instances[0].instance_type, f.types[2]);
    aws_ec2_fleet_cleanup(&out);
    fx_close(&f);
}

static void test_fleet_ice_falls_to_next_override(void)
{
    struct fx f;
    struct aws_ec2_fleet_override ov[3] = {{0}};
    struct aws_ec2_fleet_template_config cfg = {0};
    struct aws_ec2_create_fleet_req r = {0};
    struct aws_ec2_fleet out = {0};
    char lt[SIM_ID_MAX];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    create_lt(&f, "stoker-fleet", 1, lt, sizeof lt);
    core_strlcpy(f.a->opts.faults.ice[0].instance_type, f.types[0], 64);
    core_strlcpy(f.a->opts.faults.ice[0].zone, "us-east-1a", 32);
    f.a->opts.faults.nice = 1;
    for (size_t i = 0; i < 3; i++) {
        ov[i].instance_type = f.types[i];
        ov[i].subnet_id = f.a->subnets[0].id;
    }
    cfg.launch_template_name = "stoker-fleet";
    cfg.version = "$Latest";
    cfg.overrides = ov;
    cfg.noverrides = 3;
    r.configs = &cfg;
    r.nconfigs = 1;
    r.total_target_capacity = 3;
    r.default_target_capacity_type = "on-demand";
    CU_ASSERT_EQUAL_FATAL(fleet(&f, &r, &out, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(out.nerrors, 1);
    CU_ASSERT_STRING_EQUAL(out.errors[0].code, "InsufficientInstanceCapacity");
    CU_ASSERT(aws_ec2_fleet_error_is_capacity(&out.errors[0]));
    CU_ASSERT_STRING_EQUAL(out.errors[0].overrides.instance_type, f.types[0]);
    CU_ASSERT_STRING_EQUAL(out.errors[0].overrides.subnet_id, f.a->subnets[0].id);
    CU_ASSERT_STRING_EQUAL(out.errors[0].lifecycle, "on-demand");
    CU_ASSERT_EQUAL_FATAL(out.ninstances, 1);
    CU_ASSERT_STRING_EQUAL(out.instances[0].instance_type, f.types[1]);
    CU_ASSERT_EQUAL(out.instances[0].instance_ids.n, 3);
    CU_ASSERT_EQUAL(f.a->stats.ice, 1);
    aws_ec2_fleet_cleanup(&out);
    fx_close(&f);
}

static void test_fleet_partial_fulfilment(void)
{
    struct fx f;
    struct aws_ec2_fleet_override ov[2] = {{0}};
    struct aws_ec2_fleet_template_config cfg = {0};
    struct aws_ec2_create_fleet_req r = {0};
    struct aws_ec2_fleet out = {0};
    struct aws_ec2_tag tag = {"team", "infra"};
    struct aws_ec2_tag_spec spec = {"instance", &tag, 1};
    char lt[SIM_ID_MAX];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    create_lt(&f, "stoker-fleet", 0, lt, sizeof lt);
    /* The cheapest sits in the small subnet (251 addresses); the other has no capacity. */
    core_strlcpy(f.a->opts.faults.ice[0].instance_type, f.types[1], 64);
    core_strlcpy(f.a->opts.faults.ice[0].zone, "*", 32);
    f.a->opts.faults.nice = 1;
    ov[0].instance_type = f.types[0];
    ov[0].subnet_id = f.a->subnets[3].id;
    ov[1].instance_type = f.types[1];
    ov[1].availability_zone = "us-east-1b";
    cfg.launch_template_id = lt;
    cfg.overrides = ov;
    cfg.noverrides = 2;
    r.configs = &cfg;
    r.nconfigs = 1;
    r.total_target_capacity = 300;
    r.default_target_capacity_type = "on-demand";
    r.tag_specs = &spec;
    r.ntag_specs = 1;
    CU_ASSERT_EQUAL_FATAL(fleet(&f, &r, &out, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(out.ninstances, 1);
    CU_ASSERT_EQUAL(out.instances[0].instance_ids.n, 251);
    CU_ASSERT_EQUAL_FATAL(out.nerrors, 2);
    CU_ASSERT_STRING_EQUAL(out.errors[0].code, "InsufficientFreeAddressesInSubnet");
    CU_ASSERT_STRING_EQUAL(out.errors[0].overrides.instance_type, f.types[0]);
    CU_ASSERT_STRING_EQUAL(out.errors[1].code, "InsufficientInstanceCapacity");
    CU_ASSERT_STRING_EQUAL(out.errors[1].overrides.availability_zone, "us-east-1b");
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 251);
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&f.a->instances[0]->tags, "team"), "infra");
    CU_ASSERT_PTR_NOT_NULL(f.a->instances[0]->fleet_id);
    aws_ec2_fleet_cleanup(&out);
    fx_close(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* Idempotency, throttling                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void test_client_token(void)
{
    struct fx f;
    struct aws_ec2_run_instances_req r = {0};
    struct aws_ec2_instances a = {0}, b = {0};
    struct aws_ec2_fleet_template_config cfg = {0};
    struct aws_ec2_create_fleet_req fr = {0};
    struct aws_ec2_fleet fa = {0}, fb = {0};
    char code[64], lt[SIM_ID_MAX];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    r.image_id = f.image;
    r.instance_type = f.types[0];
    r.min_count = r.max_count = 1;
    r.client_token = "launch-7f3a";
    CU_ASSERT_EQUAL_FATAL(run(&f, &r, &a, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(run(&f, &r, &b, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(a.n, 1);
    CU_ASSERT_EQUAL_FATAL(b.n, 1);
    CU_ASSERT_STRING_EQUAL(a.v[0].instance_id, b.v[0].instance_id);
    CU_ASSERT_STRING_EQUAL(a.v[0].client_token, "launch-7f3a");
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 1);
    CU_ASSERT_EQUAL(f.a->stats.launched, 1);
    /* The same token with other parameters. */
    r.max_count = 2;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "IdempotentParameterMismatch");
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 1);
    aws_ec2_instances_cleanup(&a);
    aws_ec2_instances_cleanup(&b);

    create_lt(&f, "stoker-token", 1, lt, sizeof lt);
    cfg.launch_template_id = lt;
    fr.configs = &cfg;
    fr.nconfigs = 1;
    fr.total_target_capacity = 2;
    fr.default_target_capacity_type = "on-demand";
    fr.client_token = "fleet-91c2";
    CU_ASSERT_EQUAL_FATAL(fleet(&f, &fr, &fa, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(fleet(&f, &fr, &fb, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(fa.fleet_id, fb.fleet_id);
    CU_ASSERT_EQUAL_FATAL(fa.ninstances, 1);
    CU_ASSERT_EQUAL_FATAL(fb.ninstances, 1);
    CU_ASSERT_EQUAL(fa.instances[0].instance_ids.n, 2);
    CU_ASSERT_STRING_EQUAL(fa.instances[0].instance_ids.v[1], fb.instances[0].instance_ids.v[1]);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 3);
    fr.total_target_capacity = 3;
    CU_ASSERT_EQUAL(fleet(&f, &fr, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "IdempotentParameterMismatch");
    aws_ec2_fleet_cleanup(&fa);
    aws_ec2_fleet_cleanup(&fb);
    fx_close(&f);
}

static void test_launch_bucket(void)
{
    struct fx f;
    struct aws_ec2_run_instances_req r = {0};
    char code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 1), 0);
    r.image_id = f.image;
    r.instance_type = f.types[0];
    r.min_count = r.max_count = 1000;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 200);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 1000);
    r.min_count = r.max_count = 1;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 503);
    CU_ASSERT_STRING_EQUAL(code, "RequestLimitExceeded");
    CU_ASSERT_EQUAL(f.a->stats.throttled, 1);
    /* 2 instances per second come back. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, S(1)), 0);
    r.min_count = r.max_count = 2;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 200);
    r.min_count = r.max_count = 1;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 503);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 1002);
    /* MinCount..MaxCount: takes what the bucket allows when it covers MinCount. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, S(5)), 0);
    r.min_count = 5;
    r.max_count = 50;
    CU_ASSERT_EQUAL(run(&f, &r, NULL, code, sizeof code), 200);
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 1007);
    fx_close(&f);
}

/* ------------------------------------------------------------------------------------------ */
/* Tags, launch templates                                                                      */
/* ------------------------------------------------------------------------------------------ */

static long tags_call(struct fx *f, const char *action, const char *id, const char *key,
                      const char *value, char *code, size_t codesz)
{
    struct aws_query q;
    struct ans a;
    long status;
    aws_query_init(&q);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Action", action), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "Version", AWS_EC2_API_VERSION), 0);
    CU_ASSERT_EQUAL(aws_query_add(&q, "ResourceId.1", id), 0);
    if (key)
        CU_ASSERT_EQUAL(aws_query_add(&q, "Tag.1.Key", key), 0);
    if (value)
        CU_ASSERT_EQUAL(aws_query_add(&q, "Tag.1.Value", value), 0);
    call_q(f, &q, &a);
    core_strlcpy(code, a.code, codesz);
    status = a.status;
    ans_free(&a);
    return status;
}

static void test_tags(void)
{
    struct fx f;
    struct aws_ec2_create_tags_req r = {0};
    struct aws_ec2_tag tags[2] = {{"stoker.dev/pool", "warm"}, {"Name", "w1"}};
    const char *ids[2];
    struct aws_query q;
    struct ans a;
    char id[SIM_ID_MAX], code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    run_one(&f, 0, NULL, id, sizeof id);
    ids[0] = id;
    ids[1] = f.a->subnets[1].id;
    r.resource_ids = ids;
    r.nresource_ids = 2;
    r.tags = tags;
    r.ntags = 2;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_tags_encode(&r, &q, NULL), 0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_EQUAL(aws_ec2_create_tags_decode(a.root, NULL), 0);
    ans_free(&a);
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&f.a->instances[0]->tags, "stoker.dev/pool"), "warm");
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&f.a->subnets[1].tags, "Name"), "w1");

    CU_ASSERT_EQUAL(tags_call(&f, "CreateTags", id, "aws:cloudformation:x", "v", code,
                              sizeof code),
                    400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidParameterValue");
    CU_ASSERT_EQUAL(tags_call(&f, "CreateTags", "i-0123456789abcdef0", "k", "v", code,
                              sizeof code),
                    400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidInstanceID.NotFound");
    CU_ASSERT_EQUAL(tags_call(&f, "CreateTags", "ami-0123456789abcdef0", "k", "v", code,
                              sizeof code),
                    400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidAMIID.NotFound");
    /* DeleteTags with a value that does not match keeps the tag; without a value it goes. */
    CU_ASSERT_EQUAL(tags_call(&f, "DeleteTags", id, "stoker.dev/pool", "cold", code, sizeof code),
                    200);
    CU_ASSERT_PTR_NOT_NULL(sim_tags_get(&f.a->instances[0]->tags, "stoker.dev/pool"));
    CU_ASSERT_EQUAL(tags_call(&f, "DeleteTags", id, "stoker.dev/pool", NULL, code, sizeof code),
                    200);
    CU_ASSERT_PTR_NULL(sim_tags_get(&f.a->instances[0]->tags, "stoker.dev/pool"));
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&f.a->instances[0]->tags, "Name"), "w1");
    fx_close(&f);
}

static void test_launch_templates(void)
{
    struct fx f;
    struct aws_ec2_create_launch_template_req r = {0};
    struct aws_ec2_delete_launch_template_req d = {0};
    struct aws_ec2_run_instances_req run_req = {0};
    struct aws_ec2_instances out = {0};
    struct aws_ec2_tag tag = {"stoker.dev/pool", "p1"};
    struct aws_ec2_tag_spec spec = {"instance", &tag, 1};
    const char *sgs[1];
    struct aws_query q;
    struct ans a;
    char lt[SIM_ID_MAX], code[64];

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    sgs[0] = f.a->sgs[0].id;
    r.name = "stoker-p1";
    r.data.image_id = f.image;
    r.data.instance_type = f.types[1];
    r.data.user_data = "from-template";
    r.data.user_data_len = strlen("from-template");
    r.data.security_group_ids = sgs;
    r.data.nsecurity_group_ids = 1;
    r.data.iam_instance_profile_name = "stoker-node";
    r.data.tag_specs = &spec;
    r.data.ntag_specs = 1;
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_launch_template_encode(&r, &q, NULL), 0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL_FATAL(a.status, 200);
    {
        struct aws_ec2_launch_templates lts = {0};
        CU_ASSERT_EQUAL_FATAL(aws_ec2_create_launch_template_decode(a.root, &lts, NULL), 0);
        CU_ASSERT_STRING_EQUAL(lts.v[0].launch_template_name, "stoker-p1");
        CU_ASSERT_EQUAL(lts.v[0].default_version, 1);
        core_strlcpy(lt, lts.v[0].launch_template_id, sizeof lt);
        aws_ec2_launch_templates_cleanup(&lts);
    }
    ans_free(&a);
    /* The name is taken. */
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_create_launch_template_encode(&r, &q, NULL), 0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_STRING_EQUAL(a.code, "InvalidLaunchTemplateName.AlreadyExistsException");
    ans_free(&a);

    /* RunInstances from the template: its data, with the request's own values winning. */
    run_req.launch_template_id = lt;
    run_req.min_count = run_req.max_count = 1;
    CU_ASSERT_EQUAL_FATAL(run(&f, &run_req, &out, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(out.v[0].instance_type, f.types[1]);
    CU_ASSERT_STRING_EQUAL(out.v[0].image_id, f.image);
    CU_ASSERT_STRING_EQUAL(out.v[0].iam_instance_profile_arn,
                           "arn:aws:iam::123456789012:instance-profile/stoker-node");
    CU_ASSERT_STRING_EQUAL(sim_tags_get(&out.v[0].tags, "stoker.dev/pool"), "p1");
    CU_ASSERT_EQUAL(f.a->instances[0]->user_data_len, strlen("from-template"));
    aws_ec2_instances_cleanup(&out);
    run_req.instance_type = f.types[0];
    run_req.launch_template_version = "1";
    CU_ASSERT_EQUAL_FATAL(run(&f, &run_req, &out, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(out.v[0].instance_type, f.types[0]);
    aws_ec2_instances_cleanup(&out);
    run_req.launch_template_version = "7";
    CU_ASSERT_EQUAL(run(&f, &run_req, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidLaunchTemplateId.VersionNotFound");

    d.name = "stoker-p1";
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_delete_launch_template_encode(&d, &q, NULL), 0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    ans_free(&a);
    CU_ASSERT_EQUAL(f.a->nlts, 0);
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_ec2_delete_launch_template_encode(&d, &q, NULL), 0);
    call_q(&f, &q, &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_STRING_EQUAL(a.code, "InvalidLaunchTemplateName.NotFoundException");
    ans_free(&a);
    run_req.launch_template_version = NULL;
    CU_ASSERT_EQUAL(run(&f, &run_req, NULL, code, sizeof code), 400);
    CU_ASSERT_STRING_EQUAL(code, "InvalidLaunchTemplateId.NotFound");
    fx_close(&f);
}

/* 5,000 instances with spread-out (default, random) delays: one timer serves them all. */
static void test_many_instances(void)
{
    struct fx f;
    struct aws_ec2_run_instances_req r = {0};
    struct aws_ec2_instances out = {0};
    struct aws_ec2_terminate_instances_req t = {0};
    const char **ids;
    struct aws_query q;
    struct ans a;
    size_t running = 0;
    int more = 1;

    CU_ASSERT_EQUAL_FATAL(fx_open_with(&f, 0), 0);
    sim_boot_model_default(&f.a->opts.boot);
    r.image_id = f.image;
    r.instance_type = f.types[0];
    r.min_count = r.max_count = 1000;
    for (int k = 0; k < 5; k++)
        CU_ASSERT_EQUAL_FATAL(run(&f, &r, &out, NULL, 0), 200);
    CU_ASSERT_EQUAL_FATAL(out.n, 5000);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 1);
    while (more)
        more = core_loop_run_once(f.loop, -1, NULL) > 0;
    for (size_t k = 0; k < f.a->ninstances; k++)
        running += f.a->instances[k]->state == SIM_RUNNING;
    CU_ASSERT_EQUAL(running, 5000);
    ids = core_calloc(1000, sizeof *ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
    for (size_t b = 0; b < 5; b++) {
        for (size_t k = 0; k < 1000; k++)
            ids[k] = out.v[b * 1000 + k].instance_id;
        t.instance_ids = ids;
        t.ninstance_ids = 1000;
        aws_query_init(&q);
        CU_ASSERT_EQUAL_FATAL(aws_ec2_terminate_instances_encode(&t, &q, NULL), 0);
        call_q(&f, &q, &a);
        CU_ASSERT_EQUAL(a.status, 200);
        ans_free(&a);
    }
    core_free(ids);
    /* Terminations, then the ageing, all from the one timer. */
    more = 1;
    while (more)
        more = core_loop_run_once(f.loop, -1, NULL) > 0;
    CU_ASSERT_EQUAL(sim_aws_instance_count(f.a), 0);
    CU_ASSERT_EQUAL(f.a->subnets[0].available, 8192 - 5);
    aws_ec2_instances_cleanup(&out);
    fx_close(&f);
}

TESTS_SUITE(sim_mutate, "sim_mutate", NULL, NULL,
            TESTS_CASE(test_pending_then_running_after_boot_delay),
            TESTS_CASE(test_observer_sees_every_transition),
            TESTS_CASE(test_stop_keeps_private_ip),
            TESTS_CASE(test_user_data_replaceable_only_while_stopped),
            TESTS_CASE(test_user_data_limits), TESTS_CASE(test_hibernation),
            TESTS_CASE(test_state_errors), TESTS_CASE(test_run_instances_errors),
            TESTS_CASE(test_spot_cannot_stop), TESTS_CASE(test_terminated_instances_age_out),
            TESTS_CASE(test_fleet_lowest_price_picks_cheapest),
            TESTS_CASE(test_fleet_ice_falls_to_next_override),
            TESTS_CASE(test_fleet_partial_fulfilment), TESTS_CASE(test_client_token),
            TESTS_CASE(test_launch_bucket), TESTS_CASE(test_tags),
            TESTS_CASE(test_launch_templates), TESTS_CASE(test_many_instances));
