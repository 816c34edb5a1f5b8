/*
 * util/utf8.h -- the one UTF-8 validity check, for the writers that pass
 * valid UTF-8 through and escape other bytes (DOT labels, JSON strings,
 * terminal output).
 */
#ifndef RC_UTIL_UTF8_H
#define RC_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid UTF-8 sequence at p[0..n), n >= 1, or 0 when it
 * is not one: a stray continuation byte, a truncated sequence, an overlong
 * form, a surrogate (U+D800-DFFF) or a code point above U+10FFFF. Reads at
 * most min(n, 4) bytes and stops at the first bad one, so a NUL-terminated
 * string may pass a generous n. Control characters count as valid (one
 * byte): callers escape them by their own rules. */
static inline size_t rc__utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t k;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) k = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) k = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, cp = c & 0x07;
    else return 0;
    for (size_t i = 1; i < k; i++) {
        if (i >= n || (p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

#endif
