/*
 * tests/unit/test_aws_creds.c — the credentials chain (aws/creds.c) on a virtual clock, a fake
 * environment table, temporary files and the scripted transport.
 *
 * Every test builds its own fixture (struct fx) and releases it, so ASan/LSan sees every
 * allocation freed. The environment is always the table, and opts.home always points at the
 * test's temporary directory, so nothing of the machine's own environment or ~/.aws leaks in.
 * Every error message a failing path produces is checked against every secret the tests use.
 */
#include "tests/unit/harness.h"

#include "aws/aws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S CORE_NS_PER_S
#define MIN (60 * CORE_NS_PER_S)
#define T0 (INT64_C(1795352400) * CORE_NS_PER_S) /* 2026-11-22T13:00:00Z */
#define T0_PLUS_1H "2026-11-22T14:00:00Z"
#define T0_PLUS_2H "2026-11-22T15:00:00Z"
#define T0_PLUS_6H "2026-11-22T19:00:00Z"
#define T0_PLUS_12H "2026-11-23T01:00:00Z"

/* Secrets: none of them may ever appear in an error message. */
#define ENV_SECRET "envSECRETwJalrXUtnFEMIK7MDENG"
#define ENV_TOKEN "envSESSIONtokenFQoGZXIvYXdz"
#define WI_TOKEN "eyJhbGciOiJSUzI1NiJ9.webIDENTITYtoken1.sig"
#define WI_TOKEN2 "eyJhbGciOiJSUzI1NiJ9.webIDENTITYtoken2.sig"
#define STS_SECRET "stsSECRETkeyEXAMPLE/K7MDENG+bPxRfiCY"
#define STS_TOKEN "stsSESSIONtokenIQoJb3JpZ2luX2VjEXAMPLE"
#define AUTH_TOKEN "podIDENTITYauthTOKEN-one"
#define AUTH_TOKEN2 "podIDENTITYauthTOKEN-two"
#define C_SECRET "containerSECRETkey/abc+def"
#define C_TOKEN "containerSESSIONtokenAbCd"
#define IMDS_TOKEN "AQAEAimdsTOKENvalue1=="
#define IMDS_TOKEN2 "AQAEAimdsTOKENvalue2=="
#define I_SECRET "imdsSECRETkeyXyZ"
#define I_TOKEN "imdsSESSIONtokenXyZ"
#define F_SECRET "fileSECRETkeyDev"
#define F_SECRET_DEF "fileSECRETkeyDefault"
#define F_SECRET_CFG "fileSECRETkeyConfig"
#define F_TOKEN "fileSESSIONtokenDev"

static const char *const all_secrets[] = {
    ENV_SECRET, ENV_TOKEN, WI_TOKEN, WI_TOKEN2, STS_SECRET, STS_TOKEN, AUTH_TOKEN, AUTH_TOKEN2,
    C_SECRET, C_TOKEN, IMDS_TOKEN, IMDS_TOKEN2, I_SECRET, I_TOKEN, F_SECRET, F_SECRET_DEF,
    F_SECRET_CFG, F_TOKEN};

static void assert_no_secret(const char *msg)
{
    for (size_t i = 0; i < sizeof all_secrets / sizeof all_secrets[0]; i++) {
        if (strstr(msg, all_secrets[i])) {
            fprintf(stderr, "\nsecret %s in message: %s\n", all_secrets[i], msg);
            CU_FAIL("an error message holds a secret");
        }
    }
}

#define IMDS "http://169.254.169.254"
#define IMDS_TOKEN_URL IMDS "/latest/api/token"
#define IMDS_ROLES_URL IMDS "/latest/meta-data/iam/security-credentials/"
#define IMDS_ROLE "stoker-node-role"
#define STS_URL "https://sts.us-east-1.amazonaws.com"
#define POD_URL "http://169.254.170.23/v1/credentials"
#define ROLE_ARN "arn:aws:iam::111122223333:role/stoker-controller"

/* ---- fixture ------------------------------------------------------------------------------- */

#define FX_KV_MAX 24
#define FX_PATHS_MAX 12

struct fx {
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_script *s;
    struct core_http_transport *t;
    struct aws_config cfg;
    const char *names[FX_KV_MAX];
    const char *values[FX_KV_MAX];
    size_t nkv;
    struct aws_env env;
    struct aws_creds_opts opts;
    struct aws_creds_provider *p;
    char dir[64];
    char files[FX_PATHS_MAX][160]; /* created, removed at cleanup (in reverse) */
    int isdir[FX_PATHS_MAX];
    size_t nfiles;
};

static const char *fx_lookup(void *ud, const char *name)
{
    const struct fx *f = ud;
    for (size_t i = 0; i < f->nkv; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

/* Sets (or, with value NULL, unsets) a variable of the fake environment. Strings borrowed. */
static void fx_env(struct fx *f, const char *name, const char *value)
{
    for (size_t i = 0; i < f->nkv; i++) {
        if (strcmp(f->names[i], name) == 0) {
            f->values[i] = value;
            return;
        }
    }
    CU_ASSERT_FATAL(f->nkv < FX_KV_MAX);
    f->names[f->nkv] = name;
    f->values[f->nkv++] = value;
}

static void fx_init(struct fx *f)
{
    struct core_err err;

    memset(f, 0, sizeof *f);
    f->clock = core_clock_virtual_new(0, T0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f->clock, NULL, &f->loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_script_new(f->loop, &f->s, &err), 0);
    f->t = core_http_script_transport(f->s);
    core_strlcpy(f->cfg.region, "us-east-1", sizeof f->cfg.region);
    core_strlcpy(f->cfg.endpoint[AWS_SVC_EC2], "https://ec2.us-east-1.amazonaws.com",
                 sizeof f->cfg.endpoint[0]);
    core_strlcpy(f->cfg.endpoint[AWS_SVC_SSM], "https://ssm.us-east-1.amazonaws.com",
                 sizeof f->cfg.endpoint[0]);
    core_strlcpy(f->cfg.endpoint[AWS_SVC_STS], STS_URL, sizeof f->cfg.endpoint[0]);
    core_strlcpy(f->cfg.imds_endpoint, IMDS, sizeof f->cfg.imds_endpoint);
    f->env.get = fx_lookup;
    f->env.ud = f;
    core_strlcpy(f->dir, "/tmp/stoker-creds-XXXXXX", sizeof f->dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(f->dir));
    f->opts.home = f->dir;
}

static void fx_cleanup(struct fx *f)
{
    aws_creds_provider_free(f->p);
    f->p = NULL;
    core_http_script_free(f->s);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
    while (f->nfiles > 0) {
        f->nfiles--;
        if (f->isdir[f->nfiles])
            rmdir(f->files[f->nfiles]);
        else
            unlink(f->files[f->nfiles]);
    }
    rmdir(f->dir);
}

/* Writes dir/rel (creating dir/.aws when rel starts with ".aws/"); returns the path, which
 * lives as long as the fixture. Writing the same rel again replaces the content. */
static const char *fx_file(struct fx *f, const char *rel, const char *content, size_t len)
{
    char path[160];
    FILE *fp;

    if (strncmp(rel, ".aws/", 5) == 0) {
        snprintf(path, sizeof path, "%s/.aws", f->dir);
        if (mkdir(path, 0700) == 0) {
            CU_ASSERT_FATAL(f->nfiles < FX_PATHS_MAX);
            core_strlcpy(f->files[f->nfiles], path, sizeof f->files[0]);
            f->isdir[f->nfiles++] = 1;
        }
    }
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    for (size_t i = 0; i < f->nfiles; i++)
        if (strcmp(f->files[i], path) == 0)
            goto write;
    CU_ASSERT_FATAL(f->nfiles < FX_PATHS_MAX);
    core_strlcpy(f->files[f->nfiles], path, sizeof f->files[0]);
    f->isdir[f->nfiles++] = 0;
write:
    fp = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    if (len == 0)
        len = strlen(content);
    CU_ASSERT_EQUAL(fwrite(content, 1, len, fp), len);
    fclose(fp);
    for (size_t i = 0; i < f->nfiles; i++)
        if (strcmp(f->files[i], path) == 0)
            return f->files[i];
    return NULL;
}

static void fx_chain(struct fx *f)
{
    struct core_err err;
    aws_creds_provider_free(f->p);
    f->p = NULL;
    CU_ASSERT_EQUAL_FATAL(aws_creds_chain_new(f->loop, f->t, &f->env, &f->cfg, &f->opts, &f->p,
                                              &err), 0);
}

static void expect(struct fx *f, const char *method, const char *url, long status,
                   const char *body)
{
    struct core_http_script_step st;
    memset(&st, 0, sizeof st);
    st.method = method;
    st.url = url;
    st.status = status;
    st.body = body;
    st.delay = 10 * CORE_NS_PER_MS;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f->s, &st), 0);
}

