/*
 * core/json.h - jansson's allocator for the whole process, and what it tells: how many of this
 * thread's jansson allocations failed.
 *
 * jansson does not report every allocation that fails. Its parser drops a byte it could not save
 * (a string or a number is read short, and json_loadb succeeds), and json_dumps leaves out an
 * object key it could not write (and returns the shorter text). Code that must not act on such a
 * result, or hand it on, reads wd_json_failures() before and after the calls that made it: a
 * change means the result may be wrong, and the honest answer is out of memory.
 *
 * Owns: the functions jansson allocates with (json_set_alloc_funcs), installed by wd_json_start
 * at start, before any thread; until then jansson uses malloc and nothing is counted.
 * Thread-safety: wd_json_start before threads exist; wd_json_failures reads the calling
 * thread's own count.
 */
#ifndef WD_CORE_JSON_H
#define WD_CORE_JSON_H

#include <stddef.h>

/* Makes jansson allocate with alloc (NULL: malloc) and free, counting the NULLs alloc returns. */
void wd_json_start(void *(*alloc)(size_t size));

/* How many jansson allocations of the calling thread have failed since it started. */
unsigned long wd_json_failures(void);

#endif
