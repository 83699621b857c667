/*
 * wallet/engine.c - queues and threads: writers run group commits, readers run reads.
 */
#define _GNU_SOURCE
#include "wallet/engine.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/conn.h"
#include "db/ledger.h"
#include "wallet/batch.h"
#include "wallet/inflight.h"
#include "wallet/render.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 20000
#define LIST_MAX  1000

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct wd_op *head, *tail;
    int len;
    bool stopping;
};

struct shard_exec;

struct exec_thread {
    pthread_t tid;
    struct shard_exec *shard;
    struct wd_conn conn;
    bool started;
    atomic_bool busy; /* holds ops taken from its queue; set under the queue's lock */
};

struct shard_exec {
    struct wd_engine *engine;
    int index;
    struct queue writes, reads;
    struct exec_thread *writers, *readers;
    int nwriters, nreaders;
};

struct wd_engine {
    const struct wd_config *cfg;
    int nshards;
    struct shard_exec *shards;
    struct wd_inflight *inflight;
};

static void queue_init(struct queue *q)
{
    memset(q, 0, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

static void queue_destroy(struct queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

static int queue_push(struct queue *q, struct wd_op *op)
{
    pthread_mutex_lock(&q->mu);
    if (q->stopping || q->len >= QUEUE_MAX) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    op->next = NULL;
    op->enqueued_ns = wd_clock_mono_ns();
    if (q->tail)
        q->tail->next = op;
    else
        q->head = op;
    q->tail = op;
    q->len++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

/* Takes up to max ops, waiting while the queue is empty. 0 ops means: stop. Locked by caller. */
static int queue_take_locked(struct queue *q, struct wd_op **out, int max)
{
    int n = 0;

    while (!q->head && !q->stopping)
        pthread_cond_wait(&q->cv, &q->mu);
    if (q->stopping)
        return 0; /* whatever is left is answered by wd_engine_shutdown */
    while (q->head && n < max) {
        out[n++] = q->head;
        q->head = q->head->next;
        q->len--;
    }
    if (!q->head)
        q->tail = NULL;
    return n;
}

/* Waits up to window_us for the batch to fill, then takes more. Locked by caller. */
static int queue_top_up_locked(struct queue *q, struct wd_op **out, int n, int max, int window_us)
{
    struct timespec deadline;

    wd_clock_deadline(&deadline, window_us);
    while (q->len < max - n && !q->stopping) {
        if (pthread_cond_timedwait(&q->cv, &q->mu, &deadline) != 0)
            break;
    }
    while (q->head && n < max) {
        out[n++] = q->head;
        q->head = q->head->next;
        q->len--;
    }
    if (!q->head)
        q->tail = NULL;
    return n;
}

static void complete(struct wd_engine *e, struct wd_op *op)
{
    if (op->has_idem)
        wd_inflight_remove(e->inflight, op->tenant, wd_op_key_scope(op), op->idem_key);
    op->done(op);
}

static void *writer_main(void *arg)
{
    struct exec_thread *t = arg;
    struct shard_exec *s = t->shard;
    const struct wd_config *cfg = s->engine->cfg;
    struct wd_batch *batch = wd_batch_new(cfg->resolve_timeout_s);
    struct wd_op *ops[WD_BATCH_MAX];

    if (!batch) {
        wd_log_error("shard %d writer: out of memory", s->index);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&s->writes.mu);
        int n = queue_take_locked(&s->writes, ops, cfg->batch_max);
        if (n > 0 && n < cfg->batch_max && cfg->batch_window_us > 0)
            n = queue_top_up_locked(&s->writes, ops, n, cfg->batch_max, cfg->batch_window_us);
        atomic_store(&t->busy, n > 0);
        pthread_mutex_unlock(&s->writes.mu);
        if (n == 0)
            break;
        wd_metrics_db_conns(1, 0);
        wd_batch_run(batch, &t->conn, ops, n);
        wd_metrics_db_conns(-1, 0);
        for (int i = 0; i < n; i++)
            complete(s->engine, ops[i]);
        atomic_store(&t->busy, false);
    }
    wd_batch_free(batch);
    return NULL;
}

/* ---- reads --------------------------------------------------------------------------------- */

static int read_wallet(struct wd_conn *c,
                       struct wd_op *op,
                       struct wd_wallet *w,
                       struct wd_error *err)
{
    int rc = wd_ledger_get_wallet(c, op->wallet_id, w, err);

    if (rc == 0 && strcmp(w->tenant, op->tenant) != 0)
        rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL); /* never reveal another tenant's wallet */
    return rc;
}

static int read_list(struct wd_conn *c, struct wd_op *op, json_t **data, struct wd_error *err)
{
    struct wd_wallet *rows = malloc(LIST_MAX * sizeof(*rows));
    int n = 0;

    if (!rows)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = wd_ledger_list_wallets(c, op->tenant, op->account_id, rows, LIST_MAX, &n, err);
    if (rc == 0) {
        json_t *list = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(list, wd_render_wallet(&rows[i]));
        *data = json_pack("{s:s, s:o}", "accountId", op->account_id, "wallets", list);
    }
    free(rows);
    return rc;
}

static int read_page(struct wd_conn *c, struct wd_op *op, json_t **data, struct wd_error *err)
{
    struct wd_wallet w;
    int rc = read_wallet(c, op, &w, err);

    if (rc < 0)
        return rc;
    struct wd_entry *rows = malloc((size_t)(op->limit + 1) * sizeof(*rows));
    int n = 0;
    if (!rows)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    rc = wd_ledger_page(c, op->wallet_id, op->cursor, rows, op->limit + 1, &n, err);
    if (rc == 0) {
        json_t *list = json_array();
        for (int i = 0; i < n && i < op->limit; i++)
            json_array_append_new(list, wd_render_entry(&rows[i]));
        char cursor[32];
        json_t *next = json_null();
        if (n > op->limit) {
            wd_render_cursor(rows[op->limit - 1].id, cursor);
            json_decref(next);
            next = json_string(cursor);
        }
        *data = json_pack("{s:s, s:o, s:o}", "walletId", op->wallet_id, "entries", list,
                          "nextCursor", next);
    }
    free(rows);
    return rc;
}

/* One shard's part of a search by reference (see search_submit): the op a reader runs, and the
 * rows it found, kept as rows until the parts are merged. */
struct search_part {
    struct wd_op op; /* first: readers are handed &part->op */
    struct wd_txn *rows;
    int n;
};

/* Reads one shard's rows of a search: at most limit + 1, so the merge knows if there are more. */
static int read_reference(struct wd_conn *c, struct search_part *part, struct wd_error *err)
{
    struct wd_op *op = &part->op;

    if (!part->rows && !(part->rows = malloc((size_t)(op->limit + 1) * sizeof(*part->rows))))
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    return wd_ledger_find_by_reference(c, op->tenant, op->reference_id, part->rows, op->limit + 1,
                                       &part->n, err);
}

static int run_read_once(struct wd_conn *c, struct wd_op *op, json_t **data, struct wd_error *err)
{
    struct wd_wallet w;
    struct wd_txn t;
    int rc;

    switch (op->kind) {
    case WALLET_OP_GET_WALLET:
        rc = read_wallet(c, op, &w, err);
        if (rc == 0)
            *data = wd_render_wallet(&w);
        return rc;
    case WALLET_OP_GET_TXN:
        rc = wd_ledger_get_txn(c, op->txn_id, &t, err);
        if (rc == 0 && strcmp(t.tenant, op->tenant) != 0)
            rc = wd_error_set(err, -WD_E_NOT_FOUND, NULL);
        if (rc == 0)
            *data = wd_render_txn(&t);
        return rc;
    case WALLET_OP_LIST_WALLETS:
        return read_list(c, op, data, err);
    case WALLET_OP_LEDGER:
        return read_page(c, op, data, err);
    case WALLET_OP_FIND_REFERENCE: /* no reply: the rows stay with the part */
        return read_reference(c, (struct search_part *)op, err);
    default:
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "not a read");
    }
}

static void run_read(struct wd_conn *c, struct wd_op *op)
{
    struct wd_error err = {0};
    json_t *data = NULL;
    int rc = run_read_once(c, op, &data, &err);

    if (rc == -WD_E_DB_UNAVAILABLE && !c->mysql) /* a stale connection: one fresh try */
        rc = run_read_once(c, op, &data, &err);
    wd_envelope_release(&op->reply);
    if (rc == 0 && op->kind == WALLET_OP_FIND_REFERENCE)
        return;
    if (rc == 0)
        rc = wd_envelope_success(&op->reply, 200, data);
    if (rc < 0) {
        if (wd_error_status(rc) >= 500)
            wd_log_warn("read failed: %s", err.message);
        wd_envelope_error(&op->reply, rc, NULL);
    }
}

/* ---- reads of every shard ------------------------------------------------------------------ */

/*
 * A search by reference: the transactions can be on any shard, so one part per shard goes on
 * that shard's read queue at once, and whoever finishes last (a reader, or the submitter if the
 * readers were quicker) merges the rows (newest first, at most limit) and completes the caller's
 * op. If any shard fails, the search fails: a partial answer would look like a complete one.
 */
struct search {
    struct wd_op *parent;
    atomic_int pending; /* parts not finished, plus one held by the submitter */
    int nparts;
    struct search_part parts[];
};

/* The SQL's own order: created_at DESC, id DESC. */
static int txn_newer_first(const void *a, const void *b)
{
    const struct wd_txn *x = *(const struct wd_txn *const *)a;
    const struct wd_txn *y = *(const struct wd_txn *const *)b;

    if (x->created_ms != y->created_ms)
        return x->created_ms < y->created_ms ? 1 : -1;
    return strcmp(y->id, x->id);
}

/* The parent's reply: the first part's failure, or the merged rows. */
static void search_merge(struct search *sr)
{
    struct wd_op *op = sr->parent;
    int total = 0;

    wd_envelope_release(&op->reply);
    for (int i = 0; i < sr->nparts; i++) {
        struct wd_op *part = &sr->parts[i].op;
        if (part->reply.data) { /* an error envelope: taken over */
            op->reply = part->reply;
            memset(&part->reply, 0, sizeof(part->reply));
            return;
        }
        total += sr->parts[i].n;
    }
    const struct wd_txn **all = malloc((size_t)(total ? total : 1) * sizeof(*all));
    if (!all) {
        wd_envelope_error(&op->reply, -WD_E_NOMEM, NULL);
        return;
    }
    int n = 0;
    for (int i = 0; i < sr->nparts; i++)
        for (int j = 0; j < sr->parts[i].n; j++)
            all[n++] = &sr->parts[i].rows[j];
    qsort(all, (size_t)n, sizeof(*all), txn_newer_first);
    json_t *list = json_array();
    for (int i = 0; i < n && i < op->limit; i++)
        json_array_append_new(list, wd_render_txn(all[i]));
    free(all);
    json_t *data = json_pack("{s:s, s:o, s:b}", "referenceId", op->reference_id, "transactions",
                             list, "hasMore", n > op->limit);
    if (!data || wd_envelope_success(&op->reply, 200, data) < 0)
        wd_envelope_error(&op->reply, -WD_E_NOMEM, NULL);
}

static void search_free(struct search *sr)
{
    for (int i = 0; i < sr->nparts; i++) {
        free(sr->parts[i].rows);
        wd_envelope_release(&sr->parts[i].op.reply);
    }
    free(sr);
}

/* Drops one count; the last one merges and completes the parent. */
static void search_release(struct search *sr)
{
    if (atomic_fetch_sub(&sr->pending, 1) != 1)
        return;
    struct wd_op *parent = sr->parent;
    search_merge(sr);
    search_free(sr);
    parent->done(parent);
}

static void search_part_done(struct wd_op *part)
{
    search_release(part->arg);
}

static int search_submit(struct wd_engine *e, struct wd_op *op, struct wd_error *err)
{
    struct search *sr = calloc(1, sizeof(*sr) + (size_t)e->nshards * sizeof(sr->parts[0]));
    int queued = 0;

    if (!sr)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    sr->parent = op;
    sr->nparts = e->nshards;
    atomic_init(&sr->pending, e->nshards + 1);
    for (int i = 0; i < sr->nparts; i++) {
        struct wd_op *part = &sr->parts[i].op;
        memcpy(part->tenant, op->tenant, sizeof(part->tenant));
        memcpy(part->reference_id, op->reference_id, sizeof(part->reference_id));
        part->kind = op->kind;
        part->limit = op->limit;
        part->strong = op->strong;
        part->shard = i;
        part->done = search_part_done;
        part->arg = sr;
    }
    for (int i = 0; i < sr->nparts; i++) {
        struct wd_op *part = &sr->parts[i].op;
        if (queue_push(&e->shards[i].reads, part) == 0) {
            queued++;
            continue;
        }
        wd_envelope_error(&part->reply, -WD_E_SERVICE_UNAVAILABLE, NULL);
        atomic_fetch_sub(&sr->pending, 1); /* never the last: the submitter still holds one */
    }
    if (queued == 0) {
        search_free(sr);
        return wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "server is overloaded or stopping");
    }
    search_release(sr);
    return 0;
}

