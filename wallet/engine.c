/*
 * wallet/engine.c - queues and threads: writers run group commits (wallet/batch), readers run
 * reads (wallet/read); a search by reference is queued on every shard (wallet/search).
 */
#define _GNU_SOURCE
#include "wallet/engine.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/conn.h"
#include "wallet/batch.h"
#include "wallet/inflight.h"
#include "wallet/read.h"
#include "wallet/search.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 20000

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
    struct wd_read_conns conns; /* writers use the primary's; readers every server's */
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
    struct wd_health *health; /* which replicas may serve reads; borrowed */
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

/* Moves queued ops to out[n..max) without waiting; returns the new count. Locked by caller. */
static int queue_pop_locked(struct queue *q, struct wd_op **out, int n, int max)
{
    while (q->head && n < max) {
        out[n++] = q->head;
        q->head = q->head->next;
        q->len--;
    }
    if (!q->head)
        q->tail = NULL;
    return n;
}

/* Takes up to max ops, waiting while the queue is empty. 0 ops means: stop. Locked by caller. */
static int queue_take_locked(struct queue *q, struct wd_op **out, int max)
{
    while (!q->head && !q->stopping)
        pthread_cond_wait(&q->cv, &q->mu);
    if (q->stopping)
        return 0; /* whatever is left is answered by wd_engine_shutdown */
    return queue_pop_locked(q, out, 0, max);
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
    return queue_pop_locked(q, out, n, max);
}

static void complete(struct wd_engine *e, struct wd_op *op)
{
    if (op->has_idem)
        wd_inflight_remove(e->inflight, op->tenant, wd_op_key_scope(op), op->idem_key);
    op->done(op);
}

/* ops[0..n) could not run (no memory for a batch): nothing of them was written. */
static void fail_ops(struct wd_op **ops, int n, int code)
{
    for (int i = 0; i < n; i++) {
        wd_envelope_release(&ops[i]->reply);
        wd_envelope_error(&ops[i]->reply, code, NULL);
        ops[i]->replayed = false;
    }
}

/*
 * A writer: takes what has queued (up to BATCH_MAX) and runs it as one group commit. Its batch
 * scratch is allocated when first needed; a writer that cannot get one answers the ops it took
 * with 500 and tries again for the next ones, so its queue never stops draining.
 */
static void *writer_main(void *arg)
{
    struct exec_thread *t = arg;
    struct shard_exec *s = t->shard;
    const struct wd_config *cfg = s->engine->cfg;
    struct wd_batch *batch = NULL;
    struct wd_op *ops[WD_BATCH_MAX];

    for (;;) {
        pthread_mutex_lock(&s->writes.mu);
        int n = queue_take_locked(&s->writes, ops, cfg->batch_max);
        if (n > 0 && n < cfg->batch_max && cfg->batch_window_us > 0)
            n = queue_top_up_locked(&s->writes, ops, n, cfg->batch_max, cfg->batch_window_us);
        atomic_store(&t->busy, n > 0);
        pthread_mutex_unlock(&s->writes.mu);
        if (n == 0)
            break;
        if (!batch && !(batch = wd_batch_new(cfg->resolve_timeout_s))) {
            wd_log_error("shard %d writer: out of memory: %d operations answered 500", s->index, n);
            fail_ops(ops, n, -WD_E_NOMEM);
        } else {
            wd_metrics_db_conns(1, 0);
            wd_batch_run(batch, &t->conns.primary, ops, n);
            wd_metrics_db_conns(-1, 0);
        }
        for (int i = 0; i < n; i++)
            complete(s->engine, ops[i]);
        atomic_store(&t->busy, false);
    }
    wd_batch_free(batch);
    return NULL;
}

/* ---- reads ------------------------------------------------------------------------------- */

/* A search by reference reads every shard: one part per shard's read queue (wallet/search). */
static int submit_search(struct wd_engine *e, struct wd_op *op, struct wd_error *err)
{
    struct wd_search *sr = wd_search_new(op, e->nshards);
    int queued = 0;

    if (!sr)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    for (int i = 0; i < e->nshards; i++) {
        if (queue_push(&e->shards[i].reads, wd_search_part(sr, i)) == 0)
            queued++;
        else
            wd_search_fail_part(sr, i, -WD_E_SERVICE_UNAVAILABLE);
    }
    if (queued == 0) {
        wd_search_free(sr);
        return wd_error_set(err, -WD_E_SERVICE_UNAVAILABLE, "server is overloaded or stopping");
    }
    wd_search_release(sr);
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
        wd_read_run(&t->conns, s->engine->health, op);
        wd_metrics_db_conns(-1, 0);
        complete(s->engine, op);
        atomic_store(&t->busy, false);
    }
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* A thread's connections: a writer's to the primary (transactional); a reader's to the primary
 * and to every replica of the shard (read-only). */
static void init_conns(struct shard_exec *s, struct wd_read_conns *rc, bool writer)
{
    const struct wd_config *cfg = s->engine->cfg;
    const struct wd_shard_config *sc = &cfg->shards[s->index];
    char label[48];

    snprintf(label, sizeof(label), "shard%d-primary", s->index);
    wd_conn_init(&rc->primary, &sc->primary, label,
                 writer ? WD_CONN_TRANSACTIONAL : WD_CONN_READ_ONLY, cfg->db_connect_timeout_s,
                 cfg->db_query_timeout_s);
    rc->nreplicas = writer ? 0 : sc->replica_count;
    for (int r = 0; r < rc->nreplicas; r++) {
        snprintf(label, sizeof(label), "shard%d-replica%d", s->index, r);
        wd_conn_init(&rc->replicas[r], &sc->replicas[r], label, WD_CONN_READ_ONLY,
                     cfg->db_connect_timeout_s, cfg->db_query_timeout_s);
    }
}

static int start_threads(struct shard_exec *s, struct exec_thread *threads, int n, bool writer,
                         struct wd_error *err)
{
    for (int i = 0; i < n; i++) {
        struct exec_thread *t = &threads[i];
        t->shard = s;
        init_conns(s, &t->conns, writer);
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
        struct wd_read_conns *rc = &threads[i].conns;
        if (!threads[i].started || !atomic_load(&threads[i].busy))
            continue;
        wd_conn_interrupt(&rc->primary);
        for (int r = 0; r < rc->nreplicas; r++)
            wd_conn_interrupt(&rc->replicas[r]);
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
    for (int i = 0; threads && i < n; i++) {
        wd_conn_release(&threads[i].conns.primary);
        for (int r = 0; r < threads[i].conns.nreplicas; r++)
            wd_conn_release(&threads[i].conns.replicas[r]);
    }
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

int wd_engine_start(struct wd_engine **out, const struct wd_config *cfg, struct wd_health *health,
                    struct wd_error *err)
{
    struct wd_engine *e = calloc(1, sizeof(*e));

    if (!e)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    e->cfg = cfg;
    e->health = health;
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
    if (op->kind == WD_OP_FIND_REFERENCE)
        return submit_search(e, op, err);
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
