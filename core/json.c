/*
 * core/json.c - the counting allocator of core/json.h.
 */
#include "core/json.h"

#include <jansson.h>
#include <stdlib.h>

static void *(*underlying)(size_t size) = malloc;
static _Thread_local unsigned long failures;

static void *counted_alloc(size_t size)
{
    void *p = underlying(size);

    if (!p)
        failures++;
    return p;
}

void wd_json_start(void *(*alloc)(size_t size))
{
    underlying = alloc ? alloc : malloc;
    json_set_alloc_funcs(counted_alloc, free);
}

unsigned long wd_json_failures(void)
{
    return failures;
}
