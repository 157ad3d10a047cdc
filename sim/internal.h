/*
 * sim/internal.h — what the sim module's files share and nothing outside uses: the emulated
 * account's data model, the request context of EC2 handlers, the XML writer, deterministic
 * randomness, and the hooks between the files.
 *
 * Files and what each owns:
 *   aws.c       account construction (zones, VPC, subnets, security groups, images, instance
 *               types, offerings, prices), options, faults, token buckets, SigV4 checking,
 *               dispatch by service and action, error answers, env file.
 *   boot.c      boot model table, PRNG, lognormal sampling.
 *   xmlw.c      the XML writer.
 *   ec2_describe.c  every Describe* action, filters, pagination, the <item> renderers.
 *   ec2_mutate.c    RunInstances, CreateFleet, Start/Stop/Terminate, ModifyInstanceAttribute,
 *               CreateTags, Create/DeleteLaunchTemplate, client tokens.
 *   ec2_instances.c the instance lifecycle: creation, IP allocation, transitions on timers,
 *               ageing out of terminated instances, the observer.
 *   ssm.c       the public EKS AMI parameters and the SSM actions.
 *   server.c    the libmicrohttpd server; transport.c the in-process transport.
 *
 * Invariants:
 *  - struct sim_aws owns everything reachable from it; pointers between objects (an instance's
 *    type, image, subnet) stay valid for the account's lifetime: images, subnets, security
 *    groups and instance types are never removed, and instances are freed only by the ageing
 *    of terminated instances, which first drops them from every index.
 *  - Randomness: rng_boot drives delays, rng_fault the fault rolls, rng_id identifiers; keeping
 *    them apart means enabling a fault does not change which delays instances get.
 *  - Handlers write either a complete success document or nothing (the dispatcher discards a
 *    partial body when a handler reports an error).
 */
#ifndef STOKER_SIM_INTERNAL_H
#define STOKER_SIM_INTERNAL_H

#include "sim/sim.h"

#include "aws/aws.h"
#include "launcher/launcher.h"

#include <jansson.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* Randomness (boot.c)                                                                         */
/* ------------------------------------------------------------------------------------------ */

struct sim_rng {
    uint64_t s;
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);   /* splitmix64 */
double sim_rng_unit(struct sim_rng *r);     /* uniform in [0, 1) */
double sim_rng_normal(struct sim_rng *r);   /* standard normal (Box-Muller) */
/* FNV-1a 64 of s mixed with salt: for choices that must depend only on a name. */
uint64_t sim_hash(const char *s, uint64_t salt);
/* A delay drawn from the model's row for step. */
core_ns sim_boot_draw(const struct sim_boot_model *m, enum sim_boot_step step, struct sim_rng *r);

/* ------------------------------------------------------------------------------------------ */
/* XML writer (xmlw.c)                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* Appends well-formed XML to a core_buf. Errors are sticky: after the first failure (out of
 * memory, the buffer's limit, nesting deeper than SIM_XML_DEPTH, close without open) every
 * call does nothing and sim_xml_finish reports it. Text is escaped (& < > " '), bytes that XML
 * 1.0 cannot carry (control characters, invalid UTF-8) become U+FFFD. Element names are not
 * checked and not copied: each must stay valid until its element is closed. */
#define SIM_XML_DEPTH 32u
struct sim_xml {
    struct core_buf *out; /* borrowed */
    int err;
    unsigned depth;
    const char *stack[SIM_XML_DEPTH];
};
void sim_xml_init(struct sim_xml *x, struct core_buf *out);
/* <?xml version="1.0" encoding="UTF-8"?> */
void sim_xml_decl(struct sim_xml *x);
void sim_xml_open(struct sim_xml *x, const char *name);
/* <name xmlns="ns"> */
void sim_xml_open_ns(struct sim_xml *x, const char *name, const char *ns);
void sim_xml_close(struct sim_xml *x);
/* <name>text</name>; nothing at all when text is NULL. */
void sim_xml_text(struct sim_xml *x, const char *name, const char *text);
void sim_xml_textn(struct sim_xml *x, const char *name, const char *text, size_t len);
void sim_xml_textf(struct sim_xml *x, const char *name, const char *fmt, ...) CORE_PRINTF(3, 4);
void sim_xml_i64(struct sim_xml *x, const char *name, int64_t v);
void sim_xml_bool(struct sim_xml *x, const char *name, int v); /* true / false */
/* ISO 8601 UTC with milliseconds, as EC2 writes it: 2026-11-22T15:26:04.000Z. */
void sim_xml_time(struct sim_xml *x, const char *name, core_ns wall);
/* Money as EC2 writes it: up to 6 decimals ("0.096000"). */
void sim_xml_price(struct sim_xml *x, const char *name, double usd);
/* 0, or the sticky error (CORE_E_NOMEM, CORE_E_TOOBIG, CORE_E_STATE for unbalanced tags). */
int sim_xml_finish(struct sim_xml *x) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Account data model                                                                          */
/* ------------------------------------------------------------------------------------------ */

