/*
 * core/fault.c - the rules of core/fault.h: read from WALLETD_FAULTS_FILE whenever its text
 * changes, counted and fired under one lock. Only the walletd-faults binary is built with this
 * file. The text is compared at every hit, not the file's times: a file replaced within the
 * same clock tick by one of the same size may even get the same inode.
 *
 * The machinery's own allocations (reading the file, the log line of a failure) must neither
 * count as hits nor fail: a thread inside it is marked, and its hits pass.
 */
#define _GNU_SOURCE
#include "core/fault.h"

#include "core/json.h"
#include "core/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RULES_MAX     16
#define STATEMENT_MAX 48
#define TEXT_MAX      4096 /* of the rules file */

struct rule {
    enum wd_fault_point point;
    char name[STATEMENT_MAX]; /* execute's statement, or "" for any */
    enum wd_fault_failure failure;
    long nth, count; /* fires on hits nth .. nth+count-1; count 0: from nth on */
    long hits;
};

static const char *const point_names[WD_FAULT_POINT_COUNT] = {"execute", "commit", "alloc:json",
                                                              "alloc:bind", "alloc:batch"};
static const char *const failure_names[WD_FAULT_FAILURE_COUNT] = {
    "none", "lost", "lost-reply", "deadlock", "timeout", "error", "nomem"};

static char path[4096]; /* WALLETD_FAULTS_FILE; "" when no rules are to be read */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char seen[TEXT_MAX]; /* the text the rules were read from ("" when there is no file) */
static struct rule rules[RULES_MAX];
static int nrules;
static _Thread_local bool inside; /* this thread is in the machinery: its hits pass */

static bool failure_allowed(enum wd_fault_point p, enum wd_fault_failure f)
{
    if (p == WD_FAULT_EXECUTE)
        return f == WD_FAULT_LOST || (f >= WD_FAULT_DEADLOCK && f <= WD_FAULT_ERROR);
    if (p == WD_FAULT_COMMIT)
        return f >= WD_FAULT_LOST && f <= WD_FAULT_ERROR;
    return f == WD_FAULT_NOMEM;
}

static int lookup(const char *const *names, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncmp(names[i], s, len) == 0)
            return i;
    }
    return -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n'))
        s[--len] = '\0';
    return s;
}

/* "execute:insert transactions" into r's point and name. 0 or -1. */
static int parse_point(char *text, struct rule *r)
{
    char *colon = strchr(text, ':');
    int p = lookup(point_names, WD_FAULT_POINT_COUNT, text, strlen(text));

    r->name[0] = '\0';
    if (p < 0 && colon && strncmp(text, "execute:", 8) == 0) {
        p = WD_FAULT_EXECUTE;
        snprintf(r->name, sizeof(r->name), "%s", trim(colon + 1));
    }
    r->point = (enum wd_fault_point)p;
    return p < 0 ? -1 : 0;
}

/* "deadlock @2 *3" into r. 0 or -1. */
static int parse_failure(char *text, struct rule *r)
{
    size_t len = strcspn(text, " \t");
    int f = lookup(failure_names, WD_FAULT_FAILURE_COUNT, text, len);
    char *end;

    if (f <= 0 || !failure_allowed(r->point, (enum wd_fault_failure)f))
        return -1;
    r->failure = (enum wd_fault_failure)f;
    text = trim(text + len);
    if (text[0] != '@' || (r->nth = strtol(text + 1, &end, 10)) < 1)
        return -1;
    text = trim(end);
    r->count = 1;
    if (text[0] == '*') {
        r->count = strtol(text + 1, &end, 10);
        if (end == text + 1 || r->count < 0)
            return -1;
        text = trim(end);
    }
    return text[0] ? -1 : 0;
}

/* One rule, "POINT = FAILURE @N [*K]"; blank lines and # comments are skipped. 1 a rule, 0 none,
 * -1 malformed. */
