/*
 * tests/unit/wallet/fake_store.h - an in-memory shard behind the calls wallet/batch makes.
 *
 * Owns: a fake of the storage seam of the group commit (db/conn's open, commit, rollback,
 * reopen; db/ledger's locks, inserts, updates and get; db/idem's claim, load and finish) over
 * tables held in memory with transactions (the statements change a working copy; COMMIT publishes
 * it, ROLLBACK drops it), and the faults a real shard shows: a deadlock or an unexpected error at
 * the Nth statement or on any statement touching a wallet, a connection lost before COMMIT, a
 * COMMIT whose answer is lost after it did (or did not) apply, and reconnects that fail.
 * Test binaries link this instead of db/conn.c, db/ledger.c and db/idem.c.
 * Thread-safety: none; one test thread.
 */
#ifndef WD_TESTS_FAKE_STORE_H
#define WD_TESTS_FAKE_STORE_H

#include "db/rows.h"

#include <stdbool.h>
#include <stddef.h>

#define FAKE_ROWS 256

struct fake_key {
    char tenant[WD_TENANT_MAX + 1];
    char scope[WD_SCOPE_MAX + 1];
    char key[WD_IDEM_KEY_MAX + 1];
    unsigned char hash[WD_HASH_LEN];
    int status;
    char response[2048];
    size_t len;
};

struct fake_tables {
    struct wd_wallet wallets[FAKE_ROWS];
    int nwallets;
    struct wd_txn txns[FAKE_ROWS];
    int ntxns;
    struct wd_entry entries[FAKE_ROWS];
    int nentries;
    struct fake_key keys[FAKE_ROWS];
    int nkeys;
};

enum fake_commit_fault {
    FAKE_COMMIT_OK = 0,
    FAKE_COMMIT_LOST_APPLIED, /* the server committed; the answer was lost */
    FAKE_COMMIT_LOST_DROPPED, /* the connection died before the server committed */
};

struct fake_store {
    struct fake_tables committed, work;

    /* faults, each used once unless said otherwise */
    int fail_statement;           /* the Nth statement from now (1-based) fails with fail_code */
    int fail_code;                /* -WD_E_DB_RETRY (deadlock), -WD_E_DB, -WD_E_DB_UNAVAILABLE */
    char poisoned[WD_ID_LEN + 1]; /* every statement touching this wallet fails -WD_E_DB */
    enum fake_commit_fault commit_fault;
    int failing_reopens; /* reconnects that fail */

    /* what happened */
    int statements, commits, rollbacks, reopens;
};

extern struct fake_store fake;

/* Empties every table and clears every fault and counter. */
void fake_reset(void);

/* Seeds a committed wallet; returns it (in fake.committed). */
struct wd_wallet *fake_add_wallet(const char *id, const char *tenant, const char *account,
                                  const char *currency, long balance);

/* Seeds a committed transaction. */
struct wd_txn *fake_add_txn(const struct wd_txn *t);

/* Seeds a committed idempotency record. */
void fake_add_key(const char *tenant, const char *scope, const char *key,
                  const unsigned char hash[WD_HASH_LEN], int status, const char *response);

/* Committed rows, or NULL. */
const struct wd_wallet *fake_wallet(const char *id);
const struct wd_txn *fake_txn(const char *id);
const struct fake_key *fake_key(const char *tenant, const char *scope, const char *key);

/* Committed ledger entries of a wallet, and of the whole shard. */
int fake_entries(const char *wallet_id);

#endif