#define SIM_ZONES_MAX 6u
#define SIM_ID_MAX 32u

/* Tags: struct aws_ec2_tags with owned strings (aws_ec2_tags is reused, not re-declared). */
const char *sim_tags_get(const struct aws_ec2_tags *t, const char *key); /* NULL when absent */
int sim_tags_set(struct aws_ec2_tags *t, const char *key, const char *value) CORE_NODISCARD;
void sim_tags_cleanup(struct aws_ec2_tags *t);
/* Writes <tagSet><item><key/><value/></item>...</tagSet>; nothing when there are no tags. */
void sim_xml_tags(struct sim_xml *x, const struct aws_ec2_tags *t);

struct sim_zone {
    char name[32]; /* "us-east-1a" */
    char id[16];   /* "use1-az1" */
};

struct sim_subnet {
    char id[SIM_ID_MAX];
    int zone;               /* index into a->zones */
    char cidr[24];          /* "10.0.0.0/19" */
    uint32_t base;          /* network address, host byte order */
    uint32_t size;          /* addresses in the block */
    unsigned char *used;    /* one byte per address: 1 = taken (reserved or assigned) */
    int64_t available;      /* availableIpAddressCount */
    uint32_t next;          /* where the next allocation starts looking (round robin) */
    int map_public_ip;
    struct aws_ec2_tags tags;
};

struct sim_sg {
    char id[SIM_ID_MAX];
    char name[64];
    char description[128];
    struct aws_ec2_tags tags;
};

enum sim_ami_family {
    SIM_AMI_AL2 = 0,
    SIM_AMI_AL2023,
    SIM_AMI_BOTTLEROCKET,
    SIM_AMI_WINDOWS2019,
    SIM_AMI_WINDOWS2022,
    SIM_AMI_WINDOWS2025,
    SIM_AMI_CUSTOM, /* owned by the account itself ("self"), tagged, for selector terms */
};

struct sim_image {
    char id[SIM_ID_MAX];
    char *name;
    char *description;
    const char *arch;             /* "x86_64" | "arm64" (static) */
    core_ns created;              /* wall */
    core_ns deprecated_at;        /* wall; 0 = never */
    const char *state;            /* "available" (static) */
    char owner_id[16];
    const char *owner_alias;      /* "amazon", NULL for the account's own */
    const char *platform_details; /* "Linux/UNIX" | "Windows" (static) */
    const char *root_device;      /* "/dev/xvda" | "/dev/sda1" (static) */
    enum sim_ami_family family;
    char k8s[8];                  /* "1.31" */
    const char *variant;          /* "standard" | "nvidia" | "neuron" (static) */
    char release[40];             /* "v20261020" (AL2, AL2023), "1.26.1" (Bottlerocket),
                                     "2026.10.14" (Windows) */
    int latest;                   /* newest release of its family/k8s/arch/variant */
    struct aws_ec2_tags tags;
};

struct sim_itype {
    const struct launcher_itype *t; /* borrowed from a->catalog */
    int hibernation;                /* the emulator's hibernation rule (docs/simulator.md) */
    unsigned zones;                 /* bit i: offered in a->zones[i] */
    double od_price;                /* USD/hour on-demand */
    double spot_price[SIM_ZONES_MAX];
    double depth[SIM_ZONES_MAX];    /* spare-capacity score in (0, 1]: price-capacity-optimized */
};

/* EC2 instance state codes (instanceState/code). */
enum sim_istate {
    SIM_PENDING = 0,
    SIM_RUNNING = 16,
    SIM_SHUTTING_DOWN = 32,
    SIM_TERMINATED = 48,
    SIM_STOPPING = 64,
    SIM_STOPPED = 80,
};
const char *sim_istate_name(int code); /* "pending", ... */

