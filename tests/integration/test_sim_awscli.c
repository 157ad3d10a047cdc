/*
 * tests/integration/test_sim_awscli.c — `stoker sim serve` as a child process, driven by the
 * real AWS CLI (Debian's /usr/bin/aws, awscli 2.x, installed by `make deps-test`): botocore's
 * own SigV4, wire formats and response parsing against the emulator over loopback HTTP.
 *
 * One instance goes through its whole life (run, running, stop, stopped, start, running,
 * terminate, terminated) with the boot model shortened to one second per step, and the SSM
 * alias for the AL2023 image is read back. Every CLI answer is parsed as JSON and checked for
 * content, not just for exit status. Every wait is bounded by a deadline; the server must exit
 * 0 on SIGTERM.
 *
 * /usr/bin/aws is used explicitly (a pyenv shim may come first on PATH); its absence fails the
 * test with the command that installs it.
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include "core/core.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AWS_CLI "/usr/bin/aws"
#define CLI_TIMEOUT_S 60
#define STATE_DEADLINE_S 45
#define IMG_PREFIX "amazon-eks-node-al2023-x86_64-standard-1.31-"
/* CU_ASSERT_STRING_EQUAL with a possibly NULL actual value (a broken answer must fail the
 * assertion, not crash the run). */
#define ASSERT_STR(actual, expected)                                                          \
    do {                                                                                      \
        const char *as_ = (actual);                                                           \
        CU_ASSERT(as_ != NULL && strcmp(as_, (expected)) == 0);                               \
    } while (0)
#define PATH_PREFIX "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"

/* The boot model shortened to one second per step. */
static const char *const serve_args[] = {"--seed", "7", "--boot", "launch=1s/0", "--boot",
                                         "start=1s/0", "--boot", "stop=1s/0", "--boot",
                                         "terminate=1s/0", NULL};

static int sim_start(struct tests_sim *s)
{
    if (tests_sim_start(s, "sim-awscli", serve_args) != 0)
        return -1;
    /* The CLI signs with the keys and region the server wrote out. */
    if (!tests_sim_env(s, "AWS_ACCESS_KEY_ID") || !tests_sim_env(s, "AWS_SECRET_ACCESS_KEY") ||
        !tests_sim_env(s, "AWS_DEFAULT_REGION"))
        return -1;
    return 0;
}

/* Runs `aws SERVICE ARGS... --endpoint-url ... --output json` and parses stdout as JSON.
 * Returns the exit status; *out is the document (NULL when not JSON). */
static int aws(const struct tests_sim *s, json_t **out, const char *const *args)
{
    char home[96], key[160], secret[160], region[96], errpath[128];
    char *envp[] = {"PATH=/usr/bin:/bin", home, key, secret, region, "AWS_PAGER=",
                    "AWS_EC2_METADATA_DISABLED=true", NULL};
    char *argv[40];
    size_t n = 0;
    struct core_buf b;
    int rc = -1;

    *out = NULL;
    snprintf(home, sizeof home, "HOME=%s", s->dir);
    snprintf(key, sizeof key, "AWS_ACCESS_KEY_ID=%s", tests_sim_env(s, "AWS_ACCESS_KEY_ID"));
    snprintf(secret, sizeof secret, "AWS_SECRET_ACCESS_KEY=%s",
             tests_sim_env(s, "AWS_SECRET_ACCESS_KEY"));
    snprintf(region, sizeof region, "AWS_DEFAULT_REGION=%s",
             tests_sim_env(s, "AWS_DEFAULT_REGION"));
    snprintf(errpath, sizeof errpath, "%s/aws.err", s->dir);
    argv[n++] = AWS_CLI;
    for (size_t i = 0; args[i] && n < 34; i++)
        argv[n++] = (char *)args[i];
    argv[n++] = "--endpoint-url";
    argv[n++] = (char *)s->endpoint;
    argv[n++] = "--output";
    argv[n++] = "json";
    argv[n] = NULL;
    core_buf_init(&b, 16u * 1024u * 1024u);
    if (tests_run(argv, envp, errpath, CLI_TIMEOUT_S, &b, &rc) != 0) {
        core_buf_cleanup(&b);
        return -1;
    }
    if (b.len > 0)
        *out = json_loadb(b.data, b.len, 0, NULL);
    if (rc != 0) {
        char *e = tests_read_file(errpath, NULL);
        fprintf(stderr, "\n  aws %s %s: exit %d: %s\n", args[0], args[1], rc, e ? e : "");
        core_free(e);
    }
    core_buf_cleanup(&b);
    return rc;
}

/* "Reservations.0.Instances.0.State.Name": objects by key, arrays by index. NULL when the
 * path leads nowhere or to something other than a string. */
