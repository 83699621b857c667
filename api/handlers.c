/*
 * api/handlers.c - route table; money, read, health and metrics handlers.
 *
 * Every money handler is a one-liner over submit_write(): idempotency key, body, shard, submit.
 * Reads by ID go through submit_read() (path ID, shard, submit); the account's wallets and the
 * search by reference (every shard: WD_OP_ALL_SHARDS) through submit_read_op().
 */
#include "api/handlers.h"

#include "api/parse.h"
#include "api/request.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "shard/health.h"
#include "shard/map.h"
#include "shard/pick.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_refusal(struct wd_request *req, const struct wd_error *err)
{
    wd_request_reply_error(req, err->code, err->message[0] ? err->message : NULL);
}

/* The generic worker behind every POST: key, body, shard, submit. */
static void submit_write(struct wd_request *req, enum wd_op_kind kind, bool key_required)
{
    struct wd_op *op = &req->op;
    struct wd_error err = {0};
    struct wd_parse_limits limits = {req->ctx->cfg->hold_default_s, req->ctx->cfg->hold_max_s};

    if (wd_parse_idempotency_key(wd_request_header(req, "Idempotency-Key"),
                                 wd_request_header(req, "X-Idempotency-Key"), key_required, op,
                                 &err) < 0 ||
        wd_parse_body(kind, req->method, req->path, req->body, req->body_len, &limits, op, &err) <
            0) {
        reply_refusal(req, &err);
        return;
    }
    memcpy(op->tenant, req->tenant, sizeof(op->tenant));
    op->shard = wd_map_lookup(req->ctx->map, op->bucket);
    wd_server_submit(req);
}

static void create_wallet(struct wd_request *req)
{
    submit_write(req, WD_OP_CREATE_WALLET, false);
}

static void credit(struct wd_request *req)
{
    submit_write(req, WD_OP_CREDIT, true);
}

static void authorize(struct wd_request *req)
{
    submit_write(req, WD_OP_AUTHORIZE, true);
}

static void debit(struct wd_request *req)
{
    submit_write(req, WD_OP_DEBIT, true);
}

static void void_hold(struct wd_request *req)
{
    submit_write(req, WD_OP_VOID, true);
}

/*
 * X-Consistency (or ?consistency=): absent for the default, "strong" to read the primary. Any
 * other value is refused rather than read as the default: a client that asked for something
 * stronger must not get a stale answer. 0 or -WD_E_VALIDATION_ERROR.
 */
static int read_consistency(struct wd_request *req, bool *strong)
{
    const char *h = wd_request_header(req, "X-Consistency");
    const char *q = wd_request_query(req, "consistency");

    *strong = false;
    if ((h && strcmp(h, "strong") != 0) || (q && strcmp(q, "strong") != 0))
        return -WD_E_VALIDATION_ERROR;
    *strong = h || q;
    return 0;
}

/*
 * X-Consistency-Token, if sent: the position op must read at or past. A token that walletd did
 * not make, or made for another shard than the one op reads (any shard, for a search of every
 * shard), is refused. 0 or -WD_E_INVALID_CONSISTENCY_TOKEN.
 */
static int read_token(struct wd_request *req, struct wd_op *op)
{
    const char *text = wd_request_header(req, "X-Consistency-Token");
    struct wd_token token;

    op->gtid[0] = '\0';
    if (!text)
        return 0;
    if (wd_token_decode(text, req->ctx->cfg->shard_count, &token) < 0 ||
        (op->shard != WD_OP_ALL_SHARDS && token.shard != op->shard))
        return -WD_E_INVALID_CONSISTENCY_TOKEN;
    memcpy(op->gtid, token.gtid, sizeof(op->gtid));
    op->token_shard = token.shard;
    return 0;
}

