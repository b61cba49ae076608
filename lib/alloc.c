/* The one allocator wrapper: every allocation of the library goes through
 * here, so a future allocator hook has one place to go. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "odbc.h"

void* uvodbc__malloc(size_t size) {
  return malloc(size > 0 ? size : 1);
}

void* uvodbc__calloc(size_t count, size_t size) {
  return calloc(count > 0 ? count : 1, size > 0 ? size : 1);
}

void* uvodbc__realloc(void* ptr, size_t size) {
  return realloc(ptr, size > 0 ? size : 1);
}

/* count * size, checked: sizes from drivers, options and data must not
 * wrap into a small allocation that later writes overflow. */
void* uvodbc__mallocarray(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return NULL;
  return uvodbc__malloc(count * size);
}

void* uvodbc__reallocarray(void* ptr, size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return NULL;
  return uvodbc__realloc(ptr, count * size);
}

int uvodbc__size_add(size_t* sum, size_t n) {
  if (n > SIZE_MAX - *sum) return UVODBC__ENOMEM;
  *sum += n;
  return 0;
}

void uvodbc__free(void* ptr) {
  free(ptr);
}

void uvodbc__free_secret(char* s) {
  if (s == NULL) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

char* uvodbc__strndup(const char* s, size_t len) {
  char* out = len < SIZE_MAX ? uvodbc__malloc(len + 1) : NULL;
  if (out == NULL) return NULL;
  memcpy(out, s, len);
  out[len] = '\0';
  return out;
}

char* uvodbc__strdup(const char* s) {
  return uvodbc__strndup(s, strlen(s));
}