static const char *jstr(json_t *doc, const char *path)
{
    json_t *cur = doc;
    while (cur && *path) {
        char tok[64];
        size_t n = strcspn(path, ".");
        if (n >= sizeof tok)
            return NULL;
        memcpy(tok, path, n);
        tok[n] = '\0';
        path += n + (path[n] == '.');
        if (json_is_array(cur)) {
            int64_t i;
            cur = core_parse_i64(tok, 0, 1000000, &i) == 0 ? json_array_get(cur, (size_t)i)
                                                           : NULL;
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    return json_string_value(cur);
}

/* Polls describe-instances until the instance is in `want`; 0 when it got there in time. */
static int wait_state(const struct tests_sim *s, const char *id, const char *want)
{
    double deadline = tests_now() + STATE_DEADLINE_S;
    const char *args[] = {"ec2", "describe-instances", "--instance-ids", id, NULL};
    char last[32] = "";

    while (tests_now() < deadline) {
        json_t *doc = NULL;
        const char *st;
        int rc = aws(s, &doc, args);
        st = rc == 0 ? jstr(doc, "Reservations.0.Instances.0.State.Name") : NULL;
        core_strlcpy(last, st ? st : "?", sizeof last);
        if (rc == 0)
            ASSERT_STR(jstr(doc, "Reservations.0.Instances.0.InstanceId"), id);
        json_decref(doc);
        if (strcmp(last, want) == 0)
            return 0;
        usleep(300000);
    }
    fprintf(stderr, "\n  %s never reached %s (last %s)\n", id, want, last);
    return -1;
}

static void test_awscli_against_sim(void)
{
    struct tests_sim s;
    json_t *doc = NULL;
    struct stat sb;
    char image[64] = "", id[64] = "", zone[32] = "", subnet[64] = "";
    json_t *subnets = NULL;
    const char *v;

    if (stat(AWS_CLI, &sb) != 0) {
        CU_FAIL("/usr/bin/aws is missing: install Debian's awscli with `make deps-test` "
                "(`make test` runs it)");
        return;
    }
    if (sim_start(&s) != 0) {
        CU_FAIL("stoker sim serve did not start");
        (void)tests_sim_stop(&s);
        return;
    }

    {
        const char *a[] = {"ec2", "describe-subnets", NULL};
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        CU_ASSERT(json_array_size(json_object_get(doc, "Subnets")) >= 3);
        v = jstr(doc, "Subnets.0.SubnetId");
        CU_ASSERT(v && strncmp(v, "subnet-", 7) == 0);
        subnets = json_incref(json_object_get(doc, "Subnets"));
        json_decref(doc);
    }
    {
        /* Not every zone offers every type: launch into a subnet of a zone that has it. */
        const char *a[] = {"ec2", "describe-instance-type-offerings", "--location-type",
                           "availability-zone", "--filters", "Name=instance-type,Values=t3.medium",
                           NULL};
        json_t *it;
        size_t i;
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        v = jstr(doc, "InstanceTypeOfferings.0.Location");
        core_strlcpy(zone, v ? v : "", sizeof zone);
        CU_ASSERT(zone[0] != '\0');
        json_array_foreach(subnets, i, it) {
            const char *z = jstr(it, "AvailabilityZone"), *sid = jstr(it, "SubnetId");
            if (!subnet[0] && z && sid && strcmp(zone, z) == 0)
                core_strlcpy(subnet, sid, sizeof subnet);
        }
        CU_ASSERT(subnet[0] != '\0');
        json_decref(doc);
        json_decref(subnets);
    }
    {
        const char *a[] = {"ec2", "describe-images", "--owners", "amazon", "--filters",
                           "Name=name,Values=" IMG_PREFIX "*",
                           NULL};
        json_t *imgs;
        size_t i;
        json_t *it;
        const char *newest = "";
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        imgs = json_object_get(doc, "Images");
        CU_ASSERT(json_array_size(imgs) >= 1);
        json_array_foreach(imgs, i, it) {
            const char *name = json_string_value(json_object_get(it, "Name"));
            const char *cd = json_string_value(json_object_get(it, "CreationDate"));
            CU_ASSERT(name && strncmp(name, IMG_PREFIX, sizeof IMG_PREFIX - 1) == 0);
            ASSERT_STR(json_string_value(json_object_get(it, "Architecture")),
                                   "x86_64");
            if (cd && strcmp(cd, newest) > 0) {
                newest = cd;
                core_strlcpy(image, json_string_value(json_object_get(it, "ImageId")),
                             sizeof image);
            }
        }
        CU_ASSERT(strncmp(image, "ami-", 4) == 0);
        json_decref(doc);
    }
    {
        const char *a[] = {"ec2", "describe-instance-types", "--instance-types", "m5.large",
                           NULL};
        json_t *t;
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        t = json_array_get(json_object_get(doc, "InstanceTypes"), 0);
        ASSERT_STR(json_string_value(json_object_get(t, "InstanceType")), "m5.large");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(t, "VCpuInfo"),
                                                           "DefaultVCpus")), 2);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(t, "MemoryInfo"),
                                                           "SizeInMiB")), 8192);
        json_decref(doc);
    }
    {
        const char *a[] = {"ec2", "run-instances", "--image-id", image, "--instance-type",
                           "t3.medium", "--count", "1", "--subnet-id", subnet, NULL};
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        v = jstr(doc, "Instances.0.InstanceId");
        core_strlcpy(id, v ? v : "", sizeof id);
        CU_ASSERT(strncmp(id, "i-", 2) == 0);
        v = jstr(doc, "Instances.0.State.Name");
        CU_ASSERT(v && strcmp(v, "pending") == 0);
        v = jstr(doc, "Instances.0.ImageId");
        CU_ASSERT(v && strcmp(v, image) == 0);
        v = jstr(doc, "Instances.0.InstanceType");
        CU_ASSERT(v && strcmp(v, "t3.medium") == 0);
        v = jstr(doc, "Instances.0.Placement.AvailabilityZone");
        CU_ASSERT(v && strcmp(v, zone) == 0);
        json_decref(doc);
    }
    if (id[0] == 'i') {
        CU_ASSERT_EQUAL(wait_state(&s, id, "running"), 0);
        {
            const char *a[] = {"ec2", "stop-instances", "--instance-ids", id, NULL};
            CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
            ASSERT_STR(jstr(doc, "StoppingInstances.0.InstanceId"), id);
            v = jstr(doc, "StoppingInstances.0.CurrentState.Name");
            CU_ASSERT(v && strcmp(v, "stopping") == 0);
            v = jstr(doc, "StoppingInstances.0.PreviousState.Name");
            CU_ASSERT(v && strcmp(v, "running") == 0);
            json_decref(doc);
        }
        CU_ASSERT_EQUAL(wait_state(&s, id, "stopped"), 0);
        {
            const char *a[] = {"ec2", "start-instances", "--instance-ids", id, NULL};
            CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
            ASSERT_STR(jstr(doc, "StartingInstances.0.InstanceId"), id);
            v = jstr(doc, "StartingInstances.0.CurrentState.Name");
            CU_ASSERT(v && strcmp(v, "pending") == 0);
            json_decref(doc);
        }
        CU_ASSERT_EQUAL(wait_state(&s, id, "running"), 0);
        {
            const char *a[] = {"ec2", "terminate-instances", "--instance-ids", id, NULL};
            CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
            ASSERT_STR(jstr(doc, "TerminatingInstances.0.InstanceId"), id);
            v = jstr(doc, "TerminatingInstances.0.CurrentState.Name");
            CU_ASSERT(v && strcmp(v, "shutting-down") == 0);
            json_decref(doc);
        }
        CU_ASSERT_EQUAL(wait_state(&s, id, "terminated"), 0);
    }
    {
        const char *a[] = {"ssm", "get-parameter", "--name",
                           "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/"
                           "standard/recommended/image_id", NULL};
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        v = jstr(doc, "Parameter.Value");
        CU_ASSERT(v && strcmp(v, image) == 0); /* the newest image is the recommended one */
        v = jstr(doc, "Parameter.DataType");
        CU_ASSERT(v && strcmp(v, "aws:ec2:image") == 0);
        v = jstr(doc, "Parameter.ARN");
        CU_ASSERT(v && strncmp(v, "arn:aws:ssm:", 12) == 0);
        json_decref(doc);
    }
    {
        /* The CLI follows NextToken itself: 10 per page on the wire, one list here. */
        const char *a[] = {"ssm", "get-parameters-by-path", "--path",
                           PATH_PREFIX, "--recursive", NULL};
        json_t *ps, *it;
        size_t i;
        int found = 0;
        CU_ASSERT_EQUAL(aws(&s, &doc, a), 0);
        ps = json_object_get(doc, "Parameters");
        CU_ASSERT(json_array_size(ps) > 10);
        json_array_foreach(ps, i, it) {
            const char *name = json_string_value(json_object_get(it, "Name"));
            CU_ASSERT(name && strncmp(name, PATH_PREFIX, sizeof PATH_PREFIX - 1) == 0);
            if (name && strcmp(name, "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/"
                                     "x86_64/standard/recommended/image_id") == 0)
                found = 1;
        }
        CU_ASSERT(found);
        json_decref(doc);
    }
    CU_ASSERT_EQUAL(tests_sim_stop(&s), 0);
}

TESTS_SUITE(sim_awscli, "sim_awscli", NULL, NULL, TESTS_CASE(test_awscli_against_sim))
