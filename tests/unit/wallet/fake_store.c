/*
 * tests/unit/wallet/fake_store.c - the in-memory shard of fake_store.h.
 */
#include "fake_store.h"

#include "db/conn.h"
#include "db/idem.h"
#include "db/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_store fake;

void fake_reset(void)
{
    memset(&fake, 0, sizeof(fake));
}

/* Every statement passes here first: the armed faults decide whether it fails. */
static int statement(const char *wallet_id, const char *what, struct wd_error *err)
{
    fake.statements++;
    if (fake.fail_statement > 0 && --fake.fail_statement == 0)
        return wd_error_set(err, fake.fail_code, "fake: %s: injected failure", what);
    if (wallet_id && fake.poisoned[0] && strcmp(wallet_id, fake.poisoned) == 0)
        return wd_error_set(err, -WD_E_DB, "fake: %s: unexpected error on %s", what, wallet_id);
    return 0;
}

/* A failed statement ends the transaction's work the way the server would. */
static int failed(int rc)
{
    if (rc == -WD_E_DB_UNAVAILABLE)
        fake.work = fake.committed; /* the server rolls back a dropped connection */
    return rc;
}

static struct wd_wallet *find_wallet(struct fake_tables *t, const char *id)
{
    for (int i = 0; i < t->nwallets; i++) {
        if (strcmp(t->wallets[i].id, id) == 0)
            return &t->wallets[i];
    }
    return NULL;
}

static struct wd_txn *find_txn(struct fake_tables *t, const char *id)
{
    for (int i = 0; i < t->ntxns; i++) {
        if (strcmp(t->txns[i].id, id) == 0)
            return &t->txns[i];
    }
    return NULL;
}

static struct fake_key *find_key(struct fake_tables *t, const char *tenant, const char *scope,
                                 const char *key)
{
    for (int i = 0; i < t->nkeys; i++) {
        struct fake_key *k = &t->keys[i];
        if (!strcmp(k->tenant, tenant) && !strcmp(k->scope, scope) && !strcmp(k->key, key))
            return k;
    }
    return NULL;
}

/* ---- seeding and reading back -------------------------------------------------------------- */

struct wd_wallet *fake_add_wallet(const char *id, const char *tenant, const char *account,
                                  const char *currency, long balance)
{
    struct wd_wallet *w = &fake.committed.wallets[fake.committed.nwallets++];

    memset(w, 0, sizeof(*w));
    snprintf(w->id, sizeof(w->id), "%s", id);
    snprintf(w->tenant, sizeof(w->tenant), "%s", tenant);
    snprintf(w->account, sizeof(w->account), "%s", account);
    snprintf(w->currency, sizeof(w->currency), "%s", currency);
    w->balance = balance;
    fake.work = fake.committed;
    return w;
}

struct wd_txn *fake_add_txn(const struct wd_txn *t)
{
    struct wd_txn *row = &fake.committed.txns[fake.committed.ntxns++];

    *row = *t;
    fake.work = fake.committed;
    return row;
}

void fake_add_key(const char *tenant, const char *scope, const char *key,
                  const unsigned char hash[WD_HASH_LEN], int status, const char *response)
{
    struct fake_key *k = &fake.committed.keys[fake.committed.nkeys++];

    memset(k, 0, sizeof(*k));
    snprintf(k->tenant, sizeof(k->tenant), "%s", tenant);
    snprintf(k->scope, sizeof(k->scope), "%s", scope);
    snprintf(k->key, sizeof(k->key), "%s", key);
    memcpy(k->hash, hash, WD_HASH_LEN);
    k->status = status;
    k->len = (size_t)snprintf(k->response, sizeof(k->response), "%s", response);
    fake.work = fake.committed;
}

const struct wd_wallet *fake_wallet(const char *id)
{
    return find_wallet(&fake.committed, id);
}

const struct wd_txn *fake_txn(const char *id)
{
    return find_txn(&fake.committed, id);
}

const struct fake_key *fake_key(const char *tenant, const char *scope, const char *key)
{
    return find_key(&fake.committed, tenant, scope, key);
}

int fake_entries(const char *wallet_id)
{
    int n = 0;

    for (int i = 0; i < fake.committed.nentries; i++)
        n += !wallet_id || strcmp(fake.committed.entries[i].wallet_id, wallet_id) == 0;
    return n;
}

/* ---- db/conn ------------------------------------------------------------------------------- */

