#ifndef UVODBC_VERSION_H
#define UVODBC_VERSION_H

#define UVODBC_VERSION_MAJOR 0
#define UVODBC_VERSION_MINOR 1
#define UVODBC_VERSION_PATCH 0

#define UVODBC_VERSION_HEX                                                    \
  ((UVODBC_VERSION_MAJOR << 16) | (UVODBC_VERSION_MINOR << 8) |               \
   (UVODBC_VERSION_PATCH))

#endif /* UVODBC_VERSION_H */
