/*
 * cmd/walletd.c - the walletd server: the master process.
 *
 * The master reads the configuration (failing fast with the variable's name), loads the API
 * keys, builds the shard map, maps the shared metrics region, opens one listening socket per
 * worker on PORT (SO_REUSEPORT, so the kernel spreads connections over the workers and a dead
 * worker's socket keeps queueing until its replacement accepts), and forks WORKERS workers
 * (cmd/worker.c). It restarts a worker that dies, passes SIGHUP on (each worker reloads the API
 * keys), and on SIGTERM/SIGINT passes the signal on, waits for every worker to drain and exits 0
 * (1 if it had to kill workers that did not stop in time).
 */
#define _GNU_SOURCE
#include "api/auth.h"
#include "cmd/worker.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/fault.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/seal.h"
#include "shard/map.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS        64
#define RESTART_BACKOFF_NS 1000000000LL /* a worker that dies within 1 s waits 1 s */

struct slot {
    pid_t pid;
    int fd;
    int admin_fd; /* ADMIN_PORT's socket, or -1 */
    int64_t started_ns;
    int64_t restart_at_ns;
};

/* Immutable once the workers are forked (STYLE rule 6). */
static struct wd_config config;
static struct wd_map map;
static struct wd_auth_live keys; /* reloaded on SIGHUP, before it is passed on to the workers */
static struct slot slots[MAX_WORKERS];

static int fail(const char *what, const char *message)
{
    fprintf(stderr, "walletd: %s: %s\n", what, message);
    wd_log_error("%s: %s", what, message);
    return 2;
}

/* The socket address of HOST:port. 0 or -WD_E_CONFIG. */
static int listen_addr(const struct wd_config *cfg, int port, struct sockaddr_storage *addr,
                       socklen_t *len, struct wd_error *err)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;

    memset(addr, 0, sizeof(*addr));
    if (inet_pton(AF_INET, cfg->listen_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, cfg->listen_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return wd_error_set(err, -WD_E_CONFIG, "HOST: not an IPv4 or IPv6 address");
}

/*
 * Binds HOST:port (PORT, or ADMIN_PORT: name says which); with reuseport, for a worker's
 * listening socket. Returns the fd or a code. SO_REUSEPORT would let a second walletd on the same
 * port split the traffic silently, so the master first binds once without it (probe) to check
 * that nobody listens there.
 */
static int bind_port(const struct wd_config *cfg, const char *name, int port, bool reuseport,
                     struct wd_error *err)
{
    struct sockaddr_storage addr;
    socklen_t len = 0;
    int one = 1;
    int rc = listen_addr(cfg, port, &addr, &len, err);

    if (rc < 0)
        return rc;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wd_error_set(err, -WD_E_CONFIG, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, len) < 0 || (reuseport && listen(fd, 4096) < 0)) {
        int saved = errno;
        close(fd);
        return wd_error_set(err, -WD_E_CONFIG, "%s: cannot listen on %s:%d: %s", name,
                            cfg->listen_addr, port, strerror(saved));
    }
    return fd;
}

/* One socket per worker on PORT, and on ADMIN_PORT if it is set (see bind_port). */
static int open_sockets(struct wd_error *err)
{
    int probe = bind_port(&config, "PORT", config.port, false, err);

    if (probe < 0)
        return probe;
    close(probe);
    if (config.admin_port) {
        probe = bind_port(&config, "ADMIN_PORT", config.admin_port, false, err);
        if (probe < 0)
            return probe;
        close(probe);
    }
    for (int i = 0; i < config.workers; i++) {
        slots[i].admin_fd = -1;
        slots[i].fd = bind_port(&config, "PORT", config.port, true, err);
        if (slots[i].fd < 0)
            return slots[i].fd;
        if (config.admin_port && (slots[i].admin_fd = bind_port(&config, "ADMIN_PORT",
                                                                config.admin_port, true, err)) < 0)
            return slots[i].admin_fd;
    }
    return 0;
}

static pid_t spawn(int index)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    for (int i = 0; i < config.workers; i++) {
        if (i == index)
            continue;
        close(slots[i].fd);
        if (slots[i].admin_fd >= 0)
            close(slots[i].admin_fd);
    }
    _exit(wd_worker_run(&config, &map, &keys, slots[index].fd, slots[index].admin_fd, index));
}

static void start_worker(int index)
{
    struct slot *s = &slots[index];

    s->pid = spawn(index);
    s->started_ns = wd_clock_mono_ns();
    if (s->pid < 0) {
        wd_log_error("fork failed: %s", strerror(errno));
        s->pid = 0;
        s->restart_at_ns = s->started_ns + RESTART_BACKOFF_NS;
    }
}

static void describe_exit(int index, pid_t pid, int status)
{
    if (WIFSIGNALED(status))
        wd_log_warn("worker %d (pid %d) killed by signal %d", index, (int)pid, WTERMSIG(status));
    else
        wd_log_warn("worker %d (pid %d) exited with %d", index, (int)pid, WEXITSTATUS(status));
}