static const struct core_http_script_request *req(const struct fx *f, size_t i)
{
    const struct core_http_script_request *r = core_http_script_request(f->s, i);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    return r;
}

static const char *req_header(const struct fx *f, size_t i, const char *name)
{
    const char *v = core_http_script_request_header(req(f, i), name);
    return v ? v : "(none)";
}

/* ---- answers ------------------------------------------------------------------------------- */

struct ans {
    int done;
    int n;
    int rc;
    int consistent; /* creds xor err, as documented */
    char akid[64];
    char secret[64];
    char token[64];
    int has_token;
    core_ns exp;
    core_ns at;
    struct core_loop *loop;
    char msg[CORE_ERR_MSG_MAX];
    struct aws_creds_provider **free_on_answer; /* frees *it from the callback */
    struct aws_creds_provider *cancel_p;        /* withdraws cancel_other from the callback */
    struct ans *cancel_other;
};

static void on_ans(void *ud, int rc, const struct aws_credentials *c, const struct core_err *err)
{
    struct ans *a = ud;
    a->done = 1;
    a->n++;
    a->rc = rc;
    a->consistent = rc == 0 ? (c != NULL && err == NULL) : (c == NULL && err != NULL);
    if (a->loop)
        a->at = core_loop_now(a->loop);
    if (rc == 0 && c) {
        core_strlcpy(a->akid, c->access_key_id ? c->access_key_id : "", sizeof a->akid);
        core_strlcpy(a->secret, c->secret_access_key ? c->secret_access_key : "",
                     sizeof a->secret);
        core_strlcpy(a->token, c->session_token ? c->session_token : "", sizeof a->token);
        a->has_token = c->session_token != NULL;
        a->exp = c->expiration;
    } else if (err) {
        core_strlcpy(a->msg, err->message, sizeof a->msg);
        assert_no_secret(err->message);
    }
    if (a->cancel_other)
        aws_creds_cancel(a->cancel_p, on_ans, a->cancel_other);
    if (a->free_on_answer) {
        aws_creds_provider_free(*a->free_on_answer);
        *a->free_on_answer = NULL;
    }
}

static void ans_init(struct ans *a, const struct fx *f)
{
    memset(a, 0, sizeof *a);
    a->loop = f->loop;
}

/* Asks once and runs the loop until the answer; asserts it did not come synchronously. */
static void get_wait(struct fx *f, struct ans *a)
{
    struct core_err err;
    ans_init(a, f);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f->p, on_ans, a, &err), 0);
    CU_ASSERT_EQUAL(a->done, 0);
    CU_ASSERT_EQUAL(core_loop_run_until(f->loop, &a->done, core_loop_now(f->loop) + 3600 * S,
                                        &err), 0);
    CU_ASSERT_EQUAL(a->n, 1);
    CU_ASSERT(a->consistent);
}

static void container_json(char *buf, size_t n, const char *akid, const char *exp)
{
    snprintf(buf, n,
             "{\"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"" C_SECRET "\", "
             "\"Token\": \"" C_TOKEN "\", \"Expiration\": \"%s\", \"AccountId\": \"1\"}",
             akid, exp);
}

static void imds_json(char *buf, size_t n, const char *akid, const char *exp)
{
    snprintf(buf, n,
             "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-11-22T12:55:00Z\",\n"
             "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"%s\",\n"
             "  \"SecretAccessKey\" : \"" I_SECRET "\",\n  \"Token\" : \"" I_TOKEN "\",\n"
             "  \"Expiration\" : \"%s\"\n}",
             akid, exp);
}

static char *sts_fixture(void)
{
    char *xml = tests_read_file(tests_data_path("sts/assume_role_with_web_identity.xml"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    return xml;
}

/* ---- plain functions ----------------------------------------------------------------------- */

static void test_source_names(void)
{
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name(AWS_CREDS_NONE), "none");
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name(AWS_CREDS_STATIC), "static");
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name(AWS_CREDS_ENV), "environment");
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name(AWS_CREDS_WEB_IDENTITY), "web-identity");
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name(AWS_CREDS_CONTAINER), "container");
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name(AWS_CREDS_SHARED_FILE), "shared-file");
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name(AWS_CREDS_IMDS), "imds");
    CU_ASSERT_STRING_EQUAL(aws_creds_source_name((enum aws_creds_source)99), "none");
    CU_ASSERT_EQUAL(aws_creds_source(NULL), AWS_CREDS_NONE);
    CU_ASSERT_EQUAL(aws_creds_fetches(NULL), 0);
    aws_creds_provider_free(NULL);
    aws_creds_cancel(NULL, on_ans, NULL);
}

static void test_copy_and_cleanup(void)
{
    struct aws_credentials src, dst, zero;
    char akid[] = "AKIACOPY", secret[] = ENV_SECRET, token[] = ENV_TOKEN;

    memset(&zero, 0, sizeof zero);
    src.access_key_id = akid;
    src.secret_access_key = secret;
    src.session_token = token;
    src.expiration = T0;
    memset(&dst, 0, sizeof dst);
    CU_ASSERT_EQUAL(aws_credentials_copy(&dst, &src), 0);
    CU_ASSERT_STRING_EQUAL(dst.access_key_id, "AKIACOPY");
    CU_ASSERT_STRING_EQUAL(dst.secret_access_key, ENV_SECRET);
    CU_ASSERT_STRING_EQUAL(dst.session_token, ENV_TOKEN);
    CU_ASSERT_PTR_NOT_EQUAL(dst.secret_access_key, secret); /* duplicated, not aliased */
    CU_ASSERT_EQUAL(dst.expiration, T0);
    aws_credentials_cleanup(&dst);
    CU_ASSERT_EQUAL(memcmp(&dst, &zero, sizeof dst), 0);
    aws_credentials_cleanup(&dst); /* zeroed struct */
    aws_credentials_cleanup(NULL);
    /* Long-term keys: no token stays NULL. */
    src.session_token = NULL;
    CU_ASSERT_EQUAL(aws_credentials_copy(&dst, &src), 0);
    CU_ASSERT_PTR_NULL(dst.session_token);
    aws_credentials_cleanup(&dst);
    CU_ASSERT_EQUAL(aws_credentials_copy(&dst, NULL), CORE_E_INVAL);
    CU_ASSERT_EQUAL(aws_credentials_copy(NULL, &src), CORE_E_INVAL);
    /* Out-parameter untouched on failure. */
    core_alloc_fail_after(2);
    memset(&dst, 0x5a, sizeof dst);
    CU_ASSERT_EQUAL(aws_credentials_copy(&dst, &src), CORE_E_NOMEM);
    core_alloc_fail_after(0);
    CU_ASSERT_EQUAL(((unsigned char *)&dst)[0], 0x5a);
}

