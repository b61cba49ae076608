/* Shared by the libFuzzer harnesses (one per function that parses or
 * rewrites outside text; see README.md). */
#ifndef UVODBC_FUZZ_H
#define UVODBC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant the harness checks: a failure is a crash libFuzzer keeps. */
#define FUZZ_CHECK(cond)                                                      \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,    \
              #cond);                                                         \
      abort();                                                                \
    }                                                                         \
  } while (0)

/* A NUL-terminated heap copy of bytes (ASan sees a read past its end). */
static inline char* fuzz_cstr(const uint8_t* data, size_t size) {
  char* s = malloc(size + 1);
  if (s == NULL) abort();
  if (size > 0) memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* Reads the fuzz input front to back; past its end, zeros. */
typedef struct {
  const uint8_t* p;
  size_t left;
} fuzz_in_t;

static inline uint8_t fuzz_byte(fuzz_in_t* in) {
  if (in->left == 0) return 0;
  in->left--;
  return *in->p++;
}

static inline uint64_t fuzz_u64(fuzz_in_t* in, size_t bytes) {
  uint64_t v = 0;
  size_t i;
  for (i = 0; i < bytes; i++) v = v << 8 | fuzz_byte(in);
  return v;
}

/* Up to `max` bytes of the input (fewer at its end); *len set. */
static inline const uint8_t* fuzz_take(fuzz_in_t* in, size_t max,
                                       size_t* len) {
  const uint8_t* p = in->p;
  *len = max < in->left ? max : in->left;
  in->p += *len;
  in->left -= *len;
  return p;
}

/* 1 if s[0..len) occurs in text. */
static inline int fuzz_contains(const char* text, const char* s, size_t len) {
  size_t n = strlen(text), i;
  if (len == 0) return 1;
  for (i = 0; i + len <= n; i++)
    if (memcmp(text + i, s, len) == 0) return 1;
  return 0;
}

#endif /* UVODBC_FUZZ_H */