struct sim_instance {
    char id[SIM_ID_MAX];             /* "i-" + 17 hex */
    char reservation_id[SIM_ID_MAX]; /* "r-" + 17 hex */
    const struct sim_itype *type;
    const struct sim_image *image;
    struct sim_subnet *subnet;
    uint32_t ip;                     /* host byte order */
    char private_ip[16];
    char private_dns[64];            /* "ip-10-0-1-5.ec2.internal" */
    int state;                       /* enum sim_istate */
    int next_state;                  /* after next_at (mono); -1 = none */
    core_ns next_at;
    int hibernation_configured;
    int hibernating;                 /* stopping with Hibernate=true */
    int hibernated;                  /* stopped with RAM saved: the next start resumes */
    int resumed;                     /* the current boot resumed from hibernation */
    unsigned char *user_data;        /* raw bytes (decoded), NULL when none */
    size_t user_data_len;
    int spot;
    char *client_token;
    char *profile_arn;
    char *key_name;
    char **sg_ids;
    size_t nsg;
    char *launch_template_id;
    char *fleet_id;
    core_ns launch_wall;             /* launchTime: set at launch and at every start */
    core_ns visible_at;              /* mono: describes show it from then (consistency fault) */
    core_ns gone_at;                 /* mono: terminated, dropped after this; 0 = not set */
    char reason[160];                /* <reason>: the state transition reason */
    char reason_code[64];            /* stateReason/code, "" when none */
    char reason_message[160];
    unsigned boots;
    struct aws_ec2_tags tags;
};

/* One version of a launch template: its LaunchTemplateData.* parameters with that prefix
 * removed ("ImageId", "SecurityGroupId.1", "TagSpecification.1.Tag.1.Key", ...). */
struct sim_lt_version {
    int64_t number;
    char *description;
    core_ns created;
    struct aws_query data;
};
#define SIM_LT_MAX 5000u /* launch templates per account (EC2's regional quota) */
struct sim_lt {
    char id[SIM_ID_MAX];             /* "lt-" + 17 hex */
    char *name;
    core_ns created;                 /* wall */
    int64_t default_version;
    int64_t latest_version;
    struct sim_lt_version *versions;
    size_t nversions;
    struct aws_ec2_tags tags;
};

/* A ClientToken seen by RunInstances or CreateFleet: the same token with the same parameters
 * answers the same document again; with other parameters it is IdempotentParameterMismatch. */
#define SIM_TOKENS_MAX 10000u /* remembered tokens; the oldest goes first */
struct sim_token {
    uint64_t seq;           /* store order, for evicting the oldest */
    char *action;
    uint64_t fingerprint;   /* hash of the request's parameters without ClientToken */
    char *body;             /* the success document first answered */
    size_t body_len;
};

struct sim_ssm_param {
    char *name;
    char *value;
    const char *type;      /* "String" (static) */
    const char *data_type; /* "text" | "aws:ec2:image" (static) */
    int64_t version;
    core_ns modified;      /* wall */
};

/* A token bucket: capacity, refill per second, level at `at` (mono). */
struct sim_bucket {
    double capacity;
    double refill;
    double level;
    core_ns at;
};
/* Takes n tokens if there are; 1 on success, 0 when the bucket is short. */
int sim_bucket_take(struct sim_bucket *b, double n, core_ns now);

struct sim_aws {
    struct core_loop *loop;   /* borrowed */
    struct core_clock *clock; /* the loop's */
    struct sim_aws_opts opts; /* strings below are the owned copies */
    char region[64];
    char account_id[16];
    char cluster[128];
    char *access_key_id;
    char *secret_access_key;
    struct sim_rng rng_boot, rng_fault, rng_id;
    unsigned long next_request;

    struct sim_zone zones[SIM_ZONES_MAX];
    size_t nzones;
    char vpc_id[SIM_ID_MAX];
    char vpc_cidr[24];
    struct sim_subnet *subnets;
    size_t nsubnets;
    struct sim_sg *sgs;
    size_t nsgs;

    struct sim_image **images; /* sorted by id */
    size_t nimages;
    struct core_map *image_by_id;

    struct launcher_catalog *catalog; /* owned */
    struct sim_itype *itypes;         /* catalog order (sorted by name) */
    size_t nitypes;
    struct core_map *itype_by_name;