/* ---- static and environment ---------------------------------------------------------------- */

static void test_static_provider(void)
{
    struct fx f;
    struct ans a;
    struct aws_credentials c;
    struct core_err err;
    char akid[] = "AKIASTATIC", secret[] = ENV_SECRET;

    fx_init(&f);
    memset(&c, 0, sizeof c);
    c.access_key_id = akid;
    c.secret_access_key = secret;
    CU_ASSERT_EQUAL_FATAL(aws_creds_static_new(f.loop, &c, &f.p, &err), 0);
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_STATIC);
    akid[0] = 'X'; /* copied at creation */
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIASTATIC");
    CU_ASSERT_FALSE(a.has_token);
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 100 * 3600 * S), 0);
    get_wait(&f, &a);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIASTATIC");
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 0);
    aws_creds_provider_free(f.p);
    f.p = NULL;
    /* Keys are required. */
    c.secret_access_key = NULL;
    CU_ASSERT_EQUAL(aws_creds_static_new(f.loop, &c, &f.p, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(f.p);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
    fx_cleanup(&f);
}

static void test_env_with_session_token(void)
{
    struct fx f;
    struct ans a;

    fx_init(&f);
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", ENV_SECRET);
    fx_env(&f, "AWS_SESSION_TOKEN", ENV_TOKEN);
    fx_chain(&f);
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_NONE); /* nothing chosen before a get */
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 0);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAENVEXAMPLE");
    CU_ASSERT_STRING_EQUAL(a.secret, ENV_SECRET);
    CU_ASSERT_STRING_EQUAL(a.token, ENV_TOKEN);
    CU_ASSERT_EQUAL(a.exp, 0);
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_ENV);
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 1);
    /* Static: never read again, however much time passes or the environment changes. */
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIACHANGED");
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 48 * 3600 * S), 0);
    get_wait(&f, &a);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAENVEXAMPLE");
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 1);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
    /* Without a token: none is made up. */
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
    fx_env(&f, "AWS_SESSION_TOKEN", NULL);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_FALSE(a.has_token);
    fx_cleanup(&f);
}

static void test_env_one_key_missing(void)
{
    struct fx f;
    struct ans a;

    fx_init(&f);
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
    /* Everything later in the chain is configured too: no fall-through. */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "environment"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_SECRET_ACCESS_KEY is not"));
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_ENV);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
    /* The other way round: the message names the missing id, never the secret. */
    fx_env(&f, "AWS_ACCESS_KEY_ID", NULL);
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", ENV_SECRET);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_ACCESS_KEY_ID is not"));
    CU_ASSERT_PTR_NULL(strstr(a.msg, ENV_SECRET));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
    fx_cleanup(&f);
}

/* ---- the order of the chain ---------------------------------------------------------------- */

static void test_chain_order(void)
{
    struct fx f;
    struct ans a;
    char body[512];
    char *xml = sts_fixture();
    const char *tokfile;

    fx_init(&f);
    /* All five sources configured. */
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", ENV_SECRET);
    tokfile = fx_file(&f, "wi-token", WI_TOKEN, 0);
    fx_env(&f, "AWS_ROLE_ARN", ROLE_ARN);
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", tokfile);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN);
    fx_file(&f, ".aws/credentials",
            "[default]\naws_access_key_id = AKIAFILEDEFAULT\naws_secret_access_key = "
            F_SECRET_DEF "\n", 0);

    /* 1. environment */
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAENVEXAMPLE");
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_ENV);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);

    /* 2. web identity */
    fx_env(&f, "AWS_ACCESS_KEY_ID", NULL);
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", NULL);
    expect(&f, "POST", STS_URL "*", 200, xml);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIASTSWEBIDENTITY01");
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_WEB_IDENTITY);
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.s), 1);
    CU_ASSERT_EQUAL(strncmp(req(&f, 0)->url, STS_URL, strlen(STS_URL)), 0);

    /* 3. container */
    fx_env(&f, "AWS_ROLE_ARN", NULL);
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
    container_json(body, sizeof body, "ASIACONTAINER1", T0_PLUS_1H);
    expect(&f, "GET", POD_URL, 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIACONTAINER1");
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_CONTAINER);
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.s), 2);
    CU_ASSERT_STRING_EQUAL(req(&f, 1)->url, POD_URL);

    /* 4. shared file */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAFILEDEFAULT");
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_SHARED_FILE);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 2);

    /* 5. IMDS */
    fx_file(&f, ".aws/credentials", "# nothing here\n", 0);
    imds_json(body, sizeof body, "ASIAIMDS1", T0_PLUS_6H);
    expect(&f, "PUT", IMDS_TOKEN_URL, 200, IMDS_TOKEN);
    expect(&f, "GET", IMDS_ROLES_URL, 200, IMDS_ROLE "\n");
    expect(&f, "GET", IMDS_ROLES_URL IMDS_ROLE, 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAIMDS1");
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_IMDS);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 5);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 0);
    CU_ASSERT_EQUAL(core_http_script_pending(f.s), 0);
    fx_cleanup(&f);
    core_free(xml);
}

static void test_nothing_configured(void)
{
    struct fx f;
    struct ans a;

    fx_init(&f);
    f.cfg.imds_disabled = 1;
    /* A config file with only a region does not configure credentials. */
    fx_file(&f, ".aws/config", "[default]\nregion = eu-west-1\noutput = json\n", 0);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_ACCESS_KEY_ID"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_ROLE_ARN"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_WEB_IDENTITY_TOKEN_FILE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "profile \"default\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "/.aws/credentials"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "IMDS is disabled"));
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_NONE);
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
    /* The next get looks again (nothing was chosen). */
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIALATER");
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", ENV_SECRET);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIALATER");
    fx_cleanup(&f);
}

/* ---- web identity -------------------------------------------------------------------------- */

