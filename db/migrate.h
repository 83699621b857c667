/*
 * db/migrate.h - applying the versioned SQL files in migrations/ to one shard primary.
 *
 * Owns: the schema_migrations table and the rules of migrating: files are named
 * NNN_name.sql (NNN a positive number, unique), applied in number order, each at most once, and
 * recorded with a BLAKE2b checksum of their text; an applied file that has since changed stops
 * the run (migrations are forward-only: add a new file instead). A named lock (GET_LOCK) makes
 * concurrent runs against one primary take turns. Replicas receive everything by replication.
 * Thread-safety: none; one connection.
 */
#ifndef WD_DB_MIGRATE_H
#define WD_DB_MIGRATE_H

#include "core/error.h"
#include "db/conn.h"

/*
 * Applies every pending migration in dir to the primary behind c (opened with
 * WD_CONN_MULTI_STATEMENTS). *applied counts the files applied now. 0 or a code, err says which
 * file failed and why.
 */
int wd_migrate_apply(struct wd_conn *c, const char *dir, int *applied, struct wd_error *err);

#endif