/* Reaps dead workers; schedules restarts unless stopping. Returns how many are still alive. */
static int reap(bool stopping)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < config.workers; i++) {
            if (slots[i].pid != pid)
                continue;
            slots[i].pid = 0;
            if (stopping)
                break;
            describe_exit(i, pid, status);
            int64_t now = wd_clock_mono_ns();
            bool crashed_fast = now - slots[i].started_ns < RESTART_BACKOFF_NS;
            slots[i].restart_at_ns = crashed_fast ? now + RESTART_BACKOFF_NS : now;
        }
    }
    int alive = 0;
    for (int i = 0; i < config.workers; i++)
        alive += slots[i].pid > 0;
    return alive;
}

static void restart_due(void)
{
    int64_t now = wd_clock_mono_ns();

    for (int i = 0; i < config.workers; i++) {
        if (slots[i].pid == 0 && now >= slots[i].restart_at_ns) {
            start_worker(i);
            wd_metrics_worker_restart();
            wd_log_info("worker %d restarted as pid %d", i, (int)slots[i].pid);
        }
    }
}

/* SIGHUP: every worker reloads its API keys; so does the master, for workers it starts later. */
static void reload_keys(void)
{
    struct wd_error err = {0};

    if (wd_auth_reload(&keys, &err) < 0)
        wd_log_error("master: API keys not reloaded: %s", err.message);
    for (int i = 0; i < config.workers; i++) {
        if (slots[i].pid > 0)
            kill(slots[i].pid, SIGHUP);
    }
}

static int shutdown_workers(const sigset_t *set)
{
    int64_t deadline =
        wd_clock_mono_ns() +
        (int64_t)(config.drain_delay_s + config.shutdown_timeout_s + 5) * 1000000000LL;

    wd_log_info("master: stopping %d workers", config.workers);
    for (int i = 0; i < config.workers; i++) {
        if (slots[i].pid > 0)
            kill(slots[i].pid, SIGTERM);
    }
    while (reap(true) > 0) {
        struct timespec tick = {0, 50000000L};
        if (wd_clock_mono_ns() > deadline) {
            for (int i = 0; i < config.workers; i++) {
                if (slots[i].pid > 0)
                    kill(slots[i].pid, SIGKILL);
            }
            wd_log_error("master: workers did not stop in time; killed");
            reap(true);
            return 1;
        }
        sigtimedwait(set, NULL, &tick);
    }
    wd_log_info("master: all workers stopped");
    return 0;
}

static int supervise(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < config.workers; i++)
        start_worker(i);
    wd_log_info("walletd listening on %s:%d with %d workers", config.listen_addr, config.port,
                config.workers);
    for (;;) {
        struct timespec tick = {0, 100000000L};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            return shutdown_workers(&set);
        if (sig == SIGHUP)
            reload_keys();
        reap(false);
        restart_due();
    }
}

/* Raises the open-file limit to what the hard limit allows (workers inherit it); returns it. */
static long raise_open_files(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        struct rlimit raised = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = want;
    }
    return (long)rl.rlim_cur;
}

static int setup(void)
{
    struct wd_error err = {0};

    if (sodium_init() < 0)
        return fail("libsodium", "initialisation failed");
    if (wd_config_load(&config, wd_config_process_env, NULL, &err) < 0)
        return fail("configuration", err.message);
    wd_log_min_level = config.log_level;
    if (wd_log_start(config.log_buffer_bytes) < 0)
        return fail("LOG_BUFFER_BYTES", "cannot start the log thread");
    wd_fault_start(); /* walletd-faults only: arms the rules of WALLETD_FAULTS_FILE */
    long nofile = raise_open_files();
    if (wd_config_fit_connections(&config, nofile, &err) < 0)
        return fail("configuration", err.message);
    wd_log_info("open-file limit %ld: %d HTTP connections per worker (%d per address), %d "
                "descriptors kept for its pools",
                nofile, config.max_connections, config.max_connections_ip,
                wd_config_worker_fds(&config));
    if (wd_map_init(&map, config.shard_count, config.shard_map, &err) < 0)
        return fail("configuration", err.message);
    if (wd_auth_open(&keys, config.api_keys_file, &err) < 0)
        return fail("configuration", err.message);
    bool random_cursor_key = false;
    if (wd_seal_load_key(config.cursor_key_file, &random_cursor_key, &err) < 0)
        return fail("configuration", err.message);
    if (random_cursor_key)
        wd_log_warn("CURSOR_KEY_FILE is not set: ledger cursors work only on this pod");
    if (mysql_library_init(0, NULL, NULL) != 0)
        return fail("mysql", "library initialisation failed");
    if (wd_metrics_init() < 0)
        return fail("metrics", "cannot map shared memory");
    return open_sockets(&err) < 0 ? fail("listen", err.message) : 0;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: walletd   (configured by environment variables; see README)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    wd_json_start(NULL); /* before any JSON exists */
    int rc = setup();
    if (rc != 0)
        return rc;
    rc = supervise();
    wd_auth_close(&keys);
    mysql_library_end();
    wd_log_stop(1000);
    return rc;
}