    struct sim_instance **instances; /* launch order */
    size_t ninstances, instances_cap;
    struct core_map *instance_by_id;
    struct core_timer *timer;        /* the next transition or ageing */
    core_ns timer_at;

    struct sim_lt **lts;
    size_t nlts, lts_cap;
    struct core_map *lt_by_id, *lt_by_name;

    struct core_map *tokens;          /* "<action>\n<token>" -> struct sim_token */
    uint64_t token_seq;
    int advancing;                    /* inside sim_instances_advance (observer re-entry) */

    struct sim_ssm_param *params;     /* sorted by name */
    size_t nparams;
    struct core_map *param_by_name;   /* -> struct sim_ssm_param */

    struct core_map *buckets;         /* action -> struct sim_bucket */
    struct sim_bucket launch_bucket;  /* instances: 1,000, refilling at 2/s */

    sim_aws_observer_fn observer;
    void *observer_ud;
    struct sim_aws_stats stats;
};

/* ------------------------------------------------------------------------------------------ */
/* EC2 request context and handlers                                                            */
/* ------------------------------------------------------------------------------------------ */

#define SIM_EC2_XMLNS "http://ec2.amazonaws.com/doc/2016-11-15/"

struct sim_ec2_ctx {
    struct sim_aws *a;
    const struct aws_query *q; /* the decoded form, Action included */
    const char *action;
    char root[96];             /* "<Action>Response": the writer keeps a pointer until the end */
    char request_id[40];
    struct core_buf *body;     /* the answer; handlers write through x */
    struct sim_xml x;
    /* Set by sim_ec2_fail. */
    long status;
    char code[64];
    char message[512];
};

/* Records an error answer (HTTP status, EC2 code, message) and returns CORE_E_SERVICE, so a
 * handler can `return sim_ec2_fail(...)`. The dispatcher discards whatever body was written. */
int sim_ec2_fail(struct sim_ec2_ctx *c, long status, const char *code, const char *fmt, ...)
    CORE_PRINTF(4, 5);
/* Opens <ActionResponse xmlns=...><requestId>...</requestId>; the handler writes the rest and
 * calls sim_ec2_end, which closes the root. */
void sim_ec2_begin(struct sim_ec2_ctx *c);
void sim_ec2_end(struct sim_ec2_ctx *c);
/* Mono and wall now. */
core_ns sim_now(const struct sim_aws *a);
core_ns sim_wall(const struct sim_aws *a);
/* A fresh identifier: prefix + 17 lowercase hex digits from rng_id ("i-", "r-", "lt-", ...). */
void sim_new_id(struct sim_aws *a, const char *prefix, char *out, size_t outsz);

/* Lookups; NULL when absent. */
const struct sim_itype *sim_itype_find(const struct sim_aws *a, const char *name);
const struct sim_image *sim_image_find(const struct sim_aws *a, const char *id);
struct sim_subnet *sim_subnet_find(struct sim_aws *a, const char *id);
const struct sim_sg *sim_sg_find(const struct sim_aws *a, const char *id);
struct sim_instance *sim_instance_find(struct sim_aws *a, const char *id);
struct sim_lt *sim_lt_find(struct sim_aws *a, const char *id, const char *name);
/* Zone index by name, or -1. */
int sim_zone_index(const struct sim_aws *a, const char *name);
/* 1 when an ICE rule matches (type, zone). */
int sim_ice_match(const struct sim_aws *a, const char *instance_type, const char *zone);

/* Filters (ec2_describe.c): Filter.N.Name / Filter.N.Value.M of the request. */
#define SIM_FILTERS_MAX 50u
#define SIM_FILTER_VALUES_MAX 200u
struct sim_filter {
    const char *name;             /* borrowed from the query */
    const char *values[SIM_FILTER_VALUES_MAX];
    size_t nvalues;
};
struct sim_filters {
    struct sim_filter f[SIM_FILTERS_MAX];
    size_t n;
};
/* Parses the request's filters; InvalidParameterValue (via sim_ec2_fail) for a filter without
 * a name or values or more than the limits. */
