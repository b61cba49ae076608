/* The one allocator wrapper: every allocation of the library goes through
 * here, so a future allocator hook has one place to go. */
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

void uvodbc__free(void* ptr) {
  free(ptr);
}

char* uvodbc__strndup(const char* s, size_t len) {
  char* out = uvodbc__malloc(len + 1);
  if (out == NULL) return NULL;
  memcpy(out, s, len);
  out[len] = '\0';
  return out;
}

char* uvodbc__strdup(const char* s) {
  return uvodbc__strndup(s, strlen(s));
}
