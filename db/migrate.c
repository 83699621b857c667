/*
 * db/migrate.c - list migrations/NNN_*.sql, apply the ones not recorded, record them.
 */
#define _GNU_SOURCE
#include "db/migrate.h"

#include "core/log.h"
#include "db/bind.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES    1000
#define MAX_SQL_SIZE (4 * 1024 * 1024)

struct migration {
    unsigned version;
    char name[256];
};

static int cmp_version(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return x->version < y->version ? -1 : x->version > y->version;
}

/* "NNN_name.sql" -> version; 0 if the name does not follow the pattern. */
static unsigned version_of(const char *name)
{
    unsigned v = 0;
    size_t i = 0, len = strlen(name);

    while (name[i] >= '0' && name[i] <= '9' && v < 100000000)
        v = v * 10 + (unsigned)(name[i++] - '0');
    if (i == 0 || name[i] != '_' || len < 5 || strcmp(name + len - 4, ".sql") != 0)
        return 0;
    return v;
}

static int list_migrations(const char *dir, struct migration *out, int *n, struct wd_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    *n = 0;
    if (!d)
        return wd_error_set(err, -WD_E_CONFIG, "cannot open %s: %s", dir, strerror(errno));
    while ((e = readdir(d))) {
        unsigned v = version_of(e->d_name);
        if (!v)
            continue;
        if (*n == MAX_FILES || strlen(e->d_name) >= sizeof(out->name)) {
            closedir(d);
            return wd_error_set(err, -WD_E_CONFIG, "too many or too long migration names");
        }
        out[*n].version = v;
        snprintf(out[*n].name, sizeof(out->name), "%s", e->d_name);
        (*n)++;
    }
    closedir(d);
    qsort(out, (size_t)*n, sizeof(*out), cmp_version);
    for (int i = 1; i < *n; i++) {
        if (out[i].version == out[i - 1].version)
            return wd_error_set(err, -WD_E_CONFIG, "two migrations numbered %u", out[i].version);
    }
    return 0;
}