int sim_filters_parse(struct sim_ec2_ctx *c, struct sim_filters *out);
/* EC2 wildcard match: '*' any run, '?' one character, '\' escapes the next. */
int sim_wildcard_match(const char *pattern, const char *value);
/* 1 when value matches any of the filter's values. */
int sim_filter_values_match(const struct sim_filter *f, const char *value);
/* Tag filters: "tag:KEY" (value match on that key) and "tag-key" / "tag-value". Returns 1
 * match, 0 no match, -1 when name is not a tag filter. */
int sim_filter_tags(const struct sim_filter *f, const struct aws_ec2_tags *tags);

/* Renderers shared by Describe* and the mutating actions' answers. */
void sim_xml_instance(struct sim_xml *x, const struct sim_aws *a, const struct sim_instance *i);
/* <item><instanceId/><currentState>..</currentState><previousState>..</previousState></item> */
void sim_xml_state_change(struct sim_xml *x, const char *id, int previous, int current);
void sim_xml_launch_template(struct sim_xml *x, const struct sim_lt *lt);

/* Every EC2 action: returns 0 with a complete document written (sim_ec2_begin .. sim_ec2_end),
 * or the result of sim_ec2_fail. */
typedef int (*sim_ec2_action_fn)(struct sim_ec2_ctx *c);
int sim_ec2_describe_instances(struct sim_ec2_ctx *c);
int sim_ec2_describe_instance_types(struct sim_ec2_ctx *c);
int sim_ec2_describe_instance_type_offerings(struct sim_ec2_ctx *c);
int sim_ec2_describe_subnets(struct sim_ec2_ctx *c);
int sim_ec2_describe_security_groups(struct sim_ec2_ctx *c);
int sim_ec2_describe_images(struct sim_ec2_ctx *c);
int sim_ec2_describe_spot_price_history(struct sim_ec2_ctx *c);
int sim_ec2_describe_launch_templates(struct sim_ec2_ctx *c);
int sim_ec2_describe_availability_zones(struct sim_ec2_ctx *c);
int sim_ec2_run_instances(struct sim_ec2_ctx *c);
int sim_ec2_create_fleet(struct sim_ec2_ctx *c);
int sim_ec2_start_instances(struct sim_ec2_ctx *c);
int sim_ec2_stop_instances(struct sim_ec2_ctx *c);
int sim_ec2_terminate_instances(struct sim_ec2_ctx *c);
int sim_ec2_modify_instance_attribute(struct sim_ec2_ctx *c);
int sim_ec2_describe_instance_attribute(struct sim_ec2_ctx *c);
int sim_ec2_create_tags(struct sim_ec2_ctx *c);
int sim_ec2_delete_tags(struct sim_ec2_ctx *c);
int sim_ec2_create_launch_template(struct sim_ec2_ctx *c);
int sim_ec2_delete_launch_template(struct sim_ec2_ctx *c);

/* ------------------------------------------------------------------------------------------ */
/* Instance lifecycle (ec2_instances.c)                                                        */
/* ------------------------------------------------------------------------------------------ */

/* What a launch needs, after a launch template (if any) and the request were merged. */
struct sim_launch_spec {
    const struct sim_itype *type;
    const struct sim_image *image;
    struct sim_subnet *subnet;
    const unsigned char *user_data; /* raw bytes, borrowed (copied into the instance) */
    size_t user_data_len;
    const char *profile_arn;
    const char *key_name;
    const char *const *sg_ids;
    size_t nsg;
    int hibernation_configured;
    int spot;
    const char *client_token;
    const char *launch_template_id;
    const char *fleet_id;
    const char *reservation_id;     /* shared by the instances of one call */
    const struct aws_ec2_tags *tags; /* instance tags, borrowed (copied) */
};

/* Creates a pending instance (IP taken from its subnet, pending -> running scheduled with
 * SIM_BOOT_LAUNCH, visible to describes after the consistency delay) and indexes it.
 * CORE_E_NOMEM, or CORE_E_STATE when the subnet has no free address. */
int sim_instance_launch(struct sim_aws *a, const struct sim_launch_spec *s,
                        struct sim_instance **out, struct core_err *err) CORE_NODISCARD;
/* Starts a transition now: sets state, schedules next_state after a draw from step (or none
 * when step is SIM_BOOT_COUNT), tells the observer, re-arms the timer. */
void sim_instance_transition(struct sim_aws *a, struct sim_instance *i, int state, int next_state,
                             enum sim_boot_step step);
/* Applies every transition and ageing due by now and re-arms the timer (also called at the
 * start of every request, so answers never lag the clock). */
