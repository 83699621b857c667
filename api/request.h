/*
 * api/request.h - one HTTP request as handlers see it.
 *
 * Owns: the per-request state (route match, request ID, tenant, body, reply) and the calls a
 * handler makes to read a header or a query argument and to reply synchronously (api/request.c).
 * Handing the request's op to the engine is wd_server_submit (api/server.h), which suspends the
 * connection until the op is done.
 * Thread-safety: a request belongs to one libmicrohttpd connection; it is touched by the engine
 * thread that runs its op only between wd_server_submit and the op's completion.
 */
#ifndef WD_API_REQUEST_H
#define WD_API_REQUEST_H

#include "api/router.h"
#include "api/server.h"
#include "core/envelope.h"
#include "wallet/op.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wd_request_state { WD_REQUEST_RECEIVING = 0, WD_REQUEST_WAITING, WD_REQUEST_DONE };

#define WD_REQUEST_ID_MAX 64

struct wd_request {
    struct wd_context *ctx; /* borrowed from the worker */
    struct wd_server *server;
    struct MHD_Connection *conn;
    const char *method; /* borrowed from libmicrohttpd until completion */
    const char *path;
    struct wd_route_match match;
    char request_id[WD_REQUEST_ID_MAX + 1];
    char tenant[WD_TENANT_MAX + 1];
    int tenant_ix; /* the tenant's number in the key file (api/auth) */
    int64_t start_ns;

    char *body; /* owned; NUL-terminated; at most cfg->max_body_bytes */
    size_t body_len;
    bool body_too_large;

    _Atomic int state;
    bool suspended;       /* set by wd_request_submit; read by the connection's own thread */
    bool awaiting_resume; /* suspended and not yet called again by libmicrohttpd */
    bool close;           /* answer with Connection: close */
    bool throttled;       /* refused for its source's failed authentications (api/authfail) */
    bool received;        /* its headers and body are in */
    struct wd_body reply; /* owned */
    bool replayed;
    const char *allow;        /* for 405, borrowed from match */
    int retry_after_s;        /* for 429 and 503; 0 means 1 */
    const char *content_type; /* NULL: application/json; else a static string */

    struct wd_op op;
};

/* The value of header name, or NULL. Borrowed until the request completes. */
const char *wd_request_header(struct wd_request *req, const char *name);

/* The value of query argument name, or NULL. Borrowed until the request completes. */
const char *wd_request_query(struct wd_request *req, const char *name);

/* Replies with the error envelope for code (negative) and message (NULL: default). */
void wd_request_reply_error(struct wd_request *req, int code, const char *message);

/* Replies with the success envelope around data (stolen). */
void wd_request_reply_data(struct wd_request *req, int status, json_t *data);

/* Replies with a body the caller built (taken over). */
void wd_request_reply_body(struct wd_request *req, struct wd_body *body);

#endif
