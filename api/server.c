/*
 * api/server.c - libmicrohttpd daemon, request lifecycle, suspend/resume and the access log.
 *
 * Lifecycle of a request (libmicrohttpd calls access_cb several times per request):
 *   1st call    allocate struct wd_request, set *con_cls, return (never queue here: libmicrohttpd
 *               0.9.75 would then answer "Connection: close" and lose keep-alive; the one
 *               exception, 400 MALFORMED_REQUEST, is queued here on purpose to close it)
 *   body calls  append to req->body up to MAX_BODY_BYTES, then discard and remember 413
 *   last call   route, authenticate, rate-limit, validate and run the handler; it either replies at
 *               once or submits an op, in which case the connection is suspended first and the
 *               engine resumes it; the next call queues the reply
 *   completed   request_completed_cb logs, counts and frees
 */
#define _GNU_SOURCE
#include "api/server.h"

#include "core/text.h"

#include "api/auth.h"
#include "api/authfail.h"
#include "api/deadline.h"
#include "api/edge.h"
#include "api/ratelimit.h"
#include "api/handlers.h"
#include "api/request.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "wallet/engine.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEADLINE_TICK_MS 250

struct wd_server {
    struct MHD_Daemon *daemon;
    struct wd_context *ctx;
    bool admin;                    /* the ADMIN_PORT face: probes and /metrics only */
    struct wd_server *admin_face;  /* owned by the public face; NULL without ADMIN_PORT */
    struct wd_authfail *authfail;  /* owned by the public face, shared */
    struct wd_deadline *deadlines; /* the same */
    atomic_int inflight;
    atomic_int suspended; /* connections suspended and not yet called again */
};

/* One connection (libmicrohttpd's socket context): its deadline, and what its current request's
 * line held. */
struct conn {
    struct wd_deadline_entry deadline;
    bool idle;                   /* answered, waiting for its next request */
    const char *uri;             /* the request line's URI, as libmicrohttpd first saw it */
    struct wd_edge_escapes path; /* what decoding the path found */
    struct wd_edge_escapes args; /* ... and the query arguments */
};

static int64_t after_s(int seconds)
{
    return wd_clock_mono_ns() + (int64_t)seconds * 1000000000LL;
}

static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return info ? info->socket_context : NULL;
}

/* A connection opens: its first request must be in within REQUEST_TIMEOUT_SECONDS. It closes:
 * out of the deadline set before libmicrohttpd closes its descriptor. */
static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    struct wd_server *s = cls;
    struct conn *conn = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn = calloc(1, sizeof(*conn)); /* NULL: the request is refused (edge_refusal) */
        if (conn && fd)
            wd_deadline_add(s->deadlines, &conn->deadline, fd->connect_fd,
                            after_s(s->ctx->cfg->request_timeout_s));
        *socket_context = conn;
        if (!s->admin)
            wd_metrics_connections(s->ctx->worker_index, 1);
        return;
    }
    if (conn && conn->deadline.fd > 0)
        wd_deadline_remove(s->deadlines, &conn->deadline);
    free(conn);
    *socket_context = NULL;
    if (!s->admin)
        wd_metrics_connections(s->ctx->worker_index, -1);
}

/* The request is in (or refused): no deadline while it is answered. */
static void request_received(struct MHD_Connection *c)
{
    struct conn *conn = conn_of(c);

    if (conn)
        wd_deadline_set(&conn->deadline, 0);
}

/* A request line has arrived: a new request on this connection. */
static void *request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct conn *conn = conn_of(c);
    struct wd_server *s = cls;

    if (conn) {
        if (conn->idle) /* a keep-alive connection's next request: its own deadline */
            wd_deadline_set(&conn->deadline, after_s(s->ctx->cfg->request_timeout_s));
        conn->idle = false;
        conn->uri = uri;
        memset(&conn->path, 0, sizeof(conn->path));
        memset(&conn->args, 0, sizeof(conn->args));
    }
    return NULL; /* access_cb allocates the request on its first call */
}