static void check_sts_form(const struct fx *f, size_t i, const char *session, const char *token)
{
    const struct core_http_script_request *r = req(f, i);
    struct aws_query q;
    struct core_err err;

    CU_ASSERT_STRING_EQUAL(r->method, "POST");
    CU_ASSERT_EQUAL(strncmp(r->url, STS_URL, strlen(STS_URL)), 0);
    /* Unsigned: no signature, no date, no token header. */
    CU_ASSERT_PTR_NULL(core_http_script_request_header(r, "Authorization"));
    CU_ASSERT_PTR_NULL(core_http_script_request_header(r, "X-Amz-Security-Token"));
    CU_ASSERT_PTR_NULL(core_http_script_request_header(r, "X-Amz-Date"));
    aws_query_init(&q);
    CU_ASSERT_EQUAL_FATAL(aws_query_parse(&q, r->body, r->body_len, &err), 0);
    CU_ASSERT_STRING_EQUAL(aws_query_get(&q, "Action"), "AssumeRoleWithWebIdentity");
    CU_ASSERT_STRING_EQUAL(aws_query_get(&q, "Version"), "2011-06-15");
    CU_ASSERT_STRING_EQUAL(aws_query_get(&q, "RoleArn"), ROLE_ARN);
    CU_ASSERT_STRING_EQUAL(aws_query_get(&q, "RoleSessionName"), session);
    CU_ASSERT_STRING_EQUAL(aws_query_get(&q, "WebIdentityToken"), token);
    aws_query_cleanup(&q);
}

static void test_web_identity(void)
{
    struct fx f;
    struct ans a;
    char *xml = sts_fixture();
    const char *tokfile;

    fx_init(&f);
    /* A trailing newline (as `echo` leaves) is not part of the token. */
    tokfile = fx_file(&f, "token", WI_TOKEN "\n", 0);
    fx_env(&f, "AWS_ROLE_ARN", ROLE_ARN);
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", tokfile);
    fx_env(&f, "AWS_ROLE_SESSION_NAME", "from-env");
    expect(&f, "POST", STS_URL "*", 200, xml);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIASTSWEBIDENTITY01");
    CU_ASSERT_STRING_EQUAL(a.secret, STS_SECRET);
    CU_ASSERT_STRING_EQUAL(a.token, STS_TOKEN);
    CU_ASSERT_EQUAL(a.exp, T0 + 3600 * S);
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_WEB_IDENTITY);
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 1);
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.s), 1);
    check_sts_form(&f, 0, "from-env", WI_TOKEN);

    /* Still fresh at T+54 min: no request. */
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 54 * MIN), 0);
    get_wait(&f, &a);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIASTSWEBIDENTITY01");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 1);

    /* The kubelet rotated the token; at T+56 min the refresh sends the new one. */
    fx_file(&f, "token", WI_TOKEN2, 0);
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 2 * MIN), 0);
    expect(&f, "POST", STS_URL "*", 200, xml);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.s), 2);
    check_sts_form(&f, 1, "from-env", WI_TOKEN2);
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 2);

    /* opts.role_session_name beats AWS_ROLE_SESSION_NAME; "stoker" when neither is given. */
    f.opts.role_session_name = "from-opts";
    expect(&f, "POST", STS_URL "*", 200, xml);
    fx_chain(&f);
    get_wait(&f, &a);
    check_sts_form(&f, 2, "from-opts", WI_TOKEN2);
    f.opts.role_session_name = NULL;
    fx_env(&f, "AWS_ROLE_SESSION_NAME", NULL);
    expect(&f, "POST", STS_URL "*", 200, xml);
    fx_chain(&f);
    get_wait(&f, &a);
    check_sts_form(&f, 3, "stoker", WI_TOKEN2);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 0);
    fx_cleanup(&f);
    core_free(xml);
}

static void test_web_identity_errors(void)
{
    struct fx f;
    struct ans a;
    char big[16 * 1024 + 1]; /* one byte over the token file limit */
    const char *tokfile;

    fx_init(&f);
    memset(big, 'A', sizeof big);
    tokfile = fx_file(&f, "token", "", 0);
    fx_env(&f, "AWS_ROLE_ARN", ROLE_ARN);
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", tokfile);
    /* Empty file. */
    fx_file(&f, "token", "\n", 0);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "web-identity"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, tokfile));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "empty"));
    /* Over the 16 KiB limit: named, content not quoted. */
    fx_file(&f, "token", big, sizeof big);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_TOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, tokfile));
    CU_ASSERT_PTR_NULL(strstr(a.msg, "AAAAAAAA"));
    /* Missing file. */
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/stoker/token");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "/nonexistent/stoker/token"));
    /* Half configured. */
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_WEB_IDENTITY_TOKEN_FILE is not"));
    /* STS refuses the token: the error names the source and the role, never the token. */
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", tokfile);
    fx_file(&f, "token", WI_TOKEN, 0);
    expect(&f, "POST", STS_URL "*", 400,
           "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
           "<Message>Incorrect token audience</Message></Error><RequestId>r-1</RequestId>"
           "</ErrorResponse>");
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_NOT_EQUAL(a.rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "web-identity"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, ROLE_ARN));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "InvalidIdentityToken"));
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 1);
    CU_ASSERT_EQUAL(core_http_script_request_header(req(&f, 0), "Authorization"), NULL);
    fx_cleanup(&f);
}

/* ---- refresh ------------------------------------------------------------------------------- */

static void test_refresh_window_single_flight(void)
{
    struct fx f;
    struct ans a, w[3];
    struct core_err err;
    char body[512];
    int all;

    fx_init(&f);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
    container_json(body, sizeof body, "ASIAFIRST", T0_PLUS_1H);
    expect(&f, "GET", POD_URL, 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAFIRST");
    CU_ASSERT_EQUAL(a.exp, T0 + 3600 * S);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 1);

    /* T+54 min: 6 min from expiry, more than the 5 min refresh_before: cache. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 54 * MIN), 0);
    CU_ASSERT_EQUAL(core_clock_wall(f.clock), T0 + 54 * MIN);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAFIRST");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 1);
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 1);

    /* T+56 min: inside the window; three gets outstanding make exactly one request. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 56 * MIN), 0);
    container_json(body, sizeof body, "ASIASECOND", T0_PLUS_2H);
    expect(&f, "GET", POD_URL, 200, body);
    for (int i = 0; i < 3; i++) {
        ans_init(&w[i], &f);
        CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &w[i], &err), 0);
    }
    /* Let the fetch start, then ask once more while it is in flight. */
    CU_ASSERT(core_loop_run_once(f.loop, 0, &err) >= 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 2);
    ans_init(&a, &f);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &a, &err), 0);
    all = 0;
    while (!all) {
        int rc = core_loop_run_once(f.loop, -1, &err);
        all = w[0].done && w[1].done && w[2].done && a.done;
        if (rc <= 0)
            break;
    }
    CU_ASSERT(all);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(w[i].n, 1);
        CU_ASSERT_EQUAL(w[i].rc, 0);
        CU_ASSERT_STRING_EQUAL(w[i].akid, "ASIASECOND");
    }
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIASECOND");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 2);
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 2);
    fx_cleanup(&f);
}

