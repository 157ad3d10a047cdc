/*
 * prewarm/internal.h — declarations shared by prewarm's own files, its tests and its fuzzer, not
 * by other modules: the parsed form of a compiled zone file (TZif, RFC 8536) and the lookups
 * prewarm_bounds needs to walk a cron schedule minute by minute without re-reading the file.
 *
 * Invariants:
 *  - A struct prewarm_tz is immutable once parsed; its transitions are strictly increasing and
 *    every type index points into its types; the footer rule, when present, is valid.
 *  - Nothing here reads a clock or logs; only prewarm_tz_load reads a file (bounded).
 */
#ifndef STOKER_PREWARM_INTERNAL_H
#define STOKER_PREWARM_INTERNAL_H

#include "prewarm/prewarm.h"

#include <stddef.h>
#include <stdint.h>

/* Largest zone file read (the header's 1 MiB). */
#define PREWARM_TZ_FILE_MAX ((size_t)1 << 20)

/* A parsed zone. Opaque. */
struct prewarm_tz;

/* Parses TZif bytes (v1, v2, v3 or v4; the 64-bit block and footer are used when present).
 * CORE_E_PARSE naming what is wrong; CORE_E_NOMEM. */
int prewarm_tz_parse(const unsigned char *data, size_t len, struct prewarm_tz **out,
                     struct core_err *err) CORE_NODISCARD;
/* Loads zone by name, checked as prewarm_tz_offset describes. "", "UTC", "Etc/UTC" and "Z"
 * give a zone with no file behind it (offset 0 forever). */
int prewarm_tz_load(const char *zone, struct prewarm_tz **out,
                    struct core_err *err) CORE_NODISCARD;
/* The offset (seconds east of UTC) at UTC second t, and the first UTC second after t at which
 * it may change (INT64_MAX when never): callers cache the offset until then. */
void prewarm_tz_lookup(const struct prewarm_tz *z, int64_t t, int32_t *off, int64_t *until);
void prewarm_tz_free(struct prewarm_tz *z);

/* Bytes-level prewarm_tz_offset, for the fuzzer and the tests: parse + lookup. */
int prewarm_tzif_offset(const unsigned char *data, size_t len, core_ns t, int32_t *off,
                        struct core_err *err) CORE_NODISCARD;

/* Formats a duration the way reasons show it: "15m", "1h30m", "90s", "2d3h". */
void prewarm_fmt_duration(core_ns d, char *out, size_t outsz);

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian), and back. */
void prewarm_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int64_t prewarm_days_from_civil(int64_t y, int m, int d);

#endif /* STOKER_PREWARM_INTERNAL_H */