/* libmicrohttpd decodes the path (at the URI's start, in place) and each query key and value. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    struct conn *conn = conn_of(c);
    struct wd_edge_escapes found = {0};
    size_t len = wd_edge_unescape(s, &found);

    (void)cls;
    if (!conn) {
        return len;
    }
    struct wd_edge_escapes *where = s == conn->uri ? &conn->path : &conn->args;
    where->nul |= found.nul;
    where->slash |= found.slash;
    return len;
}

/* Engine thread: the op is finished; take its reply and wake the connection. */
static void on_op_done(struct wd_op *op)
{
    struct wd_request *req = op->arg;

    req->replayed = op->replayed;
    wd_request_reply_body(req, &op->reply);
    MHD_resume_connection(req->conn);
}

void wd_server_submit(struct wd_request *req)
{
    struct wd_error err = {0};

    req->op.done = on_op_done;
    req->op.arg = req;
    atomic_store_explicit(&req->state, WD_REQUEST_WAITING, memory_order_release);
    /* Suspend before submitting: the engine may finish (and resume) before we return. */
    atomic_fetch_add(&req->server->suspended, 1);
    req->awaiting_resume = true;
    MHD_suspend_connection(req->conn);
    req->suspended = true;
    if (wd_engine_submit(req->ctx->engine, &req->op, &err) < 0) {
        wd_request_reply_error(req, err.code, err.message);
        MHD_resume_connection(req->conn);
    }
}

struct framing {
    int content_lengths;
    const char *first_length;
    bool length_conflict;
    bool transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (f->content_lengths++ && (!value || !f->first_length || strcmp(value, f->first_length)))
            f->length_conflict = true;
        else
            f->first_length = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding = true;
    }
    return MHD_YES;
}

/*
 * RFC 9112 6.3: a request whose length is ambiguous (two different Content-Lengths, or
 * Content-Length with Transfer-Encoding) must be refused and its connection closed, or a proxy
 * that reads the length differently could smuggle a second request past it.
 */
static bool framing_ambiguous(struct MHD_Connection *conn)
{
    struct framing f = {0};

    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    return f.length_conflict || (f.transfer_encoding && f.content_lengths > 0);
}

#define HEADERS_MAX 64 /* more headers than this is refused: no API client sends that many */

struct header_list {
    struct wd_edge_header h[HEADERS_MAX];
    size_t n;
    bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    struct header_list *list = cls;

    (void)kind;
    if (list->n == HEADERS_MAX) {
        list->overflow = true;
        return MHD_NO;
    }
    list->h[list->n++] = (struct wd_edge_header){key, key_size, value, value_size};
    return MHD_YES;
}

/* Why the request must be refused before anything else looks at it (api/edge.h), or NULL. */
static const char *edge_refusal(struct MHD_Connection *c, const char *version)
{
    struct conn *conn = conn_of(c);
    struct header_list list;

    if (!conn)
        return "out of memory";
    if (conn->path.nul || conn->path.slash)
        return "the path holds an encoded NUL or slash";
    if (conn->args.nul)
        return "a query argument holds an encoded NUL";
    list.n = 0;
    list.overflow = false;
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_header, &list);
    if (list.overflow)
        return "too many headers";
    const char *why = wd_edge_check_headers(version, list.h, list.n);
    if (why)
        return why;
    return framing_ambiguous(c) ? "conflicting Content-Length or Transfer-Encoding headers" : NULL;
}

static struct wd_request *request_new(struct wd_server *s, struct MHD_Connection *conn,
                                      const char *url, const char *method)
{
    struct wd_request *req = calloc(1, sizeof(*req));

    if (!req)
        return NULL;
    req->ctx = s->ctx;
    req->server = s;
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->start_ns = wd_clock_mono_ns();
    const char *id = wd_request_header(req, "X-Request-Id");
    if (id && wd_text_valid(id, strlen(id), WD_REQUEST_ID_MAX, WD_TEXT_ID)) {
        memcpy(req->request_id, id, strlen(id) + 1);
    } else {
        unsigned char raw[16];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(req->request_id, sizeof(req->request_id), raw, sizeof(raw));
    }
    atomic_fetch_add(&s->inflight, 1);
    return req;
}