static void test_refresh_failure_keeps_valid_cache(void)
{
    struct fx f;
    struct ans a;
    char body[512];

    fx_init(&f);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
    container_json(body, sizeof body, "ASIAFIRST", T0_PLUS_1H);
    expect(&f, "GET", POD_URL, 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAFIRST");
    /* The refresh at T+56 min fails: the still-valid credentials are answered. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 56 * MIN), 0);
    expect(&f, "GET", POD_URL, 500, "{\"code\":\"InternalError\"}");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAFIRST");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 2);
    /* The next get tries again, and succeeds. */
    container_json(body, sizeof body, "ASIASECOND", T0_PLUS_2H);
    expect(&f, "GET", POD_URL, 200, body);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIASECOND");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 3);
    /* Once the cached credentials have expired, a failed refresh is an error. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 121 * MIN), 0);
    expect(&f, "GET", POD_URL, 503, "");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_HTTP);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "container"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "503"));
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 4);
    fx_cleanup(&f);
}

/* ---- container ----------------------------------------------------------------------------- */

static void test_container(void)
{
    struct fx f;
    struct ans a;
    char body[512];
    const char *tokfile;

    fx_init(&f);
    tokfile = fx_file(&f, "pod-token", AUTH_TOKEN "\n", 0);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile);
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-the-file-is-set");
    container_json(body, sizeof body, "ASIAPODIDENTITY", T0_PLUS_1H);
    expect(&f, "GET", POD_URL, 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAPODIDENTITY");
    CU_ASSERT_STRING_EQUAL(a.secret, C_SECRET);
    CU_ASSERT_STRING_EQUAL(a.token, C_TOKEN);
    CU_ASSERT_EQUAL(a.exp, T0 + 3600 * S);
    CU_ASSERT_STRING_EQUAL(req(&f, 0)->method, "GET");
    CU_ASSERT_STRING_EQUAL(req(&f, 0)->url, POD_URL);
    CU_ASSERT_STRING_EQUAL(req_header(&f, 0, "Authorization"), AUTH_TOKEN);
    /* The token file is read again on the refresh. */
    fx_file(&f, "pod-token", AUTH_TOKEN2, 0);
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 57 * MIN), 0);
    expect(&f, "GET", POD_URL, 200, body);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(req_header(&f, 1, "Authorization"), AUTH_TOKEN2);

    /* Token from the variable when there is no file; RELATIVE_URI goes to the ECS host. */
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", NULL);
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc-123");
    expect(&f, "GET", "http://169.254.170.2/v2/credentials/abc-123", 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(req_header(&f, 2, "Authorization"), AUTH_TOKEN);
    /* No token at all: no Authorization header. https may point anywhere. */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", NULL);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/role");
    expect(&f, "GET", "https://creds.example.com/role", 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_PTR_NULL(core_http_script_request_header(req(&f, 3), "Authorization"));
    /* Loopback over http is allowed. */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:51679/creds");
    expect(&f, "GET", "http://127.0.0.1:51679/creds", 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 0);
    CU_ASSERT_EQUAL(core_http_script_pending(f.s), 0);
    fx_cleanup(&f);
}

static void container_error(struct fx *f, long status, const char *body, int want_rc,
                            const char *want1, const char *want2)
{
    struct ans a;
    expect(f, "GET", POD_URL, status, body);
    fx_chain(f);
    get_wait(f, &a);
    CU_ASSERT_EQUAL(a.rc, want_rc);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "container"));
    if (want1 && !strstr(a.msg, want1)) {
        fprintf(stderr, "\nmissing \"%s\" in: %s\n", want1, a.msg);
        CU_FAIL("message lacks the expected detail");
    }
    if (want2)
        CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, want2));
    CU_ASSERT_PTR_NULL(strstr(a.msg, "{")); /* the body is never quoted */
}

static void test_container_errors(void)
{
    struct fx f;
    struct ans a;

    fx_init(&f);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN);
    /* A 500 whose body echoes secrets: status and length only. */
    container_error(&f, 500, "{\"message\": \"" C_SECRET " " AUTH_TOKEN "\"}", CORE_E_HTTP,
                    "HTTP 500", "byte");
    container_error(&f, 403, "denied", CORE_E_AUTH, "HTTP 403", NULL);
    /* Malformed JSON holding a secret. */
    container_error(&f, 200, "{\"AccessKeyId\": \"AKIA\", \"SecretAccessKey\": \"" C_SECRET "\"",
                    CORE_E_PARSE, "not JSON", "bytes");
    /* A missing field is named. */
    container_error(&f, 200, "{\"AccessKeyId\": \"AKIA\", \"Token\": \"" C_TOKEN "\"}",
                    CORE_E_PARSE, "\"SecretAccessKey\"", NULL);
    container_error(&f, 200, "[\"" C_SECRET "\"]", CORE_E_PARSE, "not a JSON object", NULL);
    container_error(&f, 200,
                    "{\"AccessKeyId\": \"AKIA\", \"SecretAccessKey\": \"" C_SECRET "\", "
                    "\"Expiration\": \"tomorrow\"}", CORE_E_PARSE, "Expiration", NULL);
    /* A secret with a line break could split a header: refused, not quoted. */
    container_error(&f, 200,
                    "{\"AccessKeyId\": \"AKIA\", \"SecretAccessKey\": \"" C_SECRET "\\r\\nX: y\"}",
                    CORE_E_PARSE, "SecretAccessKey", NULL);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 7);

    /* Plain http to an arbitrary host would hand the token to whoever answers. */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example.com/creds");
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://user@169.254.170.23/creds");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://169.254.170.23/creds");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/no-slash");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
    /* A token file that cannot be read is named; a token with a line break is refused. */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds");
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/pod-token");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "/nonexistent/pod-token"));
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", NULL);
    fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN "\r\nX-Injected: 1");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 7); /* none of these sent anything */
    /* A transport failure names the source. */
    {
        struct core_http_script_step st;
        memset(&st, 0, sizeof st);
        st.result = CORE_E_TIMEOUT;
        CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f.s, &st), 0);
        fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN);
        get_wait(&f, &a);
        CU_ASSERT_EQUAL(a.rc, CORE_E_TIMEOUT);
        CU_ASSERT_EQUAL(strncmp(a.msg, "container", 9), 0);
    }
    fx_cleanup(&f);
}

/* ---- shared files -------------------------------------------------------------------------- */

static const char cred_file[] =
    "# stoker test credentials\n"
    "; a comment in the other style\n"
    "\n"
    "[default]\n"
    "aws_access_key_id = AKIAFILEDEFAULT\n"
    "aws_secret_access_key=" F_SECRET_DEF "   \n"
    "\n"
    "[ dev ]\r\n"
    "aws_access_key_id\t=   AKIAFILEDEV   # inline comment\r\n"
    "aws_secret_access_key = " F_SECRET "\r\n"
    "aws_session_token = " F_TOKEN "\r\n"
    "\n"
    "[nosecret]\n"
    "aws_access_key_id = AKIANOSECRET\n"
    "\n"
    "[assume]\n"
    "role_arn = arn:aws:iam::111122223333:role/x\n"
    "source_profile = default\n";

static const char conf_file[] =
    "[default]\n"
    "region = us-east-1\n"
    "\n"
    "[profile cfgonly]\n"
    "region = eu-west-1\n"
    "s3 =\n"
    "    addressing_style = path\n"
    "aws_access_key_id = AKIAFILECONFIG\n"
    "aws_secret_access_key = " F_SECRET_CFG "\n"
    "\n"
    "[cfgonly-without-prefix]\n"
    "aws_access_key_id = AKIAWRONG\n"
    "aws_secret_access_key = wrong\n"
    "\n"
    "[sso-session corp]\n"
    "sso_start_url = https://corp.awsapps.com/start\n"
    "\n"
    "[profile ssoprof]\n"
    "sso_session = corp\n"
    "sso_account_id = 111122223333\n";

