/*
 * core/limits.h - the sizes and counts every layer agrees on.
 *
 * Owns: the one definition of each limit that more than one module uses (the API's field
 * lengths, which are also the database's column widths, the routable ID length, a group commit's
 * most operations, the longest list a read returns). A module that keeps its own copy of one
 * (a SQL column, a buffer) asserts with _Static_assert that it is still equal.
 * Pure constants; no code.
 */
#ifndef WD_CORE_LIMITS_H
#define WD_CORE_LIMITS_H

#define WD_TENANT_MAX    64   /* tenant name: 1-64 of [A-Za-z0-9_.-]; VARCHAR(64) columns */
#define WD_ACCOUNT_MAX   64   /* accountId: 1-64 of [A-Za-z0-9_.:-]; VARCHAR(64) */
#define WD_REFERENCE_MAX 64   /* referenceId: 1-64 printable ASCII; VARCHAR(64) */
#define WD_IDEM_KEY_MAX  255  /* Idempotency-Key: 1-255 printable ASCII; VARCHAR(255) */
#define WD_SCOPE_MAX     64   /* an idempotency key's scope: a wallet, transaction or account ID */
#define WD_ID_LEN        40   /* wal_/txn_ + 36 hex digits; CHAR(40) */
#define WD_HASH_LEN      32   /* a canonical request's hash (BLAKE2b-256); BINARY(32) */
#define WD_BATCH_MAX     64   /* most operations in one group commit (BATCH_MAX's ceiling) */
#define WD_LIST_MAX      1000 /* most wallets GET /accounts/{id}/wallets returns */

_Static_assert(WD_ID_LEN <= WD_SCOPE_MAX && WD_ACCOUNT_MAX <= WD_SCOPE_MAX,
               "every resource ID fits an idempotency scope");

#endif