/* The generic end of every read: tenant, consistency, shard, submit. */
static void submit_read_op(struct wd_request *req, enum wd_op_kind kind, int shard)
{
    struct wd_op *op = &req->op;

    op->kind = kind;
    memcpy(op->tenant, req->tenant, sizeof(op->tenant));
    op->shard = shard;
    if (read_consistency(req, &op->strong) < 0) {
        wd_request_reply_error(req, -WD_E_VALIDATION_ERROR,
                               "X-Consistency (or consistency) must be \"strong\" when sent");
        return;
    }
    if (read_token(req, op) < 0) {
        wd_request_reply_error(req, -WD_E_INVALID_CONSISTENCY_TOKEN, NULL);
        return;
    }
    wd_server_submit(req);
}

/* The generic worker behind every GET of one resource by its ID. */
static void submit_read(struct wd_request *req, enum wd_op_kind kind, enum wd_id_kind idk)
{
    const struct wd_route_param *p = &req->match.params[0];
    uint32_t bucket;

    if (wd_id_parse(p->ptr, p->len, idk, &bucket) < 0) {
        wd_request_reply_error(req, -WD_E_NOT_FOUND, NULL); /* cannot exist: no query is run */
        return;
    }
    memcpy(idk == WD_ID_WALLET ? req->op.wallet_id : req->op.txn_id, p->ptr, p->len);
    submit_read_op(req, kind, wd_map_lookup(req->ctx->map, bucket));
}

static void get_wallet(struct wd_request *req)
{
    submit_read(req, WD_OP_GET_WALLET, WD_ID_WALLET);
}

static void get_txn(struct wd_request *req)
{
    submit_read(req, WD_OP_GET_TXN, WD_ID_TXN);
}

static void get_ledger(struct wd_request *req)
{
    const struct wd_route_param *p = &req->match.params[0];
    struct wd_error err = {0};

    if (p->len < sizeof(req->op.wallet_id)) /* the cursor is bound to it; a bad ID is 404 later */
        memcpy(req->op.wallet_id, p->ptr, p->len);
    if (wd_parse_page(wd_request_query(req, "limit"), wd_request_query(req, "cursor"), &req->op,
                      &err) < 0) {
        reply_refusal(req, &err);
        return;
    }
    submit_read(req, WD_OP_LEDGER, WD_ID_WALLET);
}

static void list_wallets(struct wd_request *req)
{
    const struct wd_route_param *p = &req->match.params[0];

    if (!wd_hash_account_valid(p->ptr, p->len)) {
        wd_request_reply_error(req, -WD_E_VALIDATION_ERROR,
                               "accountId must be 1-64 characters of [A-Za-z0-9_.:-]");
        return;
    }
    memcpy(req->op.account_id, p->ptr, p->len);
    submit_read_op(req, WD_OP_LIST_WALLETS,
                   wd_map_lookup(req->ctx->map, wd_hash_bucket(p->ptr, p->len)));
}

/* GET /api/v1/transactions?referenceId=&limit=: the tenant's transactions with that reference,
 * from every shard, newest first. */
static void find_transactions(struct wd_request *req)
{
    struct wd_error err = {0};

    if (wd_parse_search(wd_request_query(req, "referenceId"), wd_request_query(req, "limit"),
                        &req->op, &err) < 0) {
        reply_refusal(req, &err);
        return;
    }
    submit_read_op(req, WD_OP_FIND_REFERENCE, WD_OP_ALL_SHARDS);
}

static void health_live(struct wd_request *req)
{
    wd_request_reply_data(req, 200, json_pack("{s:s}", "status", "live"));
}

/*
 * The probe's answer names what is down with a stable reason ("shard 1 primary: down"); the
 * dependency's own error (which may name a database user or host) goes only to the log, at most
 * every NOT_READY_LOG_S per process, since probes ask every few seconds.
 */
#define NOT_READY_LOG_S 30

static void log_not_ready(const char *reason, const char *detail)
{
    static _Atomic int64_t last_s;
    int64_t now = wd_clock_mono_ns() / 1000000000LL, was = atomic_load(&last_s);

    if ((was == 0 || now - was >= NOT_READY_LOG_S) &&
        atomic_compare_exchange_strong(&last_s, &was, now))
        wd_log_warn("not ready: %s: %s", reason, detail);
}

