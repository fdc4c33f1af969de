#ifndef HYDRANT_CCRC32_H
#define HYDRANT_CCRC32_H
// CRC-32 (gzip/zlib polynomial, reflected) of the 16-byte-aligned prefix of a buffer with
// PCLMULQDQ folding (Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
// Instruction", 2009; the shape of zlib-ng's and Chromium's crc32_simd). The journal
// checksums every record; zlib's table-driven crc32 was a fifth of the journal thread.
#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has PCLMULQDQ and SSE4.1 (checked once).
int hy_crc32_simd_available(void);

/// Continues `crc` (pre- and post-conditioned as zlib's crc32) over `bytes`. `count` must be
/// at least 64 and a multiple of 16; only call when `hy_crc32_simd_available()`.
uint32_t hy_crc32_simd(uint32_t crc, const uint8_t *bytes, size_t count);

#endif
