/*
 * db/conn.c - connecting, session set-up, the prepared-statement cache and error classification.
 */
#define _GNU_SOURCE
#include "db/conn.h"

#include "core/clock.h"
#include "core/log.h"
#include "db/inject.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define RECONNECT_BACKOFF_NS 200000000LL /* 200 ms */

void wd_conn_init(struct wd_conn *c, const struct wd_db_endpoint *ep, const char *label,
                  unsigned flags, int connect_timeout_s, int query_timeout_s)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->fd = -1;
    atomic_init(&c->interrupted, false);
    c->ep = ep;
    c->flags = flags;
    c->connect_timeout_s = connect_timeout_s;
    c->query_timeout_s = query_timeout_s;
    snprintf(c->label, sizeof(c->label), "%s", label);
}

void wd_conn_close(struct wd_conn *c)
{
    for (unsigned i = 0; i < c->nstmts; i++) {
        if (c->stmts[i]) {
            mysql_stmt_close(c->stmts[i]);
            c->stmts[i] = NULL;
        }
    }
    if (c->mysql) {
        pthread_mutex_lock(&c->mu);
        c->fd = -1;
        mysql_close(c->mysql); /* under mu: the socket is not shut down while being closed */
        pthread_mutex_unlock(&c->mu);
        c->mysql = NULL;
    }
}

void wd_conn_release(struct wd_conn *c)
{
    wd_conn_close(c);
    free(c->stmts);
    c->stmts = NULL;
    c->nstmts = 0;
    pthread_mutex_destroy(&c->mu);
}

void wd_conn_interrupt(struct wd_conn *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->interrupted, true);
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->mu);
}

bool wd_conn_interrupted(struct wd_conn *c)
{
    return atomic_load(&c->interrupted);
}

static bool is_connection_error(unsigned no)
{
    switch (no) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_COMMANDS_OUT_OF_SYNC:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case ER_QUERY_INTERRUPTED:
    case ER_OPTION_PREVENTS_STATEMENT: /* read_only: this is no longer a primary */
    case ER_UNKNOWN_STMT_HANDLER:
    case ER_NEED_REPREPARE:
        return true;
    default:
        return false;
    }
}

int wd_conn_error_code(unsigned no)
{
    if (is_connection_error(no))
        return -WD_E_DB_UNAVAILABLE;
    return no == ER_LOCK_DEADLOCK || no == ER_LOCK_WAIT_TIMEOUT ? -WD_E_DB_RETRY : -WD_E_DB;
}

static int classify(struct wd_conn *c, unsigned no, const char *msg, const char *what,
                    struct wd_error *err)
{
    int code = wd_conn_error_code(no);
    bool lost = code == -WD_E_DB_UNAVAILABLE;

    wd_error_set(err, code, "%s: %s: %u %s", c->label, what, no, msg);
    if (code != -WD_E_DB_RETRY)
        wd_log_warn("db %s: %s failed: %u %s", c->label, what, no, msg);
    if (lost) /* last: closing frees msg, which points into the connection or statement */
        wd_conn_close(c);
    return code;
}

int wd_conn_fail(struct wd_conn *c, const char *what, struct wd_error *err)
{
    if (!c->mysql)
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "%s: not connected", c->label);
    return classify(c, mysql_errno(c->mysql), mysql_error(c->mysql), what, err);
}

int wd_conn_stmt_fail(struct wd_conn *c, MYSQL_STMT *stmt, const char *what, struct wd_error *err)
{
    return classify(c, mysql_stmt_errno(stmt), mysql_stmt_error(stmt), what, err);
}

static int setup_session(struct wd_conn *c, struct wd_error *err)
{
    static const char *const base =
        "SET SESSION time_zone='+00:00', tx_isolation='READ-COMMITTED', "
        "innodb_lock_wait_timeout=10, sql_mode='STRICT_ALL_TABLES,NO_ZERO_DATE,"
        "NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'";
    int rc = wd_conn_exec(c, base, err);

    if (rc == 0 && (c->flags & WD_CONN_READ_ONLY))
        rc = wd_conn_exec(c, "SET SESSION TRANSACTION READ ONLY", err);
    if (rc == 0 && (c->flags & WD_CONN_TRANSACTIONAL)) /* COMMIT's OK then carries its GTID */
        rc = wd_conn_exec(c, "SET SESSION session_track_system_variables = 'last_gtid'", err);
    if (rc == 0 && mysql_autocommit(c->mysql, (c->flags & WD_CONN_TRANSACTIONAL) ? 0 : 1))
        rc = wd_conn_fail(c, "autocommit", err);
    return rc;
}

