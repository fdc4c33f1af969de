#ifndef HYDRANT_CJSON_H
#define HYDRANT_CJSON_H
// A validation-only JSON scanner in C for the lake's hot path (`JSONShape`): RFC 8259
// grammar, escapes and surrogate pairs, RFC 3629 UTF-8, a nesting limit — the rules of the
// Swift `TapeScanner` without comments. It only says yes or no: on "no" the Swift scanner
// runs to produce the error, so messages and offsets have one source.
#include <stddef.h>
#include <stdint.h>

typedef struct {
    /// First byte of the top-level value: '{', '[', '"', 't', 'f', 'n' or '0' (a number).
    uint8_t top_kind;
    /// Members of a top-level object.
    uint32_t top_members;
    /// A top-level key equals one of the probed names (byte for byte).
    uint8_t probe_hit;
    /// A top-level key has an escape: the probe answer is not known.
    uint8_t escaped_top_key;
} hy_json_shape;

/// 1 when `bytes` is one valid JSON text (a UTF-8 byte order mark allowed in front),
/// 0 otherwise. `names`: `name_count` top-level keys to look for, back to back, each
/// `name_lengths[i]` bytes long.
int hy_json_validate(const uint8_t *bytes, size_t count, int max_depth, const uint8_t *names, const long *name_lengths, int name_count,
                     hy_json_shape *shape);

#endif
