/*
 * tests/unit/testtls.h — TLS material made inside the tests with the OpenSSL API: a
 * self-signed EC P-256 certificate that is its own CA, for loopback HTTPS servers.
 */
#ifndef STOKER_TESTS_TESTTLS_H
#define STOKER_TESTS_TESTTLS_H

struct tests_tls_id {
    char *key_pem;  /* malloc'd */
    char *cert_pem; /* malloc'd */
};

/* cn: subject common name; san: subjectAltName value ("IP:127.0.0.1,DNS:localhost").
 * 0 on success; release with tests_tls_free. */
int tests_tls_make(const char *cn, const char *san, struct tests_tls_id *out);
void tests_tls_free(struct tests_tls_id *id);

#endif
