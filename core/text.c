/*
 * core/text.c - character classes of caller-chosen text.
 */
#include "core/text.h"

static bool in_class(unsigned char c, enum wd_text_class cls)
{
    if (cls == WD_TEXT_PRINTABLE)
        return c >= 0x20 && c <= 0x7e;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '.' || c == '-')
        return true;
    return cls == WD_TEXT_ID && c == ':';
}

bool wd_text_valid(const char *s, size_t len, size_t max, enum wd_text_class cls)
{
    if (len < 1 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!in_class((unsigned char)s[i], cls))
            return false;
    }
    return true;
}
