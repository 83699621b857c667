/*
 * shard/pick.c - the routing decision for reads.
 */
#include "shard/pick.h"

static const char *const reason_names[WD_PICK_REASON_COUNT] = {"replica", "strong", "token",
                                                               "no_fit_replica", "retry"};

const char *wd_pick_reason_name(enum wd_pick_reason r)
{
    return r >= 0 && r < WD_PICK_REASON_COUNT ? reason_names[r] : "unknown";
}

/* The next fit replica from *rr on (not skip), or -1; *rr moves past it. */
static int next_fit(const struct wd_pick_replica *v, int n, unsigned *rr, int skip)
{
    for (int i = 0; i < n; i++) {
        int r = (int)((*rr + (unsigned)i) % (unsigned)n);
        if (v[r].fit && r != skip) {
            *rr = (unsigned)r + 1;
            return r;
        }
    }
    return -1;
}

int wd_pick_standby(const struct wd_pick_replica *v, int n, unsigned *rr, int skip)
{
    for (int i = 0; i < n; i++) {
        int r = (int)((*rr + (unsigned)i) % (unsigned)n);
        if ((v[r].fit || v[r].standby) && r != skip) {
            *rr = (unsigned)r + 1;
            return r;
        }
    }
    return -1;
}

struct wd_pick wd_pick_read(const struct wd_pick_replica *v, int n, bool strong, const char *gtid,
                            unsigned *rr, int skip)
{
    struct wd_pick to = {-1, WD_PICK_STRONG, false};

    if (strong)
        return to;
    if (gtid) {
        for (int r = 0; r < n; r++) {
            if (v[r].fit && r != skip && wd_token_reached(v[r].applied, gtid)) {
                to.replica = r;
                to.reason = WD_PICK_REPLICA;
                return to;
            }
        }
    }
    to.replica = next_fit(v, n, rr, skip);
    to.reason = to.replica >= 0 ? WD_PICK_REPLICA : gtid ? WD_PICK_TOKEN : WD_PICK_NO_FIT;
    to.wait = to.replica >= 0 && gtid;
    return to;
}
