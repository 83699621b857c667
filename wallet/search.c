/*
 * wallet/search.c - fan-out and merge of a search by reference.
 */
#include "wallet/search.h"

#include "core/error.h"
#include "core/json.h"
#include "db/rows.h"
#include "wallet/render.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct wd_search {
    struct wd_op *parent;
    atomic_int pending; /* parts not finished, plus one held by the submitter */
    int nparts;
    struct wd_op parts[]; /* part i reads shard i; its arg is the search */
};

static void part_done(struct wd_op *part)
{
    wd_search_release(part->arg);
}

struct wd_search *wd_search_new(struct wd_op *parent, int nshards)
{
    struct wd_search *s = calloc(1, sizeof(*s) + (size_t)nshards * sizeof(s->parts[0]));

    if (!s)
        return NULL;
    s->parent = parent;
    s->nparts = nshards;
    atomic_init(&s->pending, nshards + 1);
    for (int i = 0; i < nshards; i++) {
        struct wd_op *part = &s->parts[i];
        memcpy(part->tenant, parent->tenant, sizeof(part->tenant));
        memcpy(part->reference_id, parent->reference_id, sizeof(part->reference_id));
        part->kind = parent->kind;
        part->limit = parent->limit;
        part->strong = parent->strong;
        if (parent->gtid[0] && parent->token_shard == i) /* the token binds its shard's part */
            memcpy(part->gtid, parent->gtid, sizeof(part->gtid));
        part->shard = i;
        part->done = part_done;
        part->arg = s;
    }
    return s;
}

struct wd_op *wd_search_part(struct wd_search *s, int i)
{
    return &s->parts[i];
}

void wd_search_fail_part(struct wd_search *s, int i, int code)
{
    wd_envelope_error(&s->parts[i].reply, code, NULL);
    atomic_fetch_sub(&s->pending, 1);
}

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
static void merge(struct wd_search *s)
{
    struct wd_op *op = s->parent;
    int total = 0;

    wd_envelope_release(&op->reply);
    for (int i = 0; i < s->nparts; i++) {
        struct wd_op *part = &s->parts[i];
        if (part->reply.data) { /* an error envelope: taken over */
            op->reply = part->reply;
            memset(&part->reply, 0, sizeof(part->reply));
            return;
        }
        total += part->nrows;
    }
    const struct wd_txn **all = malloc((size_t)(total ? total : 1) * sizeof(*all));
    if (!all) {
        wd_envelope_error(&op->reply, -WD_E_NOMEM, NULL);
        return;
    }
    int n = 0;
    for (int i = 0; i < s->nparts; i++) {
        for (int j = 0; j < s->parts[i].nrows; j++)
            all[n++] = &s->parts[i].rows[j];
    }
    qsort(all, (size_t)n, sizeof(*all), txn_newer_first);
    unsigned long failed = wd_json_failures(); /* a list short of a row is not the answer */
    json_t *list = json_array();
    for (int i = 0; i < n && i < op->limit; i++)
        json_array_append_new(list, wd_render_txn(all[i]));
    free(all);
    json_t *data = json_pack("{s:s, s:o, s:b}", "referenceId", op->reference_id, "transactions",
                             list, "hasMore", n > op->limit);
    if (data && wd_json_failures() != failed) {
        json_decref(data);
        data = NULL;
    }
    if (!data || wd_envelope_success(&op->reply, 200, data) < 0)
        wd_envelope_error(&op->reply, -WD_E_NOMEM, NULL);
}

void wd_search_free(struct wd_search *s)
{
    for (int i = 0; i < s->nparts; i++) {
        free(s->parts[i].rows);
        wd_envelope_release(&s->parts[i].reply);
    }
    free(s);
}

void wd_search_release(struct wd_search *s)
{
    if (atomic_fetch_sub(&s->pending, 1) != 1)
        return;
    struct wd_op *parent = s->parent;
    merge(s);
    wd_search_free(s);
    parent->done(parent);
}