int wd_conn_open(struct wd_conn *c, struct wd_error *err)
{
    (void)c;
    (void)err;
    return 0;
}

int wd_conn_reopen(struct wd_conn *c, int64_t deadline_ns, struct wd_error *err)
{
    (void)c;
    (void)deadline_ns;
    fake.reopens++;
    if (fake.failing_reopens > 0) {
        fake.failing_reopens--;
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "fake: reconnect refused");
    }
    return 0;
}

int wd_conn_commit(struct wd_conn *c, struct wd_error *err)
{
    enum fake_commit_fault fault = fake.commit_fault;

    (void)c;
    fake.commit_fault = FAKE_COMMIT_OK;
    if (fault == FAKE_COMMIT_LOST_DROPPED) {
        fake.work = fake.committed;
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "fake: commit: connection lost");
    }
    fake.committed = fake.work;
    fake.commits++;
    if (fault == FAKE_COMMIT_LOST_APPLIED)
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "fake: commit: answer lost");
    return 0;
}

/* A shard's GTID position: one step per commit, as a real binary log's sequence grows. */
void wd_conn_last_gtid(struct wd_conn *c, char *out, size_t size)
{
    (void)c;
    snprintf(out, size, "0-1-%d", fake.commits);
}

int wd_conn_query_text(struct wd_conn *c, const char *sql, char *out, size_t size,
                       struct wd_error *err)
{
    (void)c;
    (void)sql;
    (void)err;
    snprintf(out, size, "0-1-%d", fake.commits);
    return 0;
}

void wd_conn_rollback(struct wd_conn *c)
{
    (void)c;
    fake.rollbacks++;
    fake.work = fake.committed;
}

/* ---- db/ledger ----------------------------------------------------------------------------- */

int wd_ledger_lock_wallets(struct wd_conn *c, const char (*ids)[WD_ID_LEN + 1], int n,
                           struct wd_wallet *out, int *found, struct wd_error *err)
{
    (void)c;
    *found = 0;
    for (int i = 0; i < n; i++) {
        int rc = statement(ids[i], "lock wallets", err);
        if (rc < 0)
            return failed(rc);
        const struct wd_wallet *w = find_wallet(&fake.work, ids[i]);
        if (w)
            out[(*found)++] = *w;
    }
    return 0;
}

int wd_ledger_lock_txns(struct wd_conn *c, const char (*ids)[WD_ID_LEN + 1], int n,
                        struct wd_txn *out, int *found, struct wd_error *err)
{
    int rc = statement(NULL, "lock transactions", err);

    (void)c;
    *found = 0;
    if (rc < 0)
        return failed(rc);
    for (int i = 0; i < n; i++) {
        const struct wd_txn *t = find_txn(&fake.work, ids[i]);
        if (t)
            out[(*found)++] = *t;
    }
    return 0;
}

int wd_ledger_insert_wallets(struct wd_conn *c, const struct wd_wallet *rows, int n, bool *inserted,
                             struct wd_error *err)
{
    int rc = statement(NULL, "insert wallets", err);

    (void)c;
    if (rc < 0)
        return failed(rc);
    for (int i = 0; i < n; i++) {
        bool taken = find_wallet(&fake.work, rows[i].id) != NULL;
        for (int j = 0; j < fake.work.nwallets && !taken; j++) {
            const struct wd_wallet *w = &fake.work.wallets[j];
            taken = !strcmp(w->tenant, rows[i].tenant) && !strcmp(w->account, rows[i].account) &&
                    !strcmp(w->currency, rows[i].currency);
        }
        inserted[i] = !taken;
        if (!taken)
            fake.work.wallets[fake.work.nwallets++] = rows[i];
    }
    return 0;
}

int wd_ledger_insert_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    (void)c;
    for (int i = 0; i < n; i++) {
        int rc = statement(rows[i].wallet_id, "insert transactions", err);
        if (rc < 0)
            return failed(rc);
        if (find_txn(&fake.work, rows[i].id))
            return wd_error_set(err, -WD_E_DB, "fake: duplicate transaction %s", rows[i].id);
        fake.work.txns[fake.work.ntxns++] = rows[i];
    }
    return 0;
}

