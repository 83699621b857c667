/*
 * db/replica.c - MASTER_GTID_WAIT, prepared.
 */
#include "db/replica.h"

#include "db/stmt.h"

struct wait_row {
    int64_t result; /* 0 reached, -1 timed out, -2 an error (NULL) */
};

static const struct wd_col wait_cols[] = {WD_COL_FIELD(WD_COL_I64, struct wait_row, result)};

int wd_replica_wait(struct wd_conn *c, const char *gtid, int timeout_ms, struct wd_error *err)
{
    struct wd_binder p;
    MYSQL_STMT *st;
    struct wait_row row = {-1};
    int64_t timeout_us = (int64_t)timeout_ms * 1000;
    int found = 0;
    int rc =
        wd_stmt_prepare(c, WD_STMT_GTID_WAIT,
                        "SELECT COALESCE(MASTER_GTID_WAIT(?, ? / 1000000), -2)", 2, &st, &p, err);

    if (rc < 0)
        return rc;
    wd_bind_str(&p, gtid);
    wd_bind_i64(&p, &timeout_us);
    rc = wd_stmt_read_rows(c, st, &p, wait_cols, 1, &row, sizeof(row), 1, &found, "gtid wait", err);
    wd_bind_release(&p);
    if (rc < 0)
        return rc;
    return found == 1 && row.result == 0 ? 1 : 0;
}