static void shared_get(struct fx *f, const char *opt_profile, const char *env_profile,
                       struct ans *a)
{
    f->opts.profile = opt_profile;
    fx_env(f, "AWS_PROFILE", env_profile);
    fx_chain(f);
    get_wait(f, a);
}

static void test_shared_files(void)
{
    struct fx f;
    struct ans a;
    const char *cred, *conf;

    fx_init(&f);
    cred = fx_file(&f, ".aws/credentials", cred_file, 0);
    conf = fx_file(&f, ".aws/config", conf_file, 0);
    f.cfg.imds_disabled = 1;

    shared_get(&f, NULL, NULL, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAFILEDEFAULT");
    CU_ASSERT_STRING_EQUAL(a.secret, F_SECRET_DEF); /* trailing blanks dropped */
    CU_ASSERT_FALSE(a.has_token);
    CU_ASSERT_EQUAL(a.exp, 0);
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_SHARED_FILE);

    /* AWS_PROFILE; CRLF lines, tabs, spaces inside the brackets, an inline comment. */
    shared_get(&f, NULL, "dev", &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAFILEDEV");
    CU_ASSERT_STRING_EQUAL(a.secret, F_SECRET);
    CU_ASSERT_STRING_EQUAL(a.token, F_TOKEN);
    /* Static once read. */
    fx_file(&f, ".aws/credentials", "[dev]\naws_access_key_id = AKIACHANGED\n"
                                    "aws_secret_access_key = x\n", 0);
    CU_ASSERT_EQUAL(core_clock_advance(f.clock, 24 * 3600 * S), 0);
    get_wait(&f, &a);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAFILEDEV");
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 1);
    fx_file(&f, ".aws/credentials", cred_file, 0);

    /* opts.profile beats AWS_PROFILE; "[profile NAME]" in the config file, a nested block. */
    shared_get(&f, "cfgonly", "dev", &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAFILECONFIG");
    CU_ASSERT_STRING_EQUAL(a.secret, F_SECRET_CFG);

    /* A config section without the "profile " prefix is not a profile. */
    shared_get(&f, "cfgonly-without-prefix", NULL, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "cfgonly-without-prefix"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "the caller"));

    /* Missing secret: names the key and the file. */
    shared_get(&f, NULL, "nosecret", &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "aws_secret_access_key"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, cred));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "shared-file"));

    /* Assume-role and SSO profiles are refused by name. */
    shared_get(&f, NULL, "assume", &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "role_arn"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, cred));
    shared_get(&f, "ssoprof", NULL, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "sso_session"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, conf));

    /* A profile asked for by name that exists nowhere. */
    shared_get(&f, NULL, "nosuch", &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "nosuch"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AWS_PROFILE"));

    /* AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE move the files. */
    {
        const char *other = fx_file(&f, "other-creds",
                                    "[default]\naws_access_key_id = AKIAOTHER\n"
                                    "aws_secret_access_key = " F_SECRET "\n", 0);
        fx_env(&f, "AWS_SHARED_CREDENTIALS_FILE", other);
        shared_get(&f, NULL, NULL, &a);
        CU_ASSERT_EQUAL(a.rc, 0);
        CU_ASSERT_STRING_EQUAL(a.akid, "AKIAOTHER");
        fx_env(&f, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
        fx_env(&f, "AWS_CONFIG_FILE", other); /* [default] counts in the config file too */
        shared_get(&f, NULL, NULL, &a);
        CU_ASSERT_EQUAL(a.rc, 0);
        CU_ASSERT_STRING_EQUAL(a.akid, "AKIAOTHER");
        fx_env(&f, "AWS_SHARED_CREDENTIALS_FILE", NULL);
        fx_env(&f, "AWS_CONFIG_FILE", NULL);
    }
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 0);
    fx_cleanup(&f);
}

static void test_shared_file_syntax_errors(void)
{
    static const struct {
        const char *text;
        const char *want;
    } bad[] = {
        {"[default]\naws_access_key_id AKIA\n", "line 2"},
        {"aws_access_key_id = AKIA\n[default]\n", "before any [section]"},
        {"[default\naws_access_key_id = AKIA\n", "without ']'"},
        {"[default] junk\n", "after the section header"},
        {"[default]\naws_access_key_id = AKIA\n  continued\n", "indentation"},
        {"[default]\n= value\n", "empty key"},
    };
    struct fx f;
    struct ans a;
    const char *cred;

    fx_init(&f);
    f.cfg.imds_disabled = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cred = fx_file(&f, ".aws/credentials", bad[i].text, 0);
        shared_get(&f, NULL, NULL, &a);
        CU_ASSERT_EQUAL(a.rc, CORE_E_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, cred));
        if (!strstr(a.msg, bad[i].want)) {
            fprintf(stderr, "\ncase %zu: missing \"%s\" in: %s\n", i, bad[i].want, a.msg);
            CU_FAIL("syntax error message");
        }
    }
    /* A comment after a section header is fine. */
    fx_file(&f, ".aws/credentials",
            "[default] ; main\naws_access_key_id=AKIAOK\naws_secret_access_key=" F_SECRET "\n",
            0);
    shared_get(&f, NULL, NULL, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "AKIAOK");
    fx_cleanup(&f);
}

/* ---- IMDSv2 -------------------------------------------------------------------------------- */

