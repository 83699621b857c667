/*
 * core/envelope.c - success and error envelopes, rendered compactly with keys in a fixed order.
 *
 * An envelope is whole or not made: out of memory, jansson leaves out a member it could not add
 * (json_object_set_new) or a key it could not write (json_dumps) and goes on, and such a reply
 * would be sent, and stored with its idempotency key and replayed for ever. Any jansson
 * allocation that failed while one was made (core/json) makes it NOMEM instead.
 */
#include "core/envelope.h"

#include "core/error.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

/* Renders root (taken over) into out, unless a jansson allocation failed since failed was read. */
static int dump(struct wd_body *out, int status, json_t *root, unsigned long failed)
{
    out->data = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (out->data && wd_json_failures() != failed) {
        free(out->data);
        out->data = NULL;
    }
    if (!out->data)
        return -WD_E_NOMEM;
    out->len = strlen(out->data);
    out->status = status;
    return 0;
}

int wd_envelope_success(struct wd_body *out, int status, json_t *data)
{
    unsigned long failed = wd_json_failures();
    json_t *root = json_object();

    if (!root || !data) {
        json_decref(root);
        json_decref(data);
        return -WD_E_NOMEM;
    }
    json_object_set_new(root, "status", json_integer(status));
    json_object_set_new(root, "code", json_string(status == 201 ? "CREATED" : "OK"));
    json_object_set_new(root, "data", data);
    return dump(out, status, root, failed);
}

int wd_envelope_error(struct wd_body *out, int code, const char *message)
{
    int pub = wd_error_public(code);
    int status = wd_error_status(pub);
    unsigned long failed = wd_json_failures();
    json_t *root = json_object();

    if (!root)
        return -WD_E_NOMEM;
    if (pub != code || !message)
        message = wd_error_message(pub); /* internal detail never reaches a client */
    json_t *text = json_string(message);
    json_object_set_new(root, "status", json_integer(status));
    json_object_set_new(root, "code", json_string(wd_error_name(pub)));
    json_object_set_new(root, "message", text ? text : json_string(wd_error_message(pub)));
    return dump(out, status, root, failed);
}

void wd_envelope_release(struct wd_body *body)
{
    free(body->data);
    memset(body, 0, sizeof(*body));
}
