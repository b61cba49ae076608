/* Error names and messages, from the X-macro tables of uvodbc and libuv. */
#include "internal.h"

const char* uvodbc_strerror(int err) {
  switch (err) {
    case 0: /* libuv would allocate "Unknown system error 0" */
      return "success";
#define XX(name, value, msg)                                                  \
  case UVODBC_##name:                                                         \
    return msg;
    UVODBC_ERRNO_MAP(XX)
#undef XX
    default:
      return uv_strerror(err);
  }
}

const char* uvodbc_err_name(int err) {
  switch (err) {
    case 0:
      return "OK";
#define XX(name, value, msg)                                                  \
  case UVODBC_##name:                                                         \
    return #name;
    UVODBC_ERRNO_MAP(XX)
#undef XX
    default:
      return uv_err_name(err);
  }
}
