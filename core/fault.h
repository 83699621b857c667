/*
 * core/fault.h - named failure points, for tests (SQLite's fault injection, in spirit): a test
 * arms "the Nth time point P is reached, fail this way", and the code at P then fails for real.
 *
 * Owns: the points and the ways they fail, the rules a test arms, and each rule's hit counter.
 * The point alloc:json is the allocator under core/json's.
 *
 * Compiled in only with -DWALLETD_FAULT_INJECTION=ON, and then only into the walletd-faults
 * binary (CMakeLists.txt); walletd itself is always built without it. Without the definition
 * every macro below is a constant, so a point costs nothing and cannot be reached.
 *
 * Arming: walletd-faults reads its rules from the file WALLETD_FAULTS_FILE names, and again
 * whenever the file's text changes (checked at every hit), so a test re-arms a running server by
 * replacing the file; new text starts every counter at zero (to arm the same rules afresh, vary
 * a "# comment" line). A file with one malformed rule arms nothing (and says so in the log).
 * One rule per line (or ';'):
 *
 *     POINT = FAILURE @N [*K]      fail the Nth hit of POINT after arming, and K-1 more (K = 1 if
 *                                  not given; *0: every hit from the Nth on)
 *
 *     execute[:STATEMENT]          executing a prepared statement (db/stmt.c); STATEMENT names
 *                                  one as its errors do ("insert transactions"), none means any
 *     commit                       a writer's COMMIT (db/conn.c)
 *     alloc:json                   any jansson allocation, in any thread
 *     alloc:bind                   a statement's parameter or result binder (db/bind.c)
 *     alloc:batch                  a writer's group-commit scratch (wallet/batch.c)
 *
 * Failures: execute and commit take lost (the socket is shut down: the statement fails in the
 * client library as on a dropped connection), deadlock, timeout and error (the server raises
 * 1213, 1205 or 4025 (a CHECK constraint) on the connection); commit also lost-reply (COMMIT
 * commits, then the connection drops before its answer is read: the dangerous case). The alloc
 * points take nomem. db/inject.c makes the database failures.
 * Each failure is logged ("fault injected: ..."), so a test can tell that it fired.
 *
 * Thread-safety: wd_fault_start runs once, before threads; wd_fault_hit from any thread.
 */
#ifndef WD_CORE_FAULT_H
#define WD_CORE_FAULT_H

enum wd_fault_point {
    WD_FAULT_EXECUTE,
    WD_FAULT_COMMIT,
    WD_FAULT_ALLOC_JSON,
    WD_FAULT_ALLOC_BIND,
    WD_FAULT_ALLOC_BATCH,
    WD_FAULT_POINT_COUNT
};

enum wd_fault_failure {
    WD_FAULT_NONE = 0,
    WD_FAULT_LOST,
    WD_FAULT_LOST_REPLY,
    WD_FAULT_DEADLOCK,
    WD_FAULT_TIMEOUT,
    WD_FAULT_ERROR,
    WD_FAULT_NOMEM,
    WD_FAULT_FAILURE_COUNT
};

#ifdef WALLETD_FAULT_INJECTION

/* Reads WALLETD_FAULTS_FILE and, when it is set, installs jansson's counting allocator. */
void wd_fault_start(void);

/* Counts a hit of point (name: the statement, for execute; else NULL) and returns how it must
 * fail now, or WD_FAULT_NONE. */
enum wd_fault_failure wd_fault_hit(enum wd_fault_point point, const char *name);

#else

#    define wd_fault_start()          ((void)0)
#    define wd_fault_hit(point, name) WD_FAULT_NONE

#endif

/* An allocation at a failure point: NULL when the point fails now, else the value of alloc. */
#define WD_FAULT_ALLOC(point, alloc) (wd_fault_hit(point, NULL) ? NULL : (alloc))

#endif