void sim_instances_advance(struct sim_aws *a);
/* 1 when describes should show it now (the consistency fault). */
int sim_instance_visible(const struct sim_aws *a, const struct sim_instance *i);
/* The observer installed now (NULL, NULL when none): the simulated cluster chains to it. */
void sim_aws_observer_get(const struct sim_aws *a, sim_aws_observer_fn *fn, void **ud);
/* Frees every instance and cancels the timer (sim_aws_free). */
void sim_instances_cleanup(struct sim_aws *a);
/* Free every launch template and every remembered client token (ec2_mutate.c; sim_aws_free). */
void sim_lts_cleanup(struct sim_aws *a);
void sim_tokens_cleanup(struct sim_aws *a);

/* ------------------------------------------------------------------------------------------ */
/* SSM (ssm.c)                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Builds a->params from a->images (every alias path of eks-nodes.md for each image: recommended
 * / latest and pinned names). */
int sim_ssm_build(struct sim_aws *a, struct core_err *err) CORE_NODISCARD;
void sim_ssm_cleanup(struct sim_aws *a);
/* Answers one SSM JSON 1.1 operation ("GetParameter", "GetParameters",
 * "GetParametersByPath"); body is the raw request body. Writes status, Content-Type
 * application/x-amz-json-1.1, x-amzn-RequestId, and the JSON answer or error
 * ({"__type": "...", "message": "..."} plus X-Amzn-ErrorType). */
void sim_ssm_handle(struct sim_aws *a, const char *op, const char *body, size_t body_len,
                    const char *request_id, struct core_http_response *resp);
/* A JSON 1.1 error answer (used by aws.c for auth and throttling of SSM requests too). */
void sim_json_error(struct core_http_response *resp, long status, const char *type,
                    const char *message, const char *request_id);

/* ------------------------------------------------------------------------------------------ */
/* Streams (server.c, transport.c)                                                             */
/* ------------------------------------------------------------------------------------------ */

/* The front-end half of struct sim_stream. Each front end embeds one stream in every request
 * it hands to a handler and fills the ops; sim_stream_begin/write/end (transport.c) only queue
 * bytes and kick the front end, which delivers from the loop. So nothing a handler does to a
 * stream can re-enter the front end's callbacks, and on_close (sim_stream_close) is only ever
 * called by a front end from its own loop callbacks or its free. */
struct sim_stream_ops {
    /* Bytes were queued or the stream ended: arrange delivery from the loop. Never calls the
     * handler's on_close. */
    void (*kick)(struct sim_stream *s);
};
struct sim_stream {
    const struct sim_stream_ops *ops;
    void *fe;             /* the front end's request */
    int in_handler;       /* sim_stream_begin is allowed only while the handler runs */
    int begun;            /* the answer is a stream */
    int ended;            /* sim_stream_end: the handler has let go of the handle */
    int gone;             /* the other side went away: writes are dropped, on_close follows */
    int closed;           /* on_close has run */
    sim_stream_close_fn on_close;
    void *ud;
    struct core_buf q;    /* undelivered bytes are q.data[q_off .. q.len) */
    size_t q_off;
};
void sim_stream_init(struct sim_stream *s, const struct sim_stream_ops *ops, void *fe);
/* Frees the queue. Does not call on_close (sim_stream_close first). */
void sim_stream_cleanup(struct sim_stream *s);
size_t sim_stream_pending(const struct sim_stream *s);
/* Puts the handler's body in front of what it wrote during the call (the first piece). */
int sim_stream_prepend(struct sim_stream *s, const char *data, size_t len) CORE_NODISCARD;
/* Moves every undelivered byte into *piece (initialised here; data at piece->data, length
 * piece->len; the caller cleans it up), leaving the queue empty: a delivery callback may then
 * write to the stream without moving the bytes it is reading. */
void sim_stream_take(struct sim_stream *s, struct core_buf *piece);
/* Copies up to max undelivered bytes into buf and consumes them; returns how many. */
size_t sim_stream_read(struct sim_stream *s, char *buf, size_t max);
/* The other side is gone: runs on_close once when the stream was begun and neither ended nor
 * closed; marks it gone and closed either way. For front ends, from loop callbacks only. */
void sim_stream_close(struct sim_stream *s);

#endif /* STOKER_SIM_INTERNAL_H */