static void *reader_main(void *arg)
{
    struct exec_thread *t = arg;
    struct shard_exec *s = t->shard;
    struct wd_op *op;

    for (;;) {
        pthread_mutex_lock(&s->reads.mu);
        int n = queue_take_locked(&s->reads, &op, 1);
        atomic_store(&t->busy, n > 0);
        pthread_mutex_unlock(&s->reads.mu);
        if (n == 0)
            break;
        wd_metrics_db_conns(1, 0);
        run_read(&t->conn, op);
        wd_metrics_db_conns(-1, 0);
        complete(s->engine, op);
        atomic_store(&t->busy, false);
    }
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int start_threads(
    struct shard_exec *s, struct exec_thread *threads, int n, bool writer, struct wd_error *err)
{
    const struct wd_config *cfg = s->engine->cfg;
    const struct wd_shard_config *sc = &cfg->shards[s->index];
    char label[48];

    snprintf(label, sizeof(label), "shard%d-primary", s->index);
    for (int i = 0; i < n; i++) {
        struct exec_thread *t = &threads[i];
        t->shard = s;
        /* Reads use the primary until replica routing (with lag awareness) lands. */
        wd_conn_init(&t->conn, &sc->primary, label, writer ? WD_CONN_TRANSACTIONAL : 0,
                     cfg->db_connect_timeout_s, cfg->db_query_timeout_s);
        if (pthread_create(&t->tid, NULL, writer ? writer_main : reader_main, t) != 0)
            return wd_error_set(err, -WD_E_INTERNAL_ERROR, "cannot start a thread");
        t->started = true;
    }
    wd_metrics_db_conns(0, n);
    return 0;
}

static int shard_start(struct wd_engine *e, struct shard_exec *s, int index, struct wd_error *err)
{
    s->engine = e;
    s->index = index;
    queue_init(&s->writes);
    queue_init(&s->reads);
    s->nwriters = e->cfg->db_pool_size;
    s->nreaders = e->cfg->db_read_pool_size;
    s->writers = calloc((size_t)s->nwriters, sizeof(*s->writers));
    s->readers = calloc((size_t)s->nreaders, sizeof(*s->readers));
    if (!s->writers || !s->readers)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = start_threads(s, s->writers, s->nwriters, true, err);
    if (rc == 0)
        rc = start_threads(s, s->readers, s->nreaders, false, err);
    return rc;
}

/* Closes q to new ops and answers the ones still queued: none of them ran, so 503
 * SERVICE_UNAVAILABLE says the truth (nothing was done). */
static void stop_queue(struct wd_engine *e, struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    struct wd_op *left = q->head;
    q->head = q->tail = NULL;
    q->len = 0;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    while (left) {
        struct wd_op *op = left;
        left = op->next;
        wd_envelope_release(&op->reply);
        wd_envelope_error(&op->reply, -WD_E_SERVICE_UNAVAILABLE, "server is stopping");
        op->replayed = false;
        complete(e, op);
    }
}

/* Breaks off the database work of every thread that holds ops (their queues are stopped, so no
 * thread takes new ones), then waits for all of them. */
static void end_threads(struct exec_thread *threads, int n)
{
    for (int i = 0; threads && i < n; i++) {
        if (threads[i].started && atomic_load(&threads[i].busy))
            wd_conn_interrupt(&threads[i].conn);
    }
    for (int i = 0; threads && i < n; i++) {
        if (threads[i].started)
            pthread_join(threads[i].tid, NULL);
        threads[i].started = false;
    }
}

static void shard_shutdown(struct shard_exec *s)
{
    if (!s->engine)
        return;
    stop_queue(s->engine, &s->writes);
    stop_queue(s->engine, &s->reads);
    end_threads(s->writers, s->nwriters);
    end_threads(s->readers, s->nreaders);
}

static void release_threads(struct exec_thread *threads, int n)
{
    for (int i = 0; threads && i < n; i++)
        wd_conn_release(&threads[i].conn);
    free(threads);
}

static void shard_free(struct shard_exec *s)
{
    if (!s->engine)
        return;
    release_threads(s->writers, s->nwriters);
    release_threads(s->readers, s->nreaders);
    queue_destroy(&s->writes);
    queue_destroy(&s->reads);
}

int wd_engine_start(struct wd_engine **out, const struct wd_config *cfg, struct wd_error *err)
{
    struct wd_engine *e = calloc(1, sizeof(*e));

    if (!e)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    e->cfg = cfg;
    e->nshards = cfg->shard_count;
    e->shards = calloc((size_t)e->nshards, sizeof(*e->shards));
    e->inflight = wd_inflight_new();
    if (!e->shards || !e->inflight) {
        wd_engine_free(e);
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    }
    for (int i = 0; i < e->nshards; i++) {
        int rc = shard_start(e, &e->shards[i], i, err);
        if (rc < 0) {
            wd_engine_free(e);
            return rc;
        }
    }
    *out = e;
    return 0;
}

int wd_engine_submit(struct wd_engine *e, struct wd_op *op, struct wd_error *err)
{
    if (op->kind == WALLET_OP_FIND_REFERENCE)
        return search_submit(e, op, err);
    if (op->shard < 0 || op->shard >= e->nshards)
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "op for unknown shard %d", op->shard);
    if (op->has_idem &&
        !wd_inflight_add(e->inflight, op->tenant, wd_op_key_scope(op), op->idem_key))
        return wd_error_set(err, -WD_E_IDEMPOTENCY_KEY_IN_PROGRESS, NULL);
    memset(&op->memo, 0, sizeof(op->memo));
    struct shard_exec *s = &e->shards[op->shard];
    if (queue_push(wd_op_is_write(op->kind) ? &s->writes : &s->reads, op) < 0) {
        if (op->has_idem)
            wd_inflight_remove(e->inflight, op->tenant, wd_op_key_scope(op), op->idem_key);
        return wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "server is overloaded or stopping");
    }
    return 0;
}

void wd_engine_shutdown(struct wd_engine *e)
{
    for (int i = 0; e && e->shards && i < e->nshards; i++)
        shard_shutdown(&e->shards[i]);
}

void wd_engine_free(struct wd_engine *e)
{
    if (!e)
        return;
    wd_engine_shutdown(e);
    for (int i = 0; e->shards && i < e->nshards; i++)
        shard_free(&e->shards[i]);
    free(e->shards);
    wd_inflight_free(e->inflight);
    free(e);
}