static void set_options(struct wd_conn *c)
{
    unsigned int connect = (unsigned int)c->connect_timeout_s;
    unsigned int query = (unsigned int)c->query_timeout_s;
    my_bool off = 0;

    mysql_options(c->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect);
    mysql_options(c->mysql, MYSQL_OPT_READ_TIMEOUT, &query);
    mysql_options(c->mysql, MYSQL_OPT_WRITE_TIMEOUT, &query);
    mysql_options(c->mysql, MYSQL_OPT_RECONNECT, &off); /* reconnecting mid-transaction is unsafe */
    mysql_options(c->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
}

int wd_conn_open(struct wd_conn *c, struct wd_error *err)
{
    if (c->mysql)
        return 0;
    if (wd_conn_interrupted(c))
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "%s: stopping", c->label);
    int64_t now = wd_clock_mono_ns();
    if (now < c->retry_after_ns)
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "%s: unavailable (retrying)", c->label);
    c->mysql = mysql_init(NULL);
    if (!c->mysql)
        return wd_error_set(err, -WD_E_NOMEM, "%s: mysql_init failed", c->label);
    set_options(c);
    const struct wd_url *u = &c->ep->url;
    if (!mysql_real_connect(
            c->mysql, u->host, u->user, u->password, u->path, (unsigned int)u->port,
            c->ep->socket[0] ? c->ep->socket : NULL,
            CLIENT_FOUND_ROWS |
                ((c->flags & WD_CONN_MULTI_STATEMENTS) ? CLIENT_MULTI_STATEMENTS : 0))) {
        wd_error_set(err, -WD_E_DB_UNAVAILABLE, "%s: connect: %s", c->label, mysql_error(c->mysql));
        mysql_close(c->mysql);
        c->mysql = NULL;
        c->retry_after_ns = now + RECONNECT_BACKOFF_NS;
        return -WD_E_DB_UNAVAILABLE;
    }
    pthread_mutex_lock(&c->mu);
    c->fd = (int)mysql_get_socket(c->mysql);
    if (atomic_load(&c->interrupted)) /* interrupted while connecting */
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->mu);
    int rc = setup_session(c, err);
    if (rc < 0) {
        wd_conn_close(c);
        c->retry_after_ns = now + RECONNECT_BACKOFF_NS;
    }
    return rc;
}

int wd_conn_reopen(struct wd_conn *c, int64_t deadline_ns, struct wd_error *err)
{
    int rc;

    while ((rc = wd_conn_open(c, err)) < 0 && !wd_conn_interrupted(c)) {
        int64_t now = wd_clock_mono_ns();
        if (now >= deadline_ns)
            break;
        int64_t wake = c->retry_after_ns > now ? c->retry_after_ns : now + 10000000;
        wd_clock_sleep_ns((wake < deadline_ns ? wake : deadline_ns) - now);
    }
    return rc;
}

/* Makes room for slot in c's statement cache. 0 or an error. */
static int reserve_slot(struct wd_conn *c, unsigned slot, struct wd_error *err)
{
    if (slot < c->nstmts)
        return 0;
    if (slot >= WD_CONN_SLOTS_MAX)
        return wd_error_set(err, -WD_E_INTERNAL_ERROR, "%s: statement slot %u out of range",
                            c->label, slot);
    unsigned n = slot + 1 > 2 * c->nstmts ? slot + 1 : 2 * c->nstmts;
    MYSQL_STMT **grown = realloc(c->stmts, n * sizeof(*grown));
    if (!grown)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    memset(grown + c->nstmts, 0, (n - c->nstmts) * sizeof(*grown));
    c->stmts = grown;
    c->nstmts = n;
    return 0;
}

MYSQL_STMT *wd_conn_stmt(struct wd_conn *c, unsigned slot, const char *sql, struct wd_error *err)
{
    if (reserve_slot(c, slot, err) < 0)
        return NULL;
    if (c->stmts[slot])
        return c->stmts[slot];
    if (wd_conn_open(c, err) < 0)
        return NULL;
    MYSQL_STMT *stmt = mysql_stmt_init(c->mysql);
    if (!stmt) {
        wd_conn_fail(c, "stmt_init", err);
        return NULL;
    }
    if (mysql_stmt_prepare(stmt, sql, (unsigned long)strlen(sql))) {
        wd_conn_stmt_fail(c, stmt, "prepare", err);
        mysql_stmt_close(stmt);
        return NULL;
    }
    c->stmts[slot] = stmt;
    return stmt;
}

