/*
 * api/request.c - what a handler does with its request: read headers and query arguments, and
 * reply (the reply is queued by api/server.c on libmicrohttpd's next call).
 */
#include "api/request.h"

#include <string.h>

const char *wd_request_header(struct wd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *wd_request_query(struct wd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Takes body over as the request's reply; the next call of libmicrohttpd queues it. */
static void set_reply(struct wd_request *req, struct wd_body *body)
{
    wd_envelope_release(&req->reply);
    req->reply = *body;
    memset(body, 0, sizeof(*body));
    atomic_store_explicit(&req->state, WD_REQUEST_DONE, memory_order_release);
}

void wd_request_reply_body(struct wd_request *req, struct wd_body *body)
{
    set_reply(req, body);
}

void wd_request_reply_error(struct wd_request *req, int code, const char *message)
{
    struct wd_body body = {0};

    if (wd_envelope_error(&body, code, message) < 0) {
        body.status = 500;
        body.data = NULL;
    }
    set_reply(req, &body);
}

void wd_request_reply_data(struct wd_request *req, int status, json_t *data)
{
    struct wd_body body = {0};

    if (wd_envelope_success(&body, status, data) < 0) {
        wd_request_reply_error(req, -WD_E_NOMEM, NULL);
        return;
    }
    set_reply(req, &body);
}
