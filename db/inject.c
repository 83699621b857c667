/*
 * db/inject.c - the failures of db/inject.h, made on the connection itself.
 */
#include "db/inject.h"

#include "core/fault.h"

#include <string.h>
#include <sys/socket.h>

/* What the server raises for a failure: the error a real one would carry. */
static const char *signal_sql(enum wd_fault_failure f)
{
    switch (f) {
    case WD_FAULT_DEADLOCK:
        return "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = "
               "'Deadlock found when trying to get lock; try restarting transaction (injected)'";
    case WD_FAULT_TIMEOUT:
        return "SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1205, MESSAGE_TEXT = "
               "'Lock wait timeout exceeded; try restarting transaction (injected)'";
    default: /* an error walletd does not expect: a CHECK constraint refuses a row */
        return "SIGNAL SQLSTATE '23000' SET MYSQL_ERRNO = 4025, MESSAGE_TEXT = "
               "'CONSTRAINT `injected` failed for `walletd` (injected)'";
    }
}

/* The connection drops: its socket is shut down (under mu, as wd_conn_interrupt does), so the
 * next call on it fails in the client library and the server ends the session. */
static void drop(struct wd_conn *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->mu);
}

/* Makes failure f happen on c; see wd_inject_execute. */
static bool fail(struct wd_conn *c, enum wd_fault_failure f)
{
    if (f == WD_FAULT_NONE || !c->mysql)
        return false;
    if (f == WD_FAULT_LOST) {
        drop(c);
        return false;
    }
    if (f == WD_FAULT_LOST_REPLY) {
        if (mysql_commit(c->mysql))
            return true; /* it failed by itself: that error is the one to report */
        drop(c);
        return mysql_ping(c->mysql) != 0; /* the answer that never comes, as Connector/C sees it */
    }
    const char *sql = signal_sql(f);
    return mysql_real_query(c->mysql, sql, (unsigned long)strlen(sql)) != 0;
}

bool wd_inject_execute(struct wd_conn *c, const char *what)
{
    return fail(c, wd_fault_hit(WD_FAULT_EXECUTE, what));
}

bool wd_inject_commit(struct wd_conn *c)
{
    return fail(c, wd_fault_hit(WD_FAULT_COMMIT, NULL));
}