int wd_ledger_update_txns(struct wd_conn *c, const struct wd_txn *rows, int n, struct wd_error *err)
{
    (void)c;
    for (int i = 0; i < n; i++) {
        int rc = statement(rows[i].wallet_id, "update transactions", err);
        struct wd_txn *t = find_txn(&fake.work, rows[i].id);
        if (rc < 0)
            return failed(rc);
        if (!t)
            return wd_error_set(err, -WD_E_DB, "fake: update of a missing transaction");
        *t = rows[i];
    }
    return 0;
}

int wd_ledger_update_wallets(struct wd_conn *c, const struct wd_wallet *rows, int n,
                             struct wd_error *err)
{
    (void)c;
    for (int i = 0; i < n; i++) {
        int rc = statement(rows[i].id, "update wallets", err);
        struct wd_wallet *w = find_wallet(&fake.work, rows[i].id);
        if (rc < 0)
            return failed(rc);
        if (!w)
            return wd_error_set(err, -WD_E_DB, "fake: update of a missing wallet");
        *w = rows[i];
    }
    return 0;
}

int wd_ledger_insert_entries(struct wd_conn *c, const struct wd_entry *rows, int n,
                             struct wd_error *err)
{
    (void)c;
    for (int i = 0; i < n; i++) {
        int rc = statement(rows[i].wallet_id, "insert ledger entries", err);
        if (rc < 0)
            return failed(rc);
        struct wd_entry *e = &fake.work.entries[fake.work.nentries++];
        *e = rows[i];
        e->id = (uint64_t)fake.work.nentries;
    }
    return 0;
}

int wd_ledger_get_wallet(struct wd_conn *c, const char *id, struct wd_wallet *out,
                         struct wd_error *err)
{
    int rc = statement(id, "get wallet", err);

    (void)c;
    if (rc < 0)
        return failed(rc);
    const struct wd_wallet *w = find_wallet(&fake.work, id);
    if (!w)
        return wd_error_set(err, -WD_E_NOT_FOUND, NULL);
    *out = *w;
    return 0;
}

/* ---- db/idem ------------------------------------------------------------------------------- */

static void store_key(struct fake_key *k, const struct wd_idem *in)
{
    snprintf(k->tenant, sizeof(k->tenant), "%s", in->tenant);
    snprintf(k->scope, sizeof(k->scope), "%s", in->scope);
    snprintf(k->key, sizeof(k->key), "%s", in->key);
    memcpy(k->hash, in->hash, WD_HASH_LEN);
    k->status = in->status;
    k->len = in->response_len < sizeof(k->response) ? in->response_len : sizeof(k->response) - 1;
    memcpy(k->response, in->response ? in->response : "", k->len);
    k->response[k->len] = '\0';
}

int wd_idem_claim(struct wd_conn *c, struct wd_idem *keys, int n, int64_t now_ms,
                  struct wd_error *err)
{
    int rc = statement(NULL, "claim keys", err);

    (void)c;
    (void)now_ms;
    if (rc < 0)
        return failed(rc);
    for (int i = 0; i < n; i++) {
        keys[i].claimed = !find_key(&fake.work, keys[i].tenant, keys[i].scope, keys[i].key);
        if (keys[i].claimed)
            store_key(&fake.work.keys[fake.work.nkeys++], &keys[i]);
    }
    return 0;
}

int wd_idem_load(struct wd_conn *c, struct wd_idem *k, struct wd_error *err)
{
    int rc = statement(NULL, "load key", err);

    (void)c;
    if (rc < 0)
        return failed(rc);
    const struct fake_key *row = find_key(&fake.work, k->tenant, k->scope, k->key);
    if (!row)
        return wd_error_set(err, -WD_E_NOT_FOUND, "idempotency key vanished");
    memcpy(k->stored_hash, row->hash, WD_HASH_LEN);
    k->status = row->status;
    k->response = malloc(row->len + 1);
    if (!k->response)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    memcpy(k->response, row->response, row->len + 1);
    k->response_len = row->len;
    return 0;
}

int wd_idem_finish(struct wd_conn *c, const struct wd_idem *keys, int n, struct wd_error *err)
{
    (void)c;
    for (int i = 0; i < n; i++) {
        int rc = statement(NULL, "finish keys", err);
        if (rc < 0)
            return failed(rc);
        struct fake_key *k = find_key(&fake.work, keys[i].tenant, keys[i].scope, keys[i].key);
        if (!k)
            return wd_error_set(err, -WD_E_DB, "fake: finish of an unclaimed key");
        store_key(k, &keys[i]);
    }
    return 0;
}
