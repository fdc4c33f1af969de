// System OpenSSL (apt: libssl-dev) for TLS and crypto: PBKDF2/SHA-512 for password files,
// random salts, constant-time comparison; TLS listeners later (issue #14).
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