int wd_conn_exec(struct wd_conn *c, const char *sql, struct wd_error *err)
{
    int rc = wd_conn_open(c, err);

    if (rc < 0)
        return rc;
    if (mysql_real_query(c->mysql, sql, (unsigned long)strlen(sql)))
        return wd_conn_fail(c, "query", err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (res)
        mysql_free_result(res);
    else if (mysql_field_count(c->mysql) != 0)
        return wd_conn_fail(c, "store_result", err);
    return 0;
}

void wd_conn_last_gtid(struct wd_conn *c, char *out, size_t size)
{
    const char *data;
    size_t len;

    out[0] = '\0';
    if (!c->mysql ||
        mysql_session_track_get_first(c->mysql, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len))
        return;
    do { /* name, then value, for each variable that changed */
        bool is_gtid = len == 9 && memcmp(data, "last_gtid", 9) == 0;
        if (mysql_session_track_get_next(c->mysql, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len))
            return;
        if (is_gtid && len < size) {
            memcpy(out, data, len);
            out[len] = '\0';
        }
    } while (!mysql_session_track_get_next(c->mysql, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len));
}

int wd_conn_query_text(struct wd_conn *c, const char *sql, char *out, size_t size,
                       struct wd_error *err)
{
    int rc = wd_conn_open(c, err);

    out[0] = '\0';
    if (rc < 0)
        return rc;
    if (mysql_real_query(c->mysql, sql, (unsigned long)strlen(sql)))
        return wd_conn_fail(c, "query", err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return wd_conn_fail(c, "store_result", err);
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row && row[0])
        snprintf(out, size, "%s", row[0]);
    mysql_free_result(res);
    return 0;
}

int wd_conn_commit(struct wd_conn *c, struct wd_error *err)
{
    if (!c->mysql)
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "%s: not connected", c->label);
    if (wd_inject_commit(c) || mysql_commit(c->mysql)) /* walletd-faults only (core/fault.h) */
        return wd_conn_fail(c, "commit", err);
    return 0;
}

void wd_conn_rollback(struct wd_conn *c)
{
    if (c->mysql && mysql_rollback(c->mysql))
        wd_conn_close(c);
}

int wd_conn_ping(struct wd_conn *c, struct wd_error *err)
{
    int rc = wd_conn_open(c, err);

    if (rc < 0)
        return rc;
    if (mysql_ping(c->mysql)) {
        wd_conn_fail(c, "ping", err);
        return -WD_E_DB_UNAVAILABLE;
    }
    return 0;
}

/* Copies the text of column name of row (or "" when NULL) into out[0..size). */
static void column(MYSQL_RES *res, MYSQL_ROW row, const char *name, char *out, size_t size)
{
    MYSQL_FIELD *fields = mysql_fetch_fields(res);

    out[0] = '\0';
    for (unsigned i = 0; i < mysql_num_fields(res); i++) {
        if (strcmp(fields[i].name, name) == 0 && row[i])
            snprintf(out, size, "%s", row[i]);
    }
}

int wd_conn_replica_status(struct wd_conn *c, struct wd_replica_status *out, struct wd_error *err)
{
    /* SHOW SLAVE STATUS lacks Gtid_Slave_Pos; the default connection is the only one. */
    static const char sql[] = "SHOW ALL SLAVES STATUS";
    char text[32];
    int rc = wd_conn_open(c, err);

    memset(out, 0, sizeof(*out));
    out->lag_s = -1;
    if (rc < 0)
        return rc;
    if (mysql_real_query(c->mysql, sql, sizeof(sql) - 1))
        return wd_conn_fail(c, "replica status", err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return wd_conn_fail(c, "replica status", err);
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        mysql_free_result(res);
        return wd_error_set(err, -WD_E_DB_UNAVAILABLE, "%s: not a replica", c->label);
    }
    column(res, row, "Slave_IO_Running", text, sizeof(text));
    out->io_running = strcmp(text, "Yes") == 0;
    column(res, row, "Slave_SQL_Running", text, sizeof(text));
    out->sql_running = strcmp(text, "Yes") == 0;
    column(res, row, "Seconds_Behind_Master", text, sizeof(text));
    if (text[0])
        out->lag_s = (int)strtol(text, NULL, 10); /* the server's own digits */
    column(res, row, "Gtid_IO_Pos", out->received, sizeof(out->received));
    column(res, row, "Gtid_Slave_Pos", out->applied, sizeof(out->applied));
    mysql_free_result(res);
    return 0;
}

void wd_conn_time_from_ms(MYSQL_TIME *t, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    memset(t, 0, sizeof(*t));
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)(ms % 1000) * 1000;
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

int64_t wd_conn_time_to_ms(const MYSQL_TIME *t)
{
    struct tm tm = {0};

    tm.tm_year = (int)t->year - 1900;
    tm.tm_mon = (int)t->month - 1;
    tm.tm_mday = (int)t->day;
    tm.tm_hour = (int)t->hour;
    tm.tm_min = (int)t->minute;
    tm.tm_sec = (int)t->second;
    return (int64_t)timegm(&tm) * 1000 + (int64_t)(t->second_part / 1000);
}