static void test_imds(void)
{
    struct fx f;
    struct ans a;
    char body[512];

    fx_init(&f);
    imds_json(body, sizeof body, "ASIAIMDS1", T0_PLUS_6H);
    expect(&f, "PUT", IMDS_TOKEN_URL, 200, IMDS_TOKEN);
    expect(&f, "GET", IMDS_ROLES_URL, 200, IMDS_ROLE "\nsecond-line-ignored\n");
    expect(&f, "GET", IMDS_ROLES_URL IMDS_ROLE, 200, body);
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAIMDS1");
    CU_ASSERT_STRING_EQUAL(a.secret, I_SECRET);
    CU_ASSERT_STRING_EQUAL(a.token, I_TOKEN);
    CU_ASSERT_EQUAL(a.exp, T0 + 6 * 3600 * S);
    CU_ASSERT_EQUAL(aws_creds_source(f.p), AWS_CREDS_IMDS);
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.s), 3);
    CU_ASSERT_STRING_EQUAL(req(&f, 0)->method, "PUT");
    CU_ASSERT_STRING_EQUAL(req_header(&f, 0, "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
    CU_ASSERT_PTR_NULL(core_http_script_request_header(req(&f, 0), "X-aws-ec2-metadata-token"));
    CU_ASSERT_STRING_EQUAL(req(&f, 1)->method, "GET");
    CU_ASSERT_STRING_EQUAL(req_header(&f, 1, "X-aws-ec2-metadata-token"), IMDS_TOKEN);
    CU_ASSERT_STRING_EQUAL(req(&f, 2)->url, IMDS_ROLES_URL IMDS_ROLE);
    CU_ASSERT_STRING_EQUAL(req_header(&f, 2, "X-aws-ec2-metadata-token"), IMDS_TOKEN);

    /* Refresh 5 min before expiry: the token is reused, no PUT. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 5 * 3600 * S + 56 * MIN), 0);
    imds_json(body, sizeof body, "ASIAIMDS2", T0_PLUS_12H);
    expect(&f, "GET", IMDS_ROLES_URL, 200, IMDS_ROLE);
    expect(&f, "GET", IMDS_ROLES_URL IMDS_ROLE, 200, body);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAIMDS2");
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.s), 5);
    CU_ASSERT_STRING_EQUAL(req(&f, 3)->method, "GET");
    CU_ASSERT_STRING_EQUAL(req_header(&f, 3, "X-aws-ec2-metadata-token"), IMDS_TOKEN);
    CU_ASSERT_STRING_EQUAL(req_header(&f, 4, "X-aws-ec2-metadata-token"), IMDS_TOKEN);

    /* Past the token's 6 h TTL a new token is fetched first. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 11 * 3600 * S + 56 * MIN), 0);
    imds_json(body, sizeof body, "ASIAIMDS3", "2026-11-23T06:00:00Z"); /* T0 + 17 h */
    expect(&f, "PUT", IMDS_TOKEN_URL, 200, IMDS_TOKEN2);
    expect(&f, "GET", IMDS_ROLES_URL, 200, IMDS_ROLE);
    expect(&f, "GET", IMDS_ROLES_URL IMDS_ROLE, 200, body);
    get_wait(&f, &a);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAIMDS3");
    CU_ASSERT_EQUAL_FATAL(core_http_script_nrequests(f.s), 8);
    CU_ASSERT_STRING_EQUAL(req(&f, 5)->method, "PUT");
    CU_ASSERT_STRING_EQUAL(req_header(&f, 7, "X-aws-ec2-metadata-token"), IMDS_TOKEN2);

    /* A cached token the service rejects (401) is replaced once within the fetch. */
    CU_ASSERT_EQUAL(core_clock_set_mono(f.clock, 16 * 3600 * S + 56 * MIN), 0);
    imds_json(body, sizeof body, "ASIAIMDS4", "2026-11-23T13:00:00Z");
    expect(&f, "GET", IMDS_ROLES_URL, 401, "");
    expect(&f, "PUT", IMDS_TOKEN_URL, 200, IMDS_TOKEN);
    expect(&f, "GET", IMDS_ROLES_URL, 200, IMDS_ROLE);
    expect(&f, "GET", IMDS_ROLES_URL IMDS_ROLE, 200, body);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_STRING_EQUAL(a.akid, "ASIAIMDS4");
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 12);
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 0);
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 4);
    fx_cleanup(&f);
}

