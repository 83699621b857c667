/*
 * core/text.h - the one check of caller-chosen text: length and character class.
 *
 * Owns: which bytes each kind of identifier may hold. Account IDs, tenant names, request IDs,
 * references and idempotency keys are all checked here, so "printable" means one thing.
 * Pure; thread-safe.
 */
#ifndef WD_CORE_TEXT_H
#define WD_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

enum wd_text_class {
    WD_TEXT_PRINTABLE, /* printable ASCII, 0x20..0x7E (references, idempotency keys) */
    WD_TEXT_ID,        /* [A-Za-z0-9_.:-] (account IDs, request IDs) */
    WD_TEXT_NAME,      /* [A-Za-z0-9_.-] (tenant names) */
};

/* True if s[0..len) is 1..max bytes, every one of class cls. */
bool wd_text_valid(const char *s, size_t len, size_t max, enum wd_text_class cls);

#endif