static void append_body(struct wd_request *req, const char *data, size_t len)
{
    size_t max = req->ctx->cfg->max_body_bytes;

    if (req->body_too_large || len > max - req->body_len) {
        req->body_too_large = true; /* keep reading and discarding; answer 413 at the end */
        return;
    }
    if (!req->body) {
        req->body = malloc(max + 1);
        if (!req->body) {
            req->body_too_large = true;
            return;
        }
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
}

static bool content_type_is_json(const char *value)
{
    static const char json[] = "application/json";

    if (!value || strncasecmp(value, json, sizeof(json) - 1) != 0)
        return false;
    char next = value[sizeof(json) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* True if a body follows the headers (libmicrohttpd has checked Content-Length's digits). */
static bool body_follows(struct wd_request *req)
{
    const char *length = wd_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);

    return wd_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
           (length && strtoll(length, NULL, 10) > 0);
}

/* A failed authentication: 401 while its source is within its budget, else 429 (closed). */
static void refuse_stranger(struct wd_request *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *peer = info ? info->client_addr : NULL;
    const void *addr = NULL;
    size_t len = 0;

    if (peer && peer->sa_family == AF_INET) {
        addr = &((const struct sockaddr_in *)(const void *)peer)->sin_addr;
        len = 4;
    } else if (peer && peer->sa_family == AF_INET6) {
        addr = &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;
        len = 16;
    }
    if (!addr || wd_authfail_charge(req->server->authfail, addr, len, wd_clock_mono_ns())) {
        wd_request_reply_error(req, -WD_E_UNAUTHORIZED, NULL);
        return;
    }
    wd_metrics_edge(WD_METRICS_AUTH_THROTTLED, 1);
    req->throttled = true;
    req->close = true;
    wd_request_reply_error(req, -WD_E_RATE_LIMITED,
                           "too many failed authentications from this address");
}

/*
 * Runs on the first call, when the headers are in and before any of the body is read: route,
 * authenticate, rate-limit, content type. A stranger is refused before walletd reads (or answers
 * "100 Continue" to) a body. false: refused, the reply is set. (A body above MAX_BODY_BYTES is
 * an authenticated client's: it is read, discarded and answered 413 at its end, so the client
 * sees the answer and keeps its connection.)
 */
static bool admit(struct wd_request *req)
{
    const char *method =
        strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0 ? MHD_HTTP_METHOD_GET : req->method;

    wd_router_match(wd_handlers_routes, wd_handlers_route_count, method, req->path, &req->match);
    if (req->match.status == 404) {
        wd_request_reply_error(req, -WD_E_ROUTE_NOT_FOUND, NULL);
        return false;
    }
    if (req->match.status == 405) {
        req->allow = req->match.allow;
        wd_request_reply_error(req, -WD_E_METHOD_NOT_ALLOWED, NULL);
        return false;
    }
    const struct wd_route *route = req->match.route;
    if (req->ctx->cfg->admin_port && !(route->flags & WD_ROUTER_OPS) != !req->server->admin) {
        /* with ADMIN_PORT, probes and metrics are there only, and the API is not */
        wd_request_reply_error(req, -WD_E_ROUTE_NOT_FOUND, NULL);
        return false;
    }
    if ((route->flags & WD_ROUTER_AUTH) &&
        wd_auth_check(req->ctx->keys, wd_request_header(req, "Authorization"), req->tenant,
                      &req->tenant_ix) < 0) {
        refuse_stranger(req);
        return false;
    }
    if ((route->flags & WD_ROUTER_AUTH) &&
        wd_ratelimit_check(req->ctx->ratelimit, req->tenant, req->tenant_ix, &req->retry_after_s) <
            0) {
        wd_request_reply_error(req, -WD_E_RATE_LIMITED, NULL);
        return false;
    }
    if (route->flags & WD_ROUTER_BODY) {
        if (!content_type_is_json(wd_request_header(req, "Content-Type"))) {
            wd_request_reply_error(req, -WD_E_UNSUPPORTED_MEDIA_TYPE, NULL);
            return false;
        }
    }
    return true;
}

/* Runs once the whole (admitted) request is in: the body's size, then the handler. */
static void dispatch(struct wd_request *req)
{
    const struct wd_route *route = req->match.route;

    if ((route->flags & WD_ROUTER_BODY) && req->body_too_large) {
        wd_request_reply_error(req, -WD_E_PAYLOAD_TOO_LARGE, NULL);
        return;
    }
    route->handler(req);
}

static void add_header(struct MHD_Response *resp, const char *name, const char *value)
{
    MHD_add_response_header(resp, name, value);
}

/* A write's 2xx answer carries X-Consistency-Token: its shard and the position after its commit,
 * for the client's next reads to see it (read-your-writes, docs/API.md). */
static void add_consistency_token(struct MHD_Response *resp, const struct wd_request *req)
{
    const struct wd_op *op = &req->op;
    struct wd_token token = {.shard = op->shard};
    char text[WD_TOKEN_MAX + 1];

    if (!wd_op_is_write(op->kind) || !op->gtid[0] || req->reply.status < 200 ||
        req->reply.status >= 300)
        return;
    memcpy(token.gtid, op->gtid, sizeof(token.gtid));
    if (wd_token_encode(&token, text) == 0)
        add_header(resp, "X-Consistency-Token", text);
}

static enum MHD_Result queue_reply(struct wd_request *req)
{
    if (!req->reply.data)
        wd_request_reply_error(req, -WD_E_INTERNAL_ERROR, NULL);
    if (!req->reply.data) /* not even an envelope could be rendered */
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(req->reply.len, req->reply.data, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    req->reply.data = NULL; /* libmicrohttpd frees it now */
    add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
               req->content_type ? req->content_type : "application/json");
    add_header(resp, "X-Request-Id", req->request_id);
    if (req->replayed)
        add_header(resp, "Idempotent-Replayed", "true");
    add_consistency_token(resp, req);
    if (req->reply.status == 405 && req->allow)
        add_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow);
    if (req->close)
        add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (req->reply.status == 503 || req->reply.status == 429) {
        char seconds[16];
        snprintf(seconds, sizeof(seconds), "%d", req->retry_after_s > 0 ? req->retry_after_s : 1);
        add_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)req->reply.status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* The connection was suspended and libmicrohttpd has taken it back. */
static void resumed(struct wd_request *req)
{
    if (req->awaiting_resume) {
        req->awaiting_resume = false;
        atomic_fetch_sub(&req->server->suspended, 1);
    }
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct wd_server *s = cls;
    struct wd_request *req = *con_cls;

    if (!req) {
        req = request_new(s, conn, url, method);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        const char *why = edge_refusal(conn, version);
        if (why)
            wd_request_reply_error(req, -WD_E_MALFORMED_REQUEST, why);
        else if (admit(req) || (!body_follows(req) && !req->close))
            return MHD_YES; /* admitted, or refused with no body to skip: answered later */
        /* queued on the first call on purpose: libmicrohttpd then closes the connection, and
         * never reads (or asks for, with 100 Continue) the body of a refused request */
        req->close = true;
        request_received(conn);
        return queue_reply(req);
    }
    if (*upload_data_size) {
        append_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    int state = atomic_load_explicit(&req->state, memory_order_acquire);
    if (!req->received) {
        req->received = true;
        request_received(conn);
    }
    if (state == WD_REQUEST_RECEIVING) {
        dispatch(req);
        if (req->suspended) {
            req->suspended = false;
            return MHD_YES; /* the engine resumes us; the reply is queued on that call */
        }
        state = atomic_load_explicit(&req->state, memory_order_acquire);
    }
    if (state != WD_REQUEST_DONE)
        return MHD_YES; /* a spurious call while suspended */
    resumed(req);
    return queue_reply(req);
}

/*
 * Failed authentications are a stranger's to send, as many as they like: their access lines are
 * sampled, at most FAILED_AUTH_LINES a second per process, and the next line written says how
 * many were left out ("suppressed"). Returns that count, or -1 to write nothing.
 */
#define FAILED_AUTH_LINES 10

static long long failed_auth_sample(struct wd_request *req)
{
    static _Atomic long long second, written, suppressed;

    if (req->reply.status != 401 && !req->throttled)
        return 0;
    long long now = wd_clock_mono_ns() / 1000000000LL;
    long long was = atomic_load(&second);
    if (now != was && atomic_compare_exchange_strong(&second, &was, now))
        atomic_store(&written, 0);
    if (atomic_fetch_add(&written, 1) >= FAILED_AUTH_LINES) {
        atomic_fetch_add(&suppressed, 1);
        wd_metrics_edge(WD_METRICS_LOG_SUPPRESSED, 1);
        return -1;
    }
    return atomic_exchange(&suppressed, 0);
}

static void append(char *m, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *m, size_t *len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(m + *len, WD_LOG_LINE_MAX - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < WD_LOG_LINE_MAX ? *len + (size_t)n : WD_LOG_LINE_MAX - 1;
}

static void access_log(struct wd_request *req, double ms)
{
    long long suppressed = failed_auth_sample(req);

    if (suppressed < 0)
        return;
    /* built by hand, not with jansson: this line is written on every request (core/log.h) */
    char m[WD_LOG_LINE_MAX];
    size_t len = 0, mark;
    m[0] = '\0';
    append(m, &len, "\"requestId\":\"%s\",\"method\":", req->request_id);
    if (!wd_log_escape(m, sizeof(m), &len, req->method))
        append(m, &len, "\"(not UTF-8)\"");
    append(m, &len, ",\"path\":");
    mark = len;
    if (!wd_log_escape(m, sizeof(m) - 256, &len, req->path)) {
        len = mark;
        append(m, &len, "\"(not UTF-8, or too long)\"");
    }
    append(m, &len, ",\"status\":%d,\"ms\":%.6g", req->reply.status, ms);
    if (req->tenant[0]) /* [A-Za-z0-9_.-]: nothing to escape */
        append(m, &len, ",\"tenant\":\"%s\"", req->tenant);
    if (req->replayed)
        append(m, &len, ",\"replayed\":true");
    if (suppressed > 0)
        append(m, &len, ",\"suppressed\":%lld", suppressed);
    wd_log_members(WD_LOG_INFO, "request", m);
}

static void request_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    struct wd_server *s = cls;
    struct wd_request *req = *con_cls;

    struct conn *state = conn_of(conn);

    (void)toe;
    if (state) { /* answered: the next request must start within the keep-alive timeout */
        state->idle = true;
        wd_deadline_set(&state->deadline, after_s(s->ctx->cfg->keepalive_timeout_s));
    }
    if (!req)
        return;
    resumed(req);
    int64_t ns = wd_clock_mono_ns() - req->start_ns;
    int route = req->match.route ? (int)(req->match.route - wd_handlers_routes) : -1;
    wd_metrics_http(route, req->reply.status, ns);
    if (s->ctx->cfg->access_log && wd_log_enabled(WD_LOG_INFO))
        access_log(req, (double)ns / 1e6);
    wd_envelope_release(&req->reply);
    free(req->body);
    free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    wd_log_warn("libmicrohttpd: %s", msg);
}

#define ADMIN_CONNECTIONS 64 /* the probes' and Prometheus's: a few at a time */
#define ADMIN_TIMEOUT_S   10

/* Starts libmicrohttpd on fd for s: the public port, or (s->admin) ADMIN_PORT. */
static struct MHD_Daemon *start_daemon(struct wd_server *s, int fd)
{
    const struct wd_config *cfg = s->ctx->cfg;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    unsigned threads = s->admin ? 1 : (unsigned)cfg->http_threads;
    unsigned limit = s->admin ? ADMIN_CONNECTIONS : (unsigned)cfg->max_connections;
    unsigned per_ip = s->admin ? 0 : (unsigned)cfg->max_connections_ip; /* 0: none */
    unsigned timeout = s->admin ? ADMIN_TIMEOUT_S : (unsigned)cfg->keepalive_timeout_s;

    /* the logger must be the first option, or early messages bypass it */
    return MHD_start_daemon(
        flags, 0, NULL, NULL, access_cb, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed_cb, s, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s,
        MHD_OPTION_URI_LOG_CALLBACK, request_line, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape, s,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
}

/* Frees s (and its admin face); the daemons are stopped. */
static void server_free(struct wd_server *s)
{
    wd_deadline_stop(s->deadlines);
    wd_authfail_free(s->authfail);
    free(s->admin_face);
    free(s);
}

/* The ADMIN_PORT face of s: the same context and defenses, its own daemon. 0 or a code. */
static int start_admin(struct wd_server *s, int admin_fd, struct wd_error *err)
{
    struct wd_server *a = calloc(1, sizeof(*a));

    if (!a)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    a->ctx = s->ctx;
    a->admin = true;
    a->authfail = s->authfail;
    a->deadlines = s->deadlines;
    s->admin_face = a;
    a->daemon = start_daemon(a, admin_fd);
    return a->daemon ? 0 : wd_error_set(err, -WD_E_INTERNAL_ERROR, "libmicrohttpd failed to start");
}

int wd_server_start(struct wd_server **out, struct wd_context *ctx, int listen_fd, int admin_fd,
                    struct wd_error *err)
{
    struct wd_server *s = calloc(1, sizeof(*s));

    if (!s)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    s->ctx = ctx;
    int rc = wd_authfail_new(&s->authfail, ctx->cfg->auth_failures_per_s, err);
    if (rc == 0)
        rc = wd_deadline_start(&s->deadlines, DEADLINE_TICK_MS, err);
    if (rc == 0 && admin_fd >= 0)
        rc = start_admin(s, admin_fd, err);
    if (rc == 0 && !(s->daemon = start_daemon(s, listen_fd)))
        rc = wd_error_set(err, -WD_E_INTERNAL_ERROR, "libmicrohttpd failed to start");
    if (rc < 0) {
        if (s->admin_face && s->admin_face->daemon)
            MHD_stop_daemon(s->admin_face->daemon);
        server_free(s);
        return rc;
    }
    wd_metrics_connections_max(ctx->worker_index, ctx->cfg->max_connections);
    *out = s;
    return 0;
}

void wd_server_quiesce(struct wd_server *s)
{
    MHD_quiesce_daemon(s->daemon); /* the listen socket stays open: the master owns it */
}

int wd_server_inflight(struct wd_server *s)
{
    return atomic_load(&s->inflight);
}

int wd_server_settle(struct wd_server *s, int timeout_ms)
{
    int64_t deadline = wd_clock_mono_ns() + (int64_t)timeout_ms * 1000000;

    while (s && (atomic_load(&s->suspended) > 0 || atomic_load(&s->inflight) > 0) &&
           wd_clock_mono_ns() < deadline)
        wd_clock_sleep_ns(5000000);
    return s ? atomic_load(&s->suspended) : 0;
}

int wd_server_stop(struct wd_server *s)
{
    if (!s)
        return 0;
    if (atomic_load(&s->suspended) > 0) { /* libmicrohttpd would abort the process */
        wd_log_error("%d connections still suspended: the HTTP daemon is left to the exit",
                     atomic_load(&s->suspended));
        return -1;
    }
    MHD_stop_daemon(s->daemon);
    if (s->admin_face)
        MHD_stop_daemon(s->admin_face->daemon);
    server_free(s);
    return 0;
}
