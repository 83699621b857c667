/*
 * cmd/walletctl.c - the operator tool.
 *
 *   walletctl migrate [--dir DIR]              apply pending migrations to every shard primary
 *   walletctl apikey create --tenant NAME [--file PATH]
 *                                              make an API key; print it once; store its hash
 *   walletctl verify [--replicas]              check the money invariants on every shard;
 *                                              --replicas: and that every replica holds
 *                                              exactly what its primary holds
 *
 * Shards come from the same environment as walletd (SHARD_COUNT, DATABASE_SHARD_<n>_URL,
 * DATABASE_SHARD_<n>_REPLICA_URLS);
 * the key file from --file or API_KEYS_FILE.
 */
#define _GNU_SOURCE
#include "api/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "db/conn.h"
#include "db/migrate.h"
#include "db/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct wd_config config; /* read once at start */

static int usage(void)
{
    fprintf(stderr, "usage:\n"
                    "  walletctl migrate [--dir DIR]\n"
                    "  walletctl apikey create --tenant NAME [--file PATH]\n"
                    "  walletctl verify [--replicas]\n");
    return 2;
}

/* Value of --name in argv[from..], or NULL. */
static const char *option(int argc, char **argv, int from, const char *name)
{
    for (int i = from; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    }
    return NULL;
}

static int load_storage(void)
{
    struct wd_error err = {0};

    if (wd_config_load_storage(&config, wd_config_process_env, NULL, &err) < 0) {
        fprintf(stderr, "walletctl: configuration: %s\n", err.message);
        return -1;
    }
    return 0;
}

/*
 * Runs fn on a connection to every shard's primary, in order, whatever fails on the way; the
 * connection is opened with flags and a long query timeout (migrations and verification are
 * long). Returns 1 if fn failed on any shard (it has said why), else 0.
 */
static int each_primary(unsigned flags, int (*fn)(struct wd_conn *c, int shard, void *ctx),
                        void *ctx)
{
    int failed = 0;

    for (int i = 0; i < config.shard_count; i++) {
        struct wd_conn c;
        char label[48];
        snprintf(label, sizeof(label), "shard%d-primary", i);
        wd_conn_init(&c, &config.shards[i].primary, label, flags, config.db_connect_timeout_s, 600);
        failed |= fn(&c, i, ctx) < 0;
        wd_conn_release(&c);
    }
    return failed;
}

static int migrate_shard(struct wd_conn *c, int shard, void *ctx)
{
    struct wd_error err = {0};
    int applied = 0;

    if (wd_migrate_apply(c, ctx, &applied, &err) < 0) {
        fprintf(stderr, "walletctl: migrate shard %d: %s\n", shard, err.message);
        return -1;
    }
    printf("shard %d: %d migration(s) applied\n", shard, applied);
    return 0;
}

static int cmd_migrate(int argc, char **argv)
{
    const char *dir = option(argc, argv, 2, "--dir");

    if (load_storage() < 0)
        return 2;
    return each_primary(WD_CONN_MULTI_STATEMENTS, migrate_shard,
                        (void *)(dir ? dir : "migrations"));
}

