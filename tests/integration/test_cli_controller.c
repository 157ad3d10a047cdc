/*
 * tests/integration/test_cli_controller.c — `stoker controller` as a process against
 * `stoker sim serve`: it logs "listening" with its bound metrics address, /healthz answers 200,
 * SIGTERM ends it with exit 0 within seconds; a bad flag exits 2 naming the flag.
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static long http_get(const char *url)
{
    CURL *e = curl_easy_init();
    long status = 0;
    if (!e)
        return -1;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(e);
    return status;
}

/* The port in the log's "listening ... addr=127.0.0.1:PORT", or 0 before the deadline ends. */
static int wait_port(const char *log_path, double deadline)
{
    while (tests_now() < deadline) {
        char *text = tests_read_file(log_path, NULL);
        const char *p = text ? strstr(text, "addr=127.0.0.1:") : NULL;
        int port = p ? (int)strtol(p + 15, NULL, 10) : 0;
        core_free(text);
        if (port > 0)
            return port;
        usleep(50 * 1000);
    }
    return 0;
}

static void test_controller_runs_and_stops(void)
{
    struct tests_sim sim;
    char log_path[192], url[128];
    int out_fd = -1, port, status;
    pid_t pid;
    long code = 0;

    CU_ASSERT_EQUAL_FATAL(tests_sim_start(&sim, "ctl", NULL), 0);
    CU_ASSERT_EQUAL(tests_sim_setenv(&sim, "STOKER_CLUSTER_CA",
                                     "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="), 0);
    snprintf(log_path, sizeof log_path, "%s/controller.log", sim.dir);
    {
        char *argv[] = {(char *)tests_stoker_bin(), "controller", "--kubeconfig",
                        sim.kube_path, "--cluster-name", "sim", "--metrics-addr", "127.0.0.1:0",
                        "--leader-elect=false", NULL};
        CU_ASSERT_EQUAL_FATAL(tests_spawn(argv, sim.envp, log_path, &out_fd, &pid), 0);
    }
    port = wait_port(log_path, tests_now() + 15);
    CU_ASSERT(port > 0);
    if (port > 0) {
        double deadline = tests_now() + 15;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
        while (tests_now() < deadline && (code = http_get(url)) != 200)
            usleep(100 * 1000);
        CU_ASSERT_EQUAL(code, 200);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
        CU_ASSERT_EQUAL(http_get(url), 200);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/nothing", port);
        CU_ASSERT_EQUAL(http_get(url), 404);
    }
    kill(pid, SIGTERM);
    status = tests_wait_exit(pid, tests_now() + 15);
    CU_ASSERT_EQUAL(status, 0);
    if (status != 0) {
        char *text = tests_read_file(log_path, NULL);
        fprintf(stderr, "\ncontroller log:\n%s\n", text ? text : "(none)");
        core_free(text);
    }
    if (out_fd >= 0)
        close(out_fd);
    tests_sim_stop(&sim);
}

static void test_controller_bad_flag(void)
{
    char *argv1[] = {(char *)tests_stoker_bin(), "controller", "--batch-idle", "soon", NULL};
    char *argv2[] = {(char *)tests_stoker_bin(), "controller", "--bogus", NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent", NULL};
    char err_path[] = "/tmp/stoker-ctl-flag-XXXXXX";
    struct core_buf out;
    int fd = mkstemp(err_path), status = -1;
    char *text;

    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    core_buf_init(&out, 1 << 16);
    CU_ASSERT_EQUAL(tests_run(argv1, envp, err_path, 10, &out, &status), 0);
    CU_ASSERT_EQUAL(status, 2);
    text = tests_read_file(err_path, NULL);
    CU_ASSERT(text && strstr(text, "--batch-idle"));
    core_free(text);
    CU_ASSERT_EQUAL(tests_run(argv2, envp, err_path, 10, &out, &status), 0);
    CU_ASSERT_EQUAL(status, 2);
    text = tests_read_file(err_path, NULL);
    CU_ASSERT(text && strstr(text, "--bogus"));
    core_free(text);
    /* No cluster name anywhere: the flag that is missing is named. */
    {
        char *argv3[] = {(char *)tests_stoker_bin(), "controller", NULL};
        CU_ASSERT_EQUAL(tests_run(argv3, envp, err_path, 10, &out, &status), 0);
        CU_ASSERT_EQUAL(status, 2);
        text = tests_read_file(err_path, NULL);
        CU_ASSERT(text && strstr(text, "--cluster-name"));
        core_free(text);
    }
    core_buf_cleanup(&out);
    unlink(err_path);
}

TESTS_SUITE(cli_controller, "cli_controller", NULL, NULL,
            TESTS_CASE(test_controller_runs_and_stops), TESTS_CASE(test_controller_bad_flag))