/* A replica as /health/ready reports it: its state, its lag, and whether it serves reads. */
static json_t *replica_check(const struct wd_health_replica *r, int max_lag_s)
{
    const char *state = !r->ok                              ? "down"
                        : !r->io_running || !r->sql_running ? "stopped"
                        : r->lag_s > max_lag_s              ? "lagging"
                                                            : "ok";

    return json_pack("{s:s, s:o, s:b}", "state", state, "lagSeconds",
                     r->lag_s >= 0 ? json_integer(r->lag_s) : json_null(), "servesReads", r->fit);
}

/* Every dependency's state as the last health check saw it: reported, whatever readiness is. */
static json_t *health_checks(const struct wd_health_status *s, int max_lag_s)
{
    json_t *checks = json_object();

    for (int i = 0; i < s->shard_count; i++) {
        char name[32];
        snprintf(name, sizeof(name), "shard%d", i);
        const char *state = !s->checked ? "pending" : s->primary_ok[i] ? "ok" : "down";
        json_object_set_new(checks, name, json_string(state));
    }
    for (int i = 0; i < s->shard_count; i++) {
        json_t *list = json_array();
        for (int r = 0; r < s->replica_count[i]; r++)
            json_array_append_new(list, replica_check(&s->replicas[i][r], max_lag_s));
        char name[32];
        snprintf(name, sizeof(name), "shard%dReplicas", i);
        json_object_set_new(checks, name, list);
    }
    json_object_set_new(checks, "redis",
                        json_string(!s->checked   ? "pending"
                                    : s->redis_ok ? "ok"
                                                  : "down"));
    return checks;
}

/* Why this pod is not ready, into why, as a stable reason (the dependency's own error, which may
 * name a database user or host, goes only to the log): draining, a worker out of connections,
 * or a shard primary never reached since start. False if it is ready. A dependency that is down
 * now after answering once does not count. */
static bool not_ready(const struct wd_health_status *s, bool draining, int full_worker, char *why,
                      size_t len)
{
    if (draining) {
        snprintf(why, len, "draining: shutting down");
        return true;
    }
    if (!s->checked) {
        snprintf(why, len, "starting: dependencies not checked yet");
        return true;
    }
    for (int i = 0; i < s->shard_count; i++) {
        if (!s->primary_reached[i]) {
            snprintf(why, len, "shard %d primary: never reached since start", i);
            log_not_ready(why, s->primary_error[i]);
            return true;
        }
    }
    if (full_worker >= 0) {
        snprintf(why, len, "connections: worker %d is at MAX_CONNECTIONS", full_worker);
        return true;
    }
    return false;
}