static void test_imds_errors(void)
{
    struct fx f;
    struct ans a;

    fx_init(&f);
    /* Code other than Success. */
    expect(&f, "PUT", IMDS_TOKEN_URL, 200, IMDS_TOKEN);
    expect(&f, "GET", IMDS_ROLES_URL, 200, IMDS_ROLE);
    expect(&f, "GET", IMDS_ROLES_URL IMDS_ROLE, 200,
           "{\"Code\": \"AssumeRoleUnauthorizedAccess\", \"Message\": \"no\", "
           "\"LastUpdated\": \"2026-11-22T12:00:00Z\"}");
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "imds"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "AssumeRoleUnauthorizedAccess"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, IMDS_ROLE));
    /* Success without a token is incomplete for IMDS. */
    expect(&f, "GET", IMDS_ROLES_URL, 200, IMDS_ROLE);
    expect(&f, "GET", IMDS_ROLES_URL IMDS_ROLE, 200,
           "{\"Code\": \"Success\", \"AccessKeyId\": \"ASIA\", \"SecretAccessKey\": \"" I_SECRET
           "\", \"Expiration\": \"" T0_PLUS_6H "\"}");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "\"Token\""));
    /* No instance profile. */
    expect(&f, "GET", IMDS_ROLES_URL, 404, "");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "no IAM role"));
    /* A role list that is not a role name. */
    expect(&f, "GET", IMDS_ROLES_URL, 200, "../../etc/passwd");
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_PARSE);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 7);
    /* Off EC2 nothing answers: the token request times out, named. */
    {
        struct core_http_script_step st;
        memset(&st, 0, sizeof st);
        st.method = "PUT";
        st.result = CORE_E_TIMEOUT;
        st.delay = 2 * S;
        CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f.s, &st), 0);
        fx_chain(&f);
        get_wait(&f, &a);
        CU_ASSERT_EQUAL(a.rc, CORE_E_TIMEOUT);
        CU_ASSERT_EQUAL(strncmp(a.msg, "imds", 4), 0);
    }
    /* The token request itself refused. */
    expect(&f, "PUT", IMDS_TOKEN_URL, 403, "");
    fx_chain(&f);
    get_wait(&f, &a);
    CU_ASSERT_EQUAL(a.rc, CORE_E_AUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "HTTP 403"));
    CU_ASSERT_EQUAL(core_http_script_unexpected(f.s), 0);
    fx_cleanup(&f);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void test_free_cancels(void)
{
    struct fx f;
    struct ans a, b;
    struct core_err err;
    struct core_http_script_step st;
    char body[512];
    char *xml = sts_fixture();
    const char *tokfile;

    fx_init(&f);
    /* Free with the HTTP exchange in flight: no callback, the exchange is cancelled. */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
    container_json(body, sizeof body, "ASIAX", T0_PLUS_1H);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.body = body;
    st.delay = 5 * S;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f.s, &st), 0);
    fx_chain(&f);
    ans_init(&a, &f);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &a, &err), 0);
    CU_ASSERT(core_loop_run_once(f.loop, 0, &err) >= 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 1);
    aws_creds_provider_free(f.p);
    f.p = NULL;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(a.n, 0);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);

    /* Free before the first timer fired. */
    fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", ENV_SECRET);
    fx_chain(&f);
    ans_init(&a, &f);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &a, &err), 0);
    aws_creds_provider_free(f.p);
    f.p = NULL;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(a.n, 0);

    /* Free from inside an answer: later waiters are not called. */
    fx_chain(&f);
    ans_init(&a, &f);
    ans_init(&b, &f);
    a.free_on_answer = &f.p;
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &b, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(a.n, 1);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_PTR_NULL(f.p);

    /* aws_creds_cancel withdraws one waiter; the other is answered. */
    fx_chain(&f);
    ans_init(&a, &f);
    ans_init(&b, &f);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &b, &err), 0);
    aws_creds_cancel(f.p, on_ans, &a);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(a.n, 0);
    CU_ASSERT_EQUAL(b.n, 1);
    CU_ASSERT_EQUAL(b.rc, 0);
    /* ... also from inside the answer to an earlier waiter of the same result (a client
     * freed by another client's callback). */
    ans_init(&a, &f);
    ans_init(&b, &f);
    a.cancel_p = f.p;
    a.cancel_other = &b;
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &b, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(a.n, 1);
    CU_ASSERT_EQUAL(b.n, 0);

    /* Free with the STS call in flight: the client's cancellation reaches nobody. */
    fx_env(&f, "AWS_ACCESS_KEY_ID", NULL);
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", NULL);
    tokfile = fx_file(&f, "token", WI_TOKEN, 0);
    fx_env(&f, "AWS_ROLE_ARN", ROLE_ARN);
    fx_env(&f, "AWS_WEB_IDENTITY_TOKEN_FILE", tokfile);
    memset(&st, 0, sizeof st);
    st.status = 200;
    st.body = xml;
    st.delay = 5 * S;
    CU_ASSERT_EQUAL_FATAL(core_http_script_expect(f.s, &st), 0);
    fx_chain(&f);
    ans_init(&a, &f);
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_ans, &a, &err), 0);
    for (int i = 0; i < 4 && core_http_script_nrequests(f.s) < 2; i++)
        CU_ASSERT(core_loop_run_once(f.loop, 0, &err) >= 0);
    CU_ASSERT_EQUAL(core_http_script_nrequests(f.s), 2);
    aws_creds_provider_free(f.p);
    f.p = NULL;
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(a.n, 0);

    /* Bad arguments. */
    CU_ASSERT_EQUAL(aws_creds_get(NULL, on_ans, &a, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(aws_creds_chain_new(NULL, f.t, &f.env, &f.cfg, NULL, &f.p, &err),
                    CORE_E_INVAL);
    f.opts.refresh_before = -1;
    CU_ASSERT_EQUAL(aws_creds_chain_new(f.loop, f.t, &f.env, &f.cfg, &f.opts, &f.p, &err),
                    CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(f.p);
    fx_cleanup(&f);
    core_free(xml);
}

/* An answer asked for from inside an answer comes on a later turn, from the cache. */
struct reask {
    struct ans first, second;
    struct aws_creds_provider *p;
    int reask_rc;
    int second_sync; /* the second answer came inside aws_creds_get */
};

static void on_reask(void *ud, int rc, const struct aws_credentials *c,
                     const struct core_err *err)
{
    struct reask *r = ud;
    struct core_err e;
    on_ans(&r->first, rc, c, err);
    r->reask_rc = aws_creds_get(r->p, on_ans, &r->second, &e);
    r->second_sync = r->second.done;
}

static void test_get_from_callback(void)
{
    struct fx f;
    struct reask r;
    struct core_err err;

    fx_init(&f);
    fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
    fx_env(&f, "AWS_SECRET_ACCESS_KEY", ENV_SECRET);
    fx_chain(&f);
    memset(&r, 0, sizeof r);
    r.p = f.p;
    CU_ASSERT_EQUAL_FATAL(aws_creds_get(f.p, on_reask, &r, &err), 0);
    CU_ASSERT_EQUAL(core_loop_run(f.loop, &err), 0);
    CU_ASSERT_EQUAL(r.first.n, 1);
    CU_ASSERT_EQUAL(r.reask_rc, 0);
    CU_ASSERT_FALSE(r.second_sync);
    CU_ASSERT_EQUAL(r.second.n, 1);
    CU_ASSERT_STRING_EQUAL(r.second.akid, "AKIAENVEXAMPLE");
    CU_ASSERT_EQUAL(aws_creds_fetches(f.p), 1);
    fx_cleanup(&f);
}

/* ---- allocation failures ------------------------------------------------------------------- */

/* Runs one chain get with the n-th allocation failing; returns the number of failures made.
 * Asserts a clean error or the right answer. */
static unsigned long alloc_round(unsigned long n, int container, int *ok)
{
    struct fx f;
    struct ans a;
    struct core_err err;
    char body[512];
    unsigned long failures;
    int rc;

    fx_init(&f);
    if (container) {
        const char *tokfile = fx_file(&f, "pod-token", AUTH_TOKEN, 0);
        fx_env(&f, "AWS_CONTAINER_CREDENTIALS_FULL_URI", POD_URL);
        fx_env(&f, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile);
        container_json(body, sizeof body, "ASIAPODIDENTITY", T0_PLUS_1H);
        expect(&f, "GET", POD_URL, 200, body);
    } else {
        fx_env(&f, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
        fx_env(&f, "AWS_SECRET_ACCESS_KEY", ENV_SECRET);
        fx_env(&f, "AWS_SESSION_TOKEN", ENV_TOKEN);
    }
    ans_init(&a, &f);
    core_err_clear(&err);
    core_alloc_fail_after(n);
    rc = aws_creds_chain_new(f.loop, f.t, &f.env, &f.cfg, &f.opts, &f.p, &err);
    if (rc == 0)
        rc = aws_creds_get(f.p, on_ans, &a, &err);
    if (rc == 0 && core_loop_run_until(f.loop, &a.done, core_loop_now(f.loop) + 3600 * S,
                                       &err) != 0)
        CU_ASSERT(!a.done); /* the loop only ends early when no answer is coming */
    failures = core_alloc_failures();
    core_alloc_fail_after(0);
    *ok = 0;
    if (rc != 0) {
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        assert_no_secret(err.message);
    } else if (!a.done) {
        fprintf(stderr, "\nalloc round %lu: no answer\n", n);
        CU_FAIL("no answer after an allocation failure");
    } else if (a.rc == 0) {
        CU_ASSERT_STRING_EQUAL(a.akid, container ? "ASIAPODIDENTITY" : "AKIAENVEXAMPLE");
        CU_ASSERT_STRING_EQUAL(a.token, container ? C_TOKEN : ENV_TOKEN);
        *ok = 1;
    } else {
        CU_ASSERT(a.consistent);
        CU_ASSERT(a.msg[0] != '\0');
        if (strncmp(a.msg, container ? "container" : "environment", 9) != 0 &&
            a.rc != CORE_E_NOMEM) {
            fprintf(stderr, "\nalloc round %lu: rc %d: %s\n", n, a.rc, a.msg);
            CU_FAIL("allocation failure gave an unexpected error");
        }
    }
    fx_cleanup(&f);
    return failures;
}

static void alloc_loop(int container)
{
    unsigned long n;
    int ok = 0, failed_rounds = 0;

    for (n = 1; n < 2000; n++) {
        if (alloc_round(n, container, &ok) == 0)
            break;
        failed_rounds++;
    }
    CU_ASSERT(n < 2000);
    CU_ASSERT(ok); /* the round without a failure succeeded */
    CU_ASSERT(failed_rounds >= 3);
}

static void test_alloc_failure_env(void)
{
    alloc_loop(0);
}

static void test_alloc_failure_container(void)
{
    alloc_loop(1);
}

TESTS_SUITE(aws_creds, "aws_creds", NULL, NULL,
            TESTS_CASE(test_source_names),
            TESTS_CASE(test_copy_and_cleanup),
            TESTS_CASE(test_static_provider),
            TESTS_CASE(test_env_with_session_token),
            TESTS_CASE(test_env_one_key_missing),
            TESTS_CASE(test_chain_order),
            TESTS_CASE(test_nothing_configured),
            TESTS_CASE(test_web_identity),
            TESTS_CASE(test_web_identity_errors),
            TESTS_CASE(test_refresh_window_single_flight),
            TESTS_CASE(test_refresh_failure_keeps_valid_cache),
            TESTS_CASE(test_container),
            TESTS_CASE(test_container_errors),
            TESTS_CASE(test_shared_files),
            TESTS_CASE(test_shared_file_syntax_errors),
            TESTS_CASE(test_imds),
            TESTS_CASE(test_imds_errors),
            TESTS_CASE(test_free_cancels),
            TESTS_CASE(test_get_from_callback),
            TESTS_CASE(test_alloc_failure_env),
            TESTS_CASE(test_alloc_failure_container))