static char *read_file(const char *path, size_t *len, struct wd_error *err)
{
    FILE *f = fopen(path, "re");
    char *text = NULL;

    if (!f) {
        wd_error_set(err, -WD_E_CONFIG, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    text = malloc(MAX_SQL_SIZE + 1);
    if (text) {
        *len = fread(text, 1, MAX_SQL_SIZE + 1, f);
        if (*len > MAX_SQL_SIZE) {
            free(text);
            text = NULL;
            wd_error_set(err, -WD_E_CONFIG, "%s is larger than 4 MiB", path);
        } else {
            text[*len] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* Runs a whole file (several statements) and drains every result. */
static int run_script(struct wd_conn *c, const char *sql, size_t len, struct wd_error *err)
{
    if (mysql_real_query(c->mysql, sql, (unsigned long)len))
        return wd_conn_fail(c, "migration", err);
    int status;
    do {
        MYSQL_RES *res = mysql_store_result(c->mysql);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(c->mysql) != 0)
            return wd_conn_fail(c, "migration", err);
        status = mysql_next_result(c->mysql);
        if (status > 0)
            return wd_conn_fail(c, "migration", err);
    } while (status == 0);
    return 0;
}

/* Looks up version: 1 and checksum filled if applied, 0 if not, or a negative code. */
static int applied_checksum(struct wd_conn *c, unsigned version, char checksum[65],
                            struct wd_error *err)
{
    MYSQL_STMT *st =
        wd_conn_stmt(c, 0, "SELECT checksum FROM schema_migrations WHERE version = ?", err);
    struct wd_binder p, r;
    int32_t v = (int32_t)version;
    int rc = 0;

    if (!st)
        return err->code;
    wd_bind_init(&p, 1);
    wd_bind_init(&r, 1);
    wd_bind_i32(&p, &v);
    wd_bind_result_str(&r, checksum, 65);
    if (wd_bind_ok(&p) || wd_bind_ok(&r))
        rc = wd_error_set(err, -WD_E_NOMEM, NULL);
    else if (mysql_stmt_bind_param(st, p.binds) || mysql_stmt_execute(st) ||
             mysql_stmt_bind_result(st, r.binds) || mysql_stmt_store_result(st))
        rc = wd_conn_stmt_fail(c, st, "read schema_migrations", err);
    else {
        rc = mysql_stmt_fetch(st) == 0 ? 1 : 0;
        if (rc == 1)
            wd_bind_fix_str(&r, 0, checksum, 65);
        mysql_stmt_free_result(st);
    }
    wd_bind_release(&p);
    wd_bind_release(&r);
    return rc;
}

static int record(struct wd_conn *c, const struct migration *m, const char *checksum,
                  struct wd_error *err)
{
    MYSQL_STMT *st = wd_conn_stmt(c, 1,
                                  "INSERT INTO schema_migrations (version, name, checksum, "
                                  "applied_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))",
                                  err);
    struct wd_binder p;
    int32_t v = (int32_t)m->version;
    int rc = 0;

    if (!st)
        return err->code;
    wd_bind_init(&p, 3);
    wd_bind_i32(&p, &v);
    wd_bind_str(&p, m->name);
    wd_bind_str(&p, checksum);
    if (wd_bind_ok(&p))
        rc = wd_error_set(err, -WD_E_NOMEM, NULL);
    else if (mysql_stmt_bind_param(st, p.binds) || mysql_stmt_execute(st))
        rc = wd_conn_stmt_fail(c, st, "record migration", err);
    wd_bind_release(&p);
    return rc;
}

static int apply_one(struct wd_conn *c, const char *dir, const struct migration *m, int *applied,
                     struct wd_error *err)
{
    char path[4096], have[65], want[65];
    unsigned char digest[32];
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, m->name);
    char *sql = read_file(path, &len, err);
    if (!sql)
        return err->code;
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)sql, len, NULL, 0);
    sodium_bin2hex(want, sizeof(want), digest, sizeof(digest));
    int rc = applied_checksum(c, m->version, have, err);
    if (rc == 1 && strcmp(have, want) != 0)
        rc = wd_error_set(err, -WD_E_CONFIG,
                          "%s changed after it was applied; add a new migration instead", m->name);
    else if (rc == 0) {
        rc = run_script(c, sql, len, err);
        if (rc == 0)
            rc = record(c, m, want, err);
        if (rc == 0) {
            (*applied)++;
            wd_log_info("applied %s to %s", m->name, c->label);
        }
    } else if (rc == 1) {
        rc = 0;
    }
    free(sql);
    if (rc < 0 && err->message[0] && !strstr(err->message, m->name)) {
        char inner[WD_ERROR_MSG_MAX];
        snprintf(inner, sizeof(inner), "%s", err->message);
        wd_error_set(err, rc, "%s: %s", m->name, inner);
    }
    return rc;
}

/* Takes the named lock that serialises migration runs on one primary. */
static int take_lock(struct wd_conn *c, struct wd_error *err)
{
    if (mysql_real_query(c->mysql, "SELECT GET_LOCK('walletd_migrate', 60)", 38))
        return wd_conn_fail(c, "GET_LOCK", err);
    MYSQL_RES *res = mysql_store_result(c->mysql);
    if (!res)
        return wd_conn_fail(c, "GET_LOCK", err);
    MYSQL_ROW row = mysql_fetch_row(res);
    int got = row && row[0] && strcmp(row[0], "1") == 0;
    mysql_free_result(res);
    return got ? 0 : wd_error_set(err, -WD_E_DB, "another migration run holds the lock");
}

int wd_migrate_apply(struct wd_conn *c, const char *dir, int *applied, struct wd_error *err)
{
    struct migration *files = malloc(MAX_FILES * sizeof(*files));
    int n = 0;

    *applied = 0;
    if (!files)
        return wd_error_set(err, -WD_E_NOMEM, NULL);
    int rc = list_migrations(dir, files, &n, err);
    if (rc == 0)
        rc = wd_conn_open(c, err);
    if (rc == 0)
        rc = take_lock(c, err);
    if (rc == 0)
        rc = wd_conn_exec(c,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          "version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
                          "checksum CHAR(64) NOT NULL, applied_at DATETIME(3) NOT NULL"
                          ") ENGINE = InnoDB",
                          err);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = apply_one(c, dir, &files[i], applied, err);
    if (c->mysql) {
        struct wd_error ignored;
        wd_conn_exec(c, "DO RELEASE_LOCK('walletd_migrate')", &ignored);
    }
    free(files);
    return rc;
}