static void health_ready(struct wd_request *req)
{
    struct wd_health_status s;
    char why[256];

    wd_health_snapshot(req->ctx->health, &s);
    json_t *checks = health_checks(&s, req->ctx->cfg->max_replica_lag_s);
    bool draining = atomic_load(&req->ctx->draining);
    json_object_set_new(checks, "draining", json_boolean(draining));
    /* a worker out of connections cannot take this pod's share of new ones */
    int full = wd_metrics_connections_full(req->ctx->cfg->workers);
    json_object_set_new(checks, "connections", json_string(full < 0 ? "ok" : "full"));
    if (!not_ready(&s, draining, full, why, sizeof(why))) {
        wd_request_reply_data(req, 200,
                              json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
        return;
    }
    struct wd_body body = {0};
    int status = wd_error_status(-WD_E_NOT_READY);
    json_t *root = json_pack("{s:i, s:s, s:s, s:o}", "status", status, "code",
                             wd_error_name(-WD_E_NOT_READY), "message", why, "checks", checks);
    body.data = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    body.len = body.data ? strlen(body.data) : 0;
    body.status = status;
    if (!body.data) {
        wd_request_reply_error(req, -WD_E_NOT_READY, why);
        return;
    }
    wd_request_reply_body(req, &body);
}

static const char *const route_labels[] = {
    "POST /api/v1/wallets",
    "GET /api/v1/wallets/{id}",
    "GET /api/v1/wallets/{id}/ledger",
    "GET /api/v1/accounts/{id}/wallets",
    "POST /api/v1/transactions/credit",
    "POST /api/v1/transactions/authorize",
    "POST /api/v1/transactions/debit",
    "POST /api/v1/transactions/void",
    "GET /api/v1/transactions/{id}",
    "GET /api/v1/transactions",
    "GET /health/live",
    "GET /health/ready",
    "GET /metrics",
};

static const char *const kind_labels[] = {"create_wallet",   "credit",     "authorize",
                                          "capture",         "debit",      "void",
                                          "expire",          "get_wallet", "list_wallets",
                                          "get_transaction", "ledger",     "find_by_reference"};

static void metrics(struct wd_request *req)
{
    const char *reasons[WD_PICK_REASON_COUNT];
    const struct wd_config *cfg = req->ctx->cfg;
    int replicas[WD_MAX_SHARDS];
    struct wd_metrics_labels labels = {
        route_labels,     sizeof(route_labels) / sizeof(*route_labels),
        kind_labels,      sizeof(kind_labels) / sizeof(*kind_labels),
        reasons,          WD_PICK_REASON_COUNT,
        cfg->shard_count, replicas};
    struct wd_body body = {0};

    for (int i = 0; i < cfg->shard_count; i++)
        replicas[i] = cfg->shards[i].replica_count;
    for (int r = 0; r < WD_PICK_REASON_COUNT; r++)
        reasons[r] = wd_pick_reason_name(r);

    body.data = wd_metrics_render(&labels, &body.len);
    body.status = 200;
    if (!body.data) {
        wd_request_reply_error(req, -WD_E_NOMEM, NULL);
        return;
    }
    req->content_type = "text/plain; version=0.0.4; charset=utf-8";
    wd_request_reply_body(req, &body);
}

#define AUTH_BODY (WD_ROUTER_AUTH | WD_ROUTER_BODY)

/* Same order as route_labels. */
const struct wd_route wd_handlers_routes[] = {
    {"POST", "/api/v1/wallets", create_wallet, AUTH_BODY},
    {"GET", "/api/v1/wallets/{}", get_wallet, WD_ROUTER_AUTH},
    {"GET", "/api/v1/wallets/{}/ledger", get_ledger, WD_ROUTER_AUTH},
    {"GET", "/api/v1/accounts/{}/wallets", list_wallets, WD_ROUTER_AUTH},
    {"POST", "/api/v1/transactions/credit", credit, AUTH_BODY},
    {"POST", "/api/v1/transactions/authorize", authorize, AUTH_BODY},
    {"POST", "/api/v1/transactions/debit", debit, AUTH_BODY},
    {"POST", "/api/v1/transactions/void", void_hold, AUTH_BODY},
    {"GET", "/api/v1/transactions/{}", get_txn, WD_ROUTER_AUTH},
    {"GET", "/api/v1/transactions", find_transactions, WD_ROUTER_AUTH},
    {"GET", "/health/live", health_live, WD_ROUTER_OPS},
    {"GET", "/health/ready", health_ready, WD_ROUTER_OPS},
    {"GET", "/metrics", metrics, WD_ROUTER_OPS},
};

const size_t wd_handlers_route_count = sizeof(wd_handlers_routes) / sizeof(wd_handlers_routes[0]);

_Static_assert(sizeof(wd_handlers_routes) / sizeof(wd_handlers_routes[0]) ==
                   sizeof(route_labels) / sizeof(route_labels[0]),
               "every route has a metrics label");
_Static_assert(WD_PICK_REASON_COUNT <= WD_METRICS_REASONS, "every read reason has a counter");
_Static_assert(sizeof(kind_labels) / sizeof(kind_labels[0]) == WD_OP_KIND_COUNT,
               "every op kind has a metrics label");