static int parse_rule(char *line, struct rule *r)
{
    line = trim(line);
    if (!line[0] || line[0] == '#')
        return 0;
    char *eq = strchr(line, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    memset(r, 0, sizeof(*r));
    if (parse_point(trim(line), r) < 0 || parse_failure(trim(eq + 1), r) < 0)
        return -1;
    return 1;
}

/* Parses text (overwritten) into rules[]; on a malformed rule none are armed. NULL, or what was
 * wrong (for the log). Under mu. */
static const char *parse_rules(char *text, int *bad_line)
{
    char *save = NULL;

    nrules = 0;
    *bad_line = 0;
    for (char *line = strtok_r(text, "\n;", &save); line; line = strtok_r(NULL, "\n;", &save)) {
        (*bad_line)++;
        int rc = nrules < RULES_MAX ? parse_rule(line, &rules[nrules]) : -1;
        if (rc < 0) {
            nrules = 0;
            return "not POINT = FAILURE @N [*K], or more than 16 rules";
        }
        nrules += rc;
    }
    return NULL;
}

/* Arms the rules of the file anew if its text is not the one they were read from. Under mu;
 * *armed is how many were armed, or -1 when nothing changed; returns what to log, or NULL. */
static const char *refresh(int *bad_line, int *armed)
{
    char text[TEXT_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t len = fd >= 0 ? read(fd, text, sizeof(text)) : 0; /* a file that small: one read */

    if (fd >= 0)
        close(fd);
    if (len < 0)
        len = 0;
    if (len == (ssize_t)sizeof(text)) /* not rules: refused as a malformed one is */
        len = snprintf(text, sizeof(text), "the file is longer than %d bytes", TEXT_MAX - 1);
    text[len] = '\0';
    *armed = -1;
    *bad_line = 0;
    if (strcmp(text, seen) == 0)
        return NULL;
    memcpy(seen, text, (size_t)len + 1);
    const char *bad = parse_rules(text, bad_line);
    *armed = nrules;
    return bad;
}

/* Counts the hit on every rule it matches; the first that fires decides. Under mu. */
static struct rule *count_hit(enum wd_fault_point point, const char *name)
{
    struct rule *fired = NULL;

    for (int i = 0; i < nrules; i++) {
        struct rule *r = &rules[i];
        if (r->point != point || (r->name[0] && (!name || strcmp(r->name, name) != 0)))
            continue;
        r->hits++;
        if (!fired && r->hits >= r->nth && (r->count == 0 || r->hits < r->nth + r->count))
            fired = r;
    }
    return fired;
}

enum wd_fault_failure wd_fault_hit(enum wd_fault_point point, const char *name)
{
    if (!path[0] || inside)
        return WD_FAULT_NONE;
    inside = true;
    int bad_line, armed;
    pthread_mutex_lock(&mu);
    const char *bad = refresh(&bad_line, &armed);
    struct rule *r = count_hit(point, name);
    struct rule fired = r ? *r : (struct rule){0};
    pthread_mutex_unlock(&mu);
    if (bad)
        wd_log_error("WALLETD_FAULTS_FILE %s: rule %d: %s; nothing armed", path, bad_line, bad);
    else if (armed >= 0)
        wd_log_warn("fault rules read from %s: %d armed", path, armed);
    if (r) {
        wd_log_warn("fault injected: %s%s%s = %s (hit %ld)", point_names[point], name ? ":" : "",
                    name ? name : "", failure_names[fired.failure], fired.hits);
        wd_log_flush(1000); /* out before the request is answered: its test reads the log then */
    }
    inside = false;
    return fired.failure;
}

static void *json_alloc(size_t size)
{
    return wd_fault_hit(WD_FAULT_ALLOC_JSON, NULL) ? NULL : malloc(size);
}

void wd_fault_start(void)
{
    const char *file = getenv("WALLETD_FAULTS_FILE");

    if (!file || !file[0] || strlen(file) >= sizeof(path))
        return;
    memcpy(path, file, strlen(file) + 1);
    wd_json_start(json_alloc); /* still counted as failures: the NULLs are real to jansson */
    wd_log_warn("fault injection: rules from %s", path);
}