static int cmd_apikey(int argc, char **argv)
{
    const char *tenant = option(argc, argv, 3, "--tenant");
    const char *file = option(argc, argv, 3, "--file");
    char key[WD_AUTH_KEY_LEN + 1], line[256];
    struct wd_error err = {0};

    if (argc < 3 || strcmp(argv[2], "create") != 0 || !tenant)
        return usage();
    if (!file)
        file = getenv("API_KEYS_FILE");
    if (!file || !file[0]) {
        fprintf(stderr, "walletctl: give --file PATH or set API_KEYS_FILE\n");
        return 2;
    }
    if (wd_auth_generate(tenant, key, line, sizeof(line), &err) < 0) {
        fprintf(stderr, "walletctl: %s\n", err.message);
        return 2;
    }
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) < 0) {
        fprintf(stderr, "walletctl: cannot write %s: %s\n", file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    close(fd);
    printf("%s\n", key);
    sodium_memzero(key, sizeof(key));
    fprintf(stderr, "walletctl: key for tenant '%s' added to %s; it is shown only once\n", tenant,
            file);
    return 0;
}

static void report(void *ctx, const char *wallet_id, const char *problem)
{
    printf("shard %d: wallet %s: %s\n", *(int *)ctx, wallet_id, problem);
}

/* A replica that differs: the table (its CHECKSUM TABLE name) and how. */
static void report_table(void *ctx, const char *table, const char *problem)
{
    printf("shard %d: table %s: %s\n", *(int *)ctx, table, problem);
}

struct totals {
    long wallets, violations, replicas;
};

static int verify_shard(struct wd_conn *c, int shard, void *ctx)
{
    struct totals *total = ctx;
    struct wd_error err = {0};
    long wallets = 0, violations = 0;
    int rc = wd_verify_shard(c, report, &shard, &wallets, &violations, &err);

    if (rc < 0)
        fprintf(stderr, "walletctl: verify shard %d: %s\n", shard, err.message);
    total->wallets += wallets;
    total->violations += violations;
    return rc;
}

/* How long a replica may take to apply what its primary has written before it is compared. */
#define REPLICA_WAIT_S 60

/* Compares every replica of shard with the primary on c. */
static int compare_replicas(struct wd_conn *c, int shard, void *ctx)
{
    struct totals *total = ctx;
    int failed = 0;

    for (int r = 0; r < config.shards[shard].replica_count; r++) {
        struct wd_conn rc;
        struct wd_error err = {0};
        char label[48];
        long differences = 0;
        snprintf(label, sizeof(label), "shard%d-replica%d", shard, r);
        wd_conn_init(&rc, &config.shards[shard].replicas[r], label, 0, config.db_connect_timeout_s,
                     REPLICA_WAIT_S + 600);
        int ctx_shard = shard;
        if (wd_verify_replica(c, &rc, REPLICA_WAIT_S, report_table, &ctx_shard, &differences,
                              &err) < 0) {
            fprintf(stderr, "walletctl: compare %s: %s\n", label, err.message);
            failed = 1;
        } else if (!differences) {
            printf("shard %d: replica %d holds exactly what its primary holds\n", shard, r);
        }
        total->violations += differences;
        total->replicas++;
        wd_conn_release(&rc);
    }
    return failed ? -1 : 0;
}

static int cmd_verify(int argc, char **argv)
{
    struct totals total = {0};
    bool replicas = argc == 3 && strcmp(argv[2], "--replicas") == 0;

    if (argc > 3 || (argc == 3 && !replicas))
        return usage();
    if (load_storage() < 0)
        return 2;
    int failed = each_primary(0, verify_shard, &total);
    if (replicas)
        failed |= each_primary(0, compare_replicas, &total);
    printf("%s: %ld wallets on %d shards checked", total.violations || failed ? "FAILED" : "ok",
           total.wallets, config.shard_count);
    if (replicas)
        printf(", %ld replicas compared", total.replicas);
    printf(", %ld violations\n", total.violations);
    return total.violations || failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (sodium_init() < 0) {
        fprintf(stderr, "walletctl: libsodium failed to initialise\n");
        return 1;
    }
    wd_log_min_level = WD_LOG_WARN;
    mysql_library_init(0, NULL, NULL);
    int rc;
    if (strcmp(argv[1], "migrate") == 0)
        rc = cmd_migrate(argc, argv);
    else if (strcmp(argv[1], "apikey") == 0)
        rc = cmd_apikey(argc, argv);
    else if (strcmp(argv[1], "verify") == 0)
        rc = cmd_verify(argc, argv);
    else
        rc = usage();
    mysql_library_end();
    return rc;
}
