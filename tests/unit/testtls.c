/*
 * tests/unit/testtls.c — TLS material for loopback HTTPS test servers (see testtls.h). Uses plain
 * malloc so allocation-failure tests, which count core_malloc, never touch it.
 */
#include "tests/unit/testtls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static char *bio_string(BIO *b)
{
    char *data = NULL, *out;
    long n = BIO_get_mem_data(b, &data);
    if (n <= 0)
        return NULL;
    out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

int tests_tls_make(const char *cn, const char *san, struct tests_tls_id *out)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    X509_NAME *name;
    int ok = 0;

    memset(out, 0, sizeof *out);
    if (!k || !x || !kb || !cb)
        goto done;
    if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, k))
        goto done;
    name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, name))
        goto done;
    if (!add_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
        !add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
        !add_ext(x, NID_subject_key_identifier, "hash") ||
        !add_ext(x, NID_subject_alt_name, san))
        goto done;
    if (X509_sign(x, k, EVP_sha256()) <= 0)
        goto done;
    if (!PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_X509(cb, x))
        goto done;
    out->key_pem = bio_string(kb);
    out->cert_pem = bio_string(cb);
    ok = out->key_pem && out->cert_pem;
done:
    EVP_PKEY_free(k);
    X509_free(x);
    BIO_free(kb);
    BIO_free(cb);
    return ok ? 0 : -1;
}

void tests_tls_free(struct tests_tls_id *id)
{
    free(id->key_pem);
    free(id->cert_pem);
}

