#include "CJSON.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    int depth;
    int max_depth;
} scanner;

static inline void skip_whitespace(scanner *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) s->p++;
}

static int hex_digit(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Four hex digits at p (bounds checked by the caller's `end`); -1 when not.
static long hex4(const uint8_t *p, const uint8_t *end) {
    if (end - p < 4) return -1;
    long value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex_digit(p[i]);
        if (digit < 0) return -1;
        value = value << 4 | digit;
    }
    return value;
}

/// Length of a valid UTF-8 sequence starting with a byte >= 0x80 at p, or 0 (RFC 3629 table 3-7).
static int utf8_length(const uint8_t *p, const uint8_t *end) {
    uint8_t lead = p[0];
    long left = end - p;
#define CONT(i, lo, hi) (left > (i) && p[i] >= (lo) && p[i] <= (hi))
    if (lead >= 0xC2 && lead <= 0xDF) return CONT(1, 0x80, 0xBF) ? 2 : 0;
    if (lead == 0xE0) return CONT(1, 0xA0, 0xBF) && CONT(2, 0x80, 0xBF) ? 3 : 0;
    if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) return CONT(1, 0x80, 0xBF) && CONT(2, 0x80, 0xBF) ? 3 : 0;
    if (lead == 0xED) return CONT(1, 0x80, 0x9F) && CONT(2, 0x80, 0xBF) ? 3 : 0;
    if (lead == 0xF0) return CONT(1, 0x90, 0xBF) && CONT(2, 0x80, 0xBF) && CONT(3, 0x80, 0xBF) ? 4 : 0;
    if (lead >= 0xF1 && lead <= 0xF3) return CONT(1, 0x80, 0xBF) && CONT(2, 0x80, 0xBF) && CONT(3, 0x80, 0xBF) ? 4 : 0;
    if (lead == 0xF4) return CONT(1, 0x80, 0x8F) && CONT(2, 0x80, 0xBF) && CONT(3, 0x80, 0xBF) ? 4 : 0;
#undef CONT
    return 0;
}

/// A string starting at the opening quote. On success `s->p` is past the closing quote;
/// `*escaped` tells whether it had an escape.
static int scan_string(scanner *s, int *escaped) {
    const uint8_t *p = s->p + 1;
    const uint8_t *end = s->end;
    *escaped = 0;
    for (;;) {
#if defined(__SSE2__)
        // Sixteen plain bytes at a time: no quote, backslash, control or non-ASCII byte.
        while (end - p >= 16) {
            __m128i chunk = _mm_loadu_si128((const __m128i *)p);
            __m128i quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('"'));
            __m128i backslash = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\'));
            // Signed compare: bytes 0x00-0x1F are < 0x20, bytes >= 0x80 are negative.
            __m128i low = _mm_cmplt_epi8(chunk, _mm_set1_epi8(0x20));
            int mask = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low));
            if (mask == 0) {
                p += 16;
                continue;
            }
            p += __builtin_ctz((unsigned)mask);
            break;
        }
#endif
        if (p >= end) return 0;
        uint8_t c = *p;
        if (c == '"') {
            s->p = p + 1;
            return 1;
        }
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2) return 0;
            uint8_t e = p[1];
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                p += 2;
            } else if (e == 'u') {
                long scalar = hex4(p + 2, end);
                if (scalar < 0) return 0;
                p += 6;
                if (scalar >= 0xD800 && scalar <= 0xDBFF) {
                    // A high surrogate must be followed by an escaped low one (RFC 8259 §7).
                    if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return 0;
                    long low = hex4(p + 2, end);
                    if (low < 0xDC00 || low > 0xDFFF) return 0;
                    p += 6;
                } else if (scalar >= 0xDC00 && scalar <= 0xDFFF) {
                    return 0;
                }
            } else {
                return 0;
            }
        } else if (c < 0x20) {
            return 0;
        } else if (c < 0x80) {
            p++;
        } else {
            int length = utf8_length(p, end);
            if (length == 0) return 0;
            p += length;
        }
    }
}

static int scan_number(scanner *s) {
    const uint8_t *p = s->p;
    const uint8_t *end = s->end;
    if (*p == '-') p++;
    if (p >= end || *p < '0' || *p > '9') return 0;
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') return 0;  // leading zero
    } else {
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return 0;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return 0;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    s->p = p;
    return 1;
}

static int scan_literal(scanner *s, const char *word, size_t length) {
    if ((size_t)(s->end - s->p) < length || memcmp(s->p, word, length) != 0) return 0;
    s->p += length;
    return 1;
}

static int scan_value(scanner *s, hy_json_shape *top, const uint8_t *names, const long *name_lengths, int name_count);

static int scan_container(scanner *s, int object, hy_json_shape *top, const uint8_t *names, const long *name_lengths,
                          int name_count) {
    if (++s->depth > s->max_depth) return 0;
    s->p++;
    skip_whitespace(s);
    uint8_t close = object ? '}' : ']';
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 1;
    }
    for (;;) {
        skip_whitespace(s);
        if (object) {
            if (s->p >= s->end || *s->p != '"') return 0;
            const uint8_t *key = s->p + 1;
            int escaped;
            if (!scan_string(s, &escaped)) return 0;
            if (top) {
                top->top_members++;
                if (escaped) {
                    top->escaped_top_key = 1;
                } else {
                    long length = (long)(s->p - 1 - key);
                    const uint8_t *name = names;
                    for (int i = 0; i < name_count; i++) {
                        if (name_lengths[i] == length && memcmp(name, key, (size_t)length) == 0) top->probe_hit = 1;
                        name += name_lengths[i];
                    }
                }
            }
            skip_whitespace(s);
            if (s->p >= s->end || *s->p != ':') return 0;
            s->p++;
            skip_whitespace(s);
        }
        if (!scan_value(s, NULL, NULL, NULL, 0)) return 0;
        skip_whitespace(s);
        if (s->p >= s->end) return 0;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p != close) return 0;
        s->p++;
        s->depth--;
        return 1;
    }
}

/// `top` is set for the top-level value only (its object keys are counted and probed).
static int scan_value(scanner *s, hy_json_shape *top, const uint8_t *names, const long *name_lengths, int name_count) {
    if (s->p >= s->end) return 0;
    int escaped;
    switch (*s->p) {
    case '{': return scan_container(s, 1, top, names, name_lengths, name_count);
    case '[': return scan_container(s, 0, NULL, NULL, NULL, 0);
    case '"': return scan_string(s, &escaped);
    case 't': return scan_literal(s, "true", 4);
    case 'f': return scan_literal(s, "false", 5);
    case 'n': return scan_literal(s, "null", 4);
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        return scan_number(s);
    default: return 0;
    }
}

int hy_json_validate(const uint8_t *bytes, size_t count, int max_depth, const uint8_t *names, const long *name_lengths,
                     int name_count, hy_json_shape *shape) {
    memset(shape, 0, sizeof *shape);
    scanner s = {bytes, bytes + count, 0, max_depth};
    if (count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) s.p += 3;
    skip_whitespace(&s);
    if (s.p >= s.end) return 0;
    shape->top_kind = (*s.p == '-' || (*s.p >= '0' && *s.p <= '9')) ? '0' : *s.p;
    if (!scan_value(&s, shape, names, name_lengths, name_count)) return 0;
    skip_whitespace(&s);
    return s.p == s.end;
}
