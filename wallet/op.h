/*
 * wallet/op.h - one unit of work for the wallet engine: a money movement or a read.
 *
 * Owns: the shape of a request after the HTTP edge has parsed and validated it, and of its
 * answer. The edge fills the inputs and submits the op (wallet/engine.h); the engine runs it,
 * fills reply and calls done(op) exactly once (a search by reference, run on every shard at once,
 * may be completed on the submitting thread). The op is owned by the submitter and must stay alive
 * until done has been called; the engine only borrows it.
 * Header only. Thread-safety: an op is touched by one thread at a time, handed over by the
 * engine's queues.
 */
#ifndef WD_WALLET_OP_H
#define WD_WALLET_OP_H

#include "core/limits.h"
#include "core/envelope.h"
#include "shard/hash.h"
#include "shard/id.h"
#include "shard/token.h"

#include <stdbool.h>
#include <stdint.h>

enum wd_op_kind {
    /* movements and other writes: run on the shard primary, batched */
    WD_OP_CREATE_WALLET = 0,
    WD_OP_CREDIT,
    WD_OP_AUTHORIZE,
    WD_OP_CAPTURE, /* debit of a pending authorization */
    WD_OP_DEBIT,   /* direct debit */
    WD_OP_VOID,
    WD_OP_EXPIRE, /* internal: the sweeper releasing an expired hold */
    /* reads */
    WD_OP_GET_WALLET,
    WD_OP_LIST_WALLETS,
    WD_OP_GET_TXN,
    WD_OP_LEDGER,
    WD_OP_FIND_REFERENCE, /* the tenant's transactions with a referenceId, on every shard */
    WD_OP_KIND_COUNT
};

/* op->shard of an op that reads every shard (WD_OP_FIND_REFERENCE); says so to the reader. */
#define WD_OP_ALL_SHARDS (-1)

static inline bool wd_op_is_write(enum wd_op_kind kind)
{
    return kind <= WD_OP_EXPIRE;
}

struct wd_op;
struct wd_txn;
typedef void (*wd_op_done_fn)(struct wd_op *op);

/* Most lost COMMITs remembered per write op (its batch's tries, then its tries alone). */
#define WD_OP_LOST_MAX 8

/*
 * What the group commit (wallet/batch) remembers of a write op across its attempts, so that a
 * COMMIT whose answer was lost is recognised when the op runs again: the row the op creates keeps
 * one ID, and the replies stored with its key by lost COMMITs are known by digest. Reset by the
 * engine when the op is submitted.
 */
struct wd_op_memo {
    char made_id[WD_ID_LEN + 1]; /* the wallet or transaction the op creates ("" = none yet) */
    bool lost_commit; /* a COMMIT with the op in it lost its answer: it may have committed */
    int nlost;
    unsigned char lost_reply[WD_OP_LOST_MAX][16]; /* digests of what those COMMITs stored */
};

struct wd_op {
    enum wd_op_kind kind;
    int shard; /* set by the submitter from the ID's or account's bucket */

    char tenant[WD_TENANT_MAX + 1];

    /* idempotency: key as sent, and a hash of the canonical request */
    bool has_idem;
    char idem_key[WD_IDEM_KEY_MAX + 1];
    unsigned char request_hash[WD_HASH_LEN];

    /* inputs; which ones are used depends on kind */
    char wallet_id[WD_ID_LEN + 1];
    char txn_id[WD_ID_LEN + 1];
    char account_id[WD_ACCOUNT_MAX + 1];
    uint32_t bucket; /* of the account (create wallet) or wallet (new transactions) */
    char currency[4];
    bool has_currency;
    int64_t amount;
    bool has_amount;
    char reference_id[WD_REFERENCE_MAX + 1];
    int64_t expires_in_s;
    int limit;       /* ledger page size; most transactions a reference search returns */
    uint64_t cursor; /* ledger: entries with id < cursor; 0 = from the newest */
    bool strong;     /* X-Consistency: strong: read the primary */
    /* A GTID position. Writes: the shard's position after their commit (a 2xx answer carries it
     * as X-Consistency-Token). Reads: the position a token asks for ("" = none). */
    char gtid[WD_GTID_MAX + 1];
    int token_shard; /* reads with a token: the shard it names (for a search of every shard) */

    /* a search part's rows (WD_OP_FIND_REFERENCE on one shard): malloc'ed by wallet/read, freed
     * by wallet/search */
    struct wd_txn *rows;
    int nrows;

    /* answer, filled by the engine */
    struct wd_body reply; /* owned by the op once set; released by the submitter */
    bool replayed;        /* reply is a stored idempotent answer */

    /* completion: called exactly once (see above) */
    wd_op_done_fn done;
    void *arg;

    /* engine bookkeeping */
    struct wd_op *next;
    int64_t enqueued_ns;
    struct wd_op_memo memo;
};

/*
 * The resource an idempotency key is scoped to, within its tenant: the wallet that a credit,
 * authorize or direct debit names, the transaction that a capture or void names, the account
 * that a wallet create names. The same key sent for another resource is another request,
 * wherever either lives; the key's record is on that resource's shard (docs/API.md).
 */
static inline const char *wd_op_key_scope(const struct wd_op *op)
{
    switch (op->kind) {
    case WD_OP_CREATE_WALLET:
        return op->account_id;
    case WD_OP_CAPTURE:
    case WD_OP_VOID:
        return op->txn_id;
    default:
        return op->wallet_id;
    }
}

#endif
