/*
 * api/request.h - one HTTP request as handlers see it.
 *
 * Owns: the per-request state (route match, request ID, tenant, body, reply) and the few calls a
 * handler makes: read a header, a path parameter or a query argument, reply synchronously, or
 * hand the request's op to the engine and let the connection sleep until it is done.
 * A request belongs to one libmicrohttpd connection; it is touched by the engine thread that runs
 * its op only between api_request_submit and the op's completion.
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

enum api_request_state { API_REQ_RECEIVING = 0, API_REQ_WAITING, API_REQ_DONE };

#define API_REQUEST_ID_MAX 64

struct api_request {
    struct api_context *ctx; /* borrowed from the worker */
    struct api_server *server;
    struct MHD_Connection *conn;
    const char *method; /* borrowed from libmicrohttpd until completion */
    const char *path;
    struct api_match match;
    char request_id[API_REQUEST_ID_MAX + 1];
    char tenant[WALLET_TENANT_MAX + 1];
    int tenant_ix; /* the tenant's number in the key file (api/auth) */
    int64_t start_ns;

    char *body; /* owned; NUL-terminated; at most cfg->max_body_bytes */
    size_t body_len;
    bool body_too_large;

    _Atomic int state;
    bool suspended;       /* set by api_request_submit; read by the connection's own thread */
    bool awaiting_resume; /* suspended and not yet called again by libmicrohttpd */
    bool close;           /* answer with Connection: close */
    struct wd_body reply; /* owned */
    bool replayed;
    const char *allow;        /* for 405, borrowed from match */
    int retry_after_s;        /* for 429 and 503; 0 means 1 */
    const char *content_type; /* NULL: application/json; else a static string */

    struct wallet_op op;
};

/* The value of header name, or NULL. Borrowed until the request completes. */
const char *api_request_header(struct api_request *req, const char *name);

/* The value of query argument name, or NULL. Borrowed until the request completes. */
const char *api_request_query(struct api_request *req, const char *name);

/* Replies with the error envelope for code (negative) and message (NULL: default). */
void api_reply_error(struct api_request *req, int code, const char *message);

/* Replies with the success envelope around data (stolen). */
void api_reply_data(struct api_request *req, int status, json_t *data);

/* Replies with a body the caller built (taken over). */
void api_reply_body(struct api_request *req, struct wd_body *body);

/*
 * Hands req->op to the engine; the connection is suspended and the reply is queued when the op
 * is done. If the engine refuses the op at once, the request is answered with that error.
 */
void api_request_submit(struct api_request *req);

#endif
