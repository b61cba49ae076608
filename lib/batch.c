/* Columnar batches: the storage behind every fetched row, and the typed
 * accessors of the public API.
 *
 * A column is either fixed-width cells in `data` (block-bound buffers, or
 * rows copied from them) or variable cells in `arena` + `offset` (long
 * columns read with SQLGetData, and text in a QUERY result).  `ind` holds
 * the byte length or SQL_NULL_DATA in both cases.
 *
 * A whole result (uvodbc_conn_query) keeps its rows in segments of equal
 * size, each filled once: appending to one growing buffer moved every row
 * again at each growth (memmove and page faults were a quarter of a large
 * query's time on MariaDB).  The accessors find a row's segment by
 * division. */
#include <stdio.h>
#include <string.h>

#define UVODBC_BUILDING 1
#include "uvodbc.h"

#include "odbc.h"

static int is_var(const uvodbc__colbuf_t* c) {
  return c->width == 0;
}

/* An empty batch of `ncols` columns read as `layout` says, no rows yet. */
static int init_layout(uvodbc_batch_t* b, const uvodbc_column_t* cols,
                       const uvodbc__colbuf_t* layout, size_t ncols) {
  size_t i;
  memset(b, 0, sizeof(*b));
  b->cols = cols;
  b->ncols = ncols;
  b->bufs = uvodbc__calloc(ncols, sizeof(*b->bufs));
  if (b->bufs == NULL) return UVODBC__ENOMEM;
  for (i = 0; i < ncols; i++) {
    b->bufs[i].ctype = layout[i].ctype;
    b->bufs[i].width = layout[i].width;
  }
  return 0;
}

int uvodbc__batch_alloc(uvodbc_batch_t* b, const uvodbc_column_t* cols,
                        const uvodbc__colbuf_t* layout, size_t ncols,
                        size_t cap) {
  int err = init_layout(b, cols, layout, ncols);
  return err != 0 ? err : uvodbc__batch_reserve(b, cap);
}

void uvodbc__batch_free(uvodbc_batch_t* b) {
  size_t i;
  for (i = 0; i < b->nsegs; i++) uvodbc__batch_free(&b->segs[i]);
  uvodbc__free(b->segs);
  for (i = 0; b->bufs != NULL && i < b->ncols; i++) {
    uvodbc__free(b->bufs[i].arena);
    if (b->packed) continue; /* the rest is in the bufs block */
    uvodbc__free(b->bufs[i].data);
    uvodbc__free(b->bufs[i].ind);
    uvodbc__free(b->bufs[i].offset);
  }
  uvodbc__free(b->bufs);
  if (!b->packed) uvodbc__free(b->owned_cols); /* and the names after them */
  memset(b, 0, sizeof(*b));
}

/* Packed blocks: each part starts on a 16-byte boundary (any C type of a
 * cell, and the column structs). */
#define PACK_ALIGN 16

/* *total += count * size, rounded up to PACK_ALIGN; or UVODBC__ENOMEM. */
static int pack_add(size_t* total, size_t count, size_t size) {
  size_t n;
  if (size != 0 && count > SIZE_MAX / size) return UVODBC__ENOMEM;
  n = count * size;
  if (n > SIZE_MAX - (PACK_ALIGN - 1)) return UVODBC__ENOMEM;
  n = (n + PACK_ALIGN - 1) & ~(size_t)(PACK_ALIGN - 1);
  return uvodbc__size_add(total, n);
}

/* Bytes per row of a column's array after ind: its cells or offsets. */
static size_t cell_bytes(const uvodbc__colbuf_t* c) {
  return is_var(c) ? sizeof(size_t) : (size_t)c->width;
}

/* Lays `b` out anew as one packed block for `cap` rows (cap >= nrows),
 * keeping its rows and arenas: the column buffers as `layout` says (b->bufs
 * itself when growing; a new segment has none yet), then per column its
 * ind array and its cells (fixed) or offsets (variable). */
static int pack(uvodbc_batch_t* b, const uvodbc__colbuf_t* layout,
                size_t cap) {
  size_t i, size = 0, off = 0;
  char* block;
  uvodbc__colbuf_t* nb;
  if (pack_add(&size, b->ncols, sizeof(*nb))) return UVODBC__ENOMEM;
  for (i = 0; i < b->ncols; i++)
    if (pack_add(&size, cap, sizeof(SQLLEN)) ||
        pack_add(&size, cap, cell_bytes(&layout[i])))
      return UVODBC__ENOMEM;
  block = uvodbc__malloc(size > 0 ? size : 1);
  if (block == NULL) return UVODBC__ENOMEM;
  nb = (uvodbc__colbuf_t*)block;
  (void)pack_add(&off, b->ncols, sizeof(*nb)); /* within size: no error */
  for (i = 0; i < b->ncols; i++) {
    const uvodbc__colbuf_t* o = &layout[i];
    size_t w = cell_bytes(o);
    char* cells;
    if (b->bufs != NULL) {
      nb[i] = *o; /* the arena and its lengths too */
    } else {
      memset(&nb[i], 0, sizeof(nb[i]));
      nb[i].ctype = o->ctype;
      nb[i].width = o->width;
    }
    nb[i].ind = (SQLLEN*)(block + off);
    (void)pack_add(&off, cap, sizeof(SQLLEN));
    cells = block + off;
    (void)pack_add(&off, cap, w);
    nb[i].data = is_var(o) ? NULL : cells;
    nb[i].offset = is_var(o) ? (size_t*)cells : NULL;
    if (b->nrows > 0) { /* growing: the rows so far */
      memcpy(nb[i].ind, o->ind, b->nrows * sizeof(SQLLEN));
      memcpy(cells, is_var(o) ? (const char*)o->offset : o->data,
             b->nrows * w);
    }
  }
  uvodbc__free(b->bufs);
  b->bufs = nb;
  b->cap = cap;
  b->packed = 1;
  return 0;
}

static int grow(void** p, size_t n, size_t size) {
  void* q = uvodbc__reallocarray(*p, n, size);
  if (q == NULL) return UVODBC__ENOMEM;
  *p = q;
  return 0;
}

int uvodbc__batch_reserve(uvodbc_batch_t* b, size_t cap) {
  size_t i;
  if (cap <= b->cap && b->cap > 0) return 0;
  if (cap < 1) cap = 1;
  /* Only a segment grows packed; a whole result's header holds no rows. */
  if (b->packed) return b->seg_rows == 0 ? pack(b, b->bufs, cap) : UV_EINVAL;
  for (i = 0; i < b->ncols; i++) {
    uvodbc__colbuf_t* c = &b->bufs[i];
    if (grow((void**)&c->ind, cap, sizeof(SQLLEN))) return UVODBC__ENOMEM;
    if (is_var(c)) {
      if (grow((void**)&c->offset, cap, sizeof(size_t))) return UVODBC__ENOMEM;
    } else if (grow((void**)&c->data, cap, (size_t)c->width)) {
      return UVODBC__ENOMEM;
    }
  }
  b->cap = cap;
  return 0;
}

/* Capacity for `need`: doubled from `cap` (at least `least`), or exactly
 * `need` once doubling would overflow. */
static size_t grown(size_t cap, size_t need, size_t least) {
  if (cap < least) cap = least;
  while (cap < need) cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
  return cap;
}

static int arena_put(uvodbc__colbuf_t* c, const void* bytes, size_t len) {
  size_t need = c->arena_len;
  if (uvodbc__size_add(&need, len) || uvodbc__size_add(&need, 1))
    return UVODBC__ENOMEM;
  if (need > c->arena_cap) {
    size_t cap = grown(c->arena_cap, need, 256);
    if (grow((void**)&c->arena, cap, 1)) return UVODBC__ENOMEM;
    c->arena_cap = cap;
  }
  if (len > 0) memcpy(c->arena + c->arena_len, bytes, len);
  c->arena_len += len;
  c->arena[c->arena_len] = '\0';
  return 0;
}

/* Starts the cell of `row` (rows begin in order, from 0).  A cell after
 * the first starts past the previous cell's NUL: arena_len counts data
 * bytes only, so starting at arena_len overwrote that NUL and broke the
 * accessors' NUL-terminated promise.  arena_len thus holds the data bytes
 * plus one per cell after the first (see uvodbc__batch_bytes). */
static int cell_begin(uvodbc__colbuf_t* c, size_t row) {
  if (row > 0) c->arena_len++; /* arena_put left a NUL there */
  c->offset[row] = c->arena_len;
  return arena_put(c, "", 0);
}

int uvodbc__batch_var_begin(uvodbc_batch_t* b, size_t col, size_t row) {
  uvodbc__colbuf_t* c = &b->bufs[col];
  c->ind[row] = 0;
  return cell_begin(c, row);
}

int uvodbc__batch_var_append(uvodbc_batch_t* b, size_t col, size_t row,
                             const void* bytes, size_t len) {
  uvodbc__colbuf_t* c = &b->bufs[col];
  if (arena_put(c, bytes, len)) return UVODBC__ENOMEM;
  c->ind[row] += (SQLLEN)len;
  return 0;
}

/* The bytes of the cell at `row` of column buffer `c` (not for NULL). */
static const char* cell_at(const uvodbc__colbuf_t* c, size_t row) {
  if (is_var(c)) return c->arena + c->offset[row];
  return c->data + row * (size_t)c->width;
}

/* Grows the arena of `d` once for rows first .. first + count - 1 of
 * column `s` (each cell's bytes and NUL), rather than doubling per cell. */
static int reserve_arena(uvodbc__colbuf_t* d, const uvodbc__colbuf_t* s,
                         size_t first, size_t count) {
  size_t r, need = d->arena_len;
  for (r = first; r < first + count; r++)
    if (uvodbc__size_add(&need, 1) ||
        (s->ind[r] != SQL_NULL_DATA &&
         uvodbc__size_add(&need, (size_t)s->ind[r])))
      return UVODBC__ENOMEM;
  if (uvodbc__size_add(&need, 1)) return UVODBC__ENOMEM;
  if (need > d->arena_cap) {
    if (grow((void**)&d->arena, need, 1)) return UVODBC__ENOMEM;
    d->arena_cap = need;
  }
  return 0;
}

/* Appends rows first .. first + count - 1 of `src`.  Text cells of
 * block-bound buffers hold driver lengths (checked by the fetch); a text
 * cell in a variable column is stored as its bytes. */
static int append_rows(uvodbc_batch_t* dst, const uvodbc_batch_t* src,
                       size_t first, size_t count, size_t max_cap) {
  size_t i, r, need = dst->nrows, cap;
  if (uvodbc__size_add(&need, count)) return UVODBC__ENOMEM;
  cap = grown(dst->cap, need, 64);
  if (cap > max_cap && max_cap >= need) cap = max_cap;
  if (need > dst->cap && uvodbc__batch_reserve(dst, cap))
    return UVODBC__ENOMEM;
  for (i = 0; i < src->ncols; i++) {
    const uvodbc__colbuf_t* s = &src->bufs[i];
    uvodbc__colbuf_t* d = &dst->bufs[i];
    if (!is_var(d)) {
      memcpy(d->data + dst->nrows * (size_t)d->width,
             s->data + first * (size_t)s->width, count * (size_t)s->width);
      memcpy(d->ind + dst->nrows, s->ind + first, count * sizeof(SQLLEN));
      continue;
    }
    if (reserve_arena(d, s, first, count)) return UVODBC__ENOMEM;
    for (r = first; r < first + count; r++) {
      size_t row = dst->nrows + (r - first);
      d->ind[row] = s->ind[r];
      if (cell_begin(d, row)) return UVODBC__ENOMEM; /* NULLs too */
      if (s->ind[r] == SQL_NULL_DATA) continue;
      if (arena_put(d, cell_at(s, r), (size_t)s->ind[r]))
        return UVODBC__ENOMEM;
    }
  }
  dst->nrows = need;
  return 0;
}

int uvodbc__batch_append(uvodbc_batch_t* dst, const uvodbc_batch_t* src) {
  return append_rows(dst, src, 0, src->nrows, SIZE_MAX);
}

int uvodbc__batch_move_last(uvodbc_batch_t* dst, uvodbc_batch_t* src) {
  size_t i, last = src->nrows - 1;
  int err;
  dst->nrows = 0;
  for (i = 0; i < dst->ncols; i++) dst->bufs[i].arena_len = 0;
  err = append_rows(dst, src, last, 1, SIZE_MAX);
  /* Back to where cell_begin() found the arena before this row. */
  for (i = 0; i < src->ncols; i++)
    if (is_var(&src->bufs[i]))
      src->bufs[i].arena_len = last > 0 ? src->bufs[i].offset[last] - 1 : 0;
  src->nrows = last;
  return err;
}

size_t uvodbc__batch_bytes(const uvodbc_batch_t* b) {
  size_t i, total = 0;
  for (i = 0; i < b->ncols; i++) {
    const uvodbc__colbuf_t* c = &b->bufs[i];
    if (is_var(c)) { /* minus the NULs kept between cells (cell_begin) */
      size_t nuls = b->nrows > 0 ? b->nrows - 1 : 0;
      total += c->arena_len > nuls ? c->arena_len - nuls : 0;
    } else {
      total += b->nrows * (size_t)c->width;
    }
  }
  return total;
}

/* *len += the bytes of the names of `cols`, NULs included. */
static int names_bytes(const uvodbc_column_t* cols, size_t ncols,
                       size_t* len) {
  size_t i;
  for (i = 0; i < ncols; i++)
    if (uvodbc__size_add(len, strlen(cols[i].name) + 1))
      return UVODBC__ENOMEM;
  return 0;
}

/* Copies `cols` to `dst` and their names to `names` (names_bytes() long),
 * pointing the copies at those names. */
static void copy_columns(uvodbc_column_t* dst, char* names,
                         const uvodbc_column_t* cols, size_t ncols) {
  size_t i;
  for (i = 0; i < ncols; i++) {
    size_t n = strlen(cols[i].name) + 1;
    dst[i] = cols[i];
    memcpy(names, cols[i].name, n);
    dst[i].name = names;
    names += n;
  }
}

/* Packed: the layout, then the columns, then their names. */
int uvodbc__result_init(uvodbc_batch_t* result, const uvodbc_column_t* cols,
                        const uvodbc__colbuf_t* layout, size_t ncols,
                        size_t seg_rows) {
  size_t i, size = 0, names = 0;
  char* block;
  memset(result, 0, sizeof(*result));
  if (names_bytes(cols, ncols, &names)) return UVODBC__ENOMEM;
  if (pack_add(&size, ncols, sizeof(*result->bufs)) ||
      pack_add(&size, ncols, sizeof(*result->owned_cols)) ||
      pack_add(&size, names, 1))
    return UVODBC__ENOMEM;
  block = uvodbc__calloc(1, size > 0 ? size : 1);
  if (block == NULL) return UVODBC__ENOMEM;
  result->bufs = (uvodbc__colbuf_t*)block;
  size = 0;
  (void)pack_add(&size, ncols, sizeof(*result->bufs)); /* within: no error */
  result->owned_cols = (uvodbc_column_t*)(block + size);
  (void)pack_add(&size, ncols, sizeof(*result->owned_cols));
  copy_columns(result->owned_cols, block + size, cols, ncols);
  for (i = 0; i < ncols; i++) {
    result->bufs[i].ctype = layout[i].ctype;
    result->bufs[i].width = layout[i].width;
  }
  result->cols = result->owned_cols;
  result->ncols = ncols;
  result->packed = 1;
  result->seg_rows = seg_rows > 0 ? seg_rows : 1;
  return 0;
}

/* The segment the next `rows` rows go to: the last one, or a new one once
 * it is full, sized for them as append_rows would grow it. */
static uvodbc_batch_t* open_segment(uvodbc_batch_t* r, size_t rows) {
  uvodbc_batch_t* seg;
  size_t cap;
  if (r->nsegs > 0 && r->segs[r->nsegs - 1].nrows < r->seg_rows)
    return &r->segs[r->nsegs - 1];
  if (r->nsegs == r->segs_cap) {
    size_t n = grown(r->segs_cap, r->nsegs + 1, 8);
    if (grow((void**)&r->segs, n, sizeof(*r->segs))) return NULL;
    r->segs_cap = n;
  }
  seg = &r->segs[r->nsegs];
  memset(seg, 0, sizeof(*seg));
  seg->cols = r->cols;
  seg->ncols = r->ncols;
  cap = grown(0, rows, 64);
  if (pack(seg, r->bufs, cap < r->seg_rows ? cap : r->seg_rows) != 0)
    return NULL;
  r->nsegs++;
  return seg;
}

/* Cell data bytes of rows first .. first + count - 1 of `src` as `dst`
 * stores them (fixed cells by width, variable ones by length). */
static size_t rows_bytes(const uvodbc_batch_t* dst, const uvodbc_batch_t* src,
                         size_t first, size_t count) {
  size_t i, r, total = 0;
  for (i = 0; i < src->ncols; i++) {
    if (!is_var(&dst->bufs[i])) {
      total += count * (size_t)dst->bufs[i].width;
      continue;
    }
    for (r = first; r < first + count; r++)
      if (src->bufs[i].ind[r] != SQL_NULL_DATA)
        total += (size_t)src->bufs[i].ind[r];
  }
  return total;
}

int uvodbc__result_append(uvodbc_batch_t* result, const uvodbc_batch_t* block,
                          size_t* bytes) {
  size_t done = 0;
  while (done < block->nrows) {
    size_t n = block->nrows - done;
    uvodbc_batch_t* seg = open_segment(result, n);
    if (seg == NULL) return UVODBC__ENOMEM;
    if (n > result->seg_rows - seg->nrows) n = result->seg_rows - seg->nrows;
    if (append_rows(seg, block, done, n, result->seg_rows))
      return UVODBC__ENOMEM;
    *bytes += rows_bytes(seg, block, done, n);
    result->nrows += n;
    done += n;
  }
  return 0;
}

int uvodbc__batch_own_columns(uvodbc_batch_t* b) {
  size_t len = 0;
  if (names_bytes(b->cols, b->ncols, &len)) return UVODBC__ENOMEM;
  /* One block: the columns, then their names. */
  if (b->ncols > (SIZE_MAX - len) / sizeof(*b->owned_cols))
    return UVODBC__ENOMEM;
  b->owned_cols = uvodbc__malloc(b->ncols * sizeof(*b->owned_cols) + len);
  if (b->owned_cols == NULL) return UVODBC__ENOMEM;
  copy_columns(b->owned_cols, (char*)(b->owned_cols + b->ncols), b->cols,
               b->ncols);
  b->cols = b->owned_cols;
  return 0;
}

/* ---- public accessors ---- */

size_t uvodbc_batch_nrows(const uvodbc_batch_t* batch) {
  return batch ? batch->nrows : 0;
}

size_t uvodbc_batch_ncols(const uvodbc_batch_t* batch) {
  return batch ? batch->ncols : 0;
}

const uvodbc_column_t* uvodbc_batch_column(const uvodbc_batch_t* batch,
                                           size_t col) {
  if (batch == NULL || col >= batch->ncols) return NULL;
  return &batch->cols[col];
}

/* Common checks of every accessor: 0, 1 for NULL, or a negative error;
 * on 0 and 1, *c and *r are the cell's column buffer and row in it. */
static int locate(const uvodbc_batch_t* b, size_t col, size_t row,
                  const void* out, const uvodbc__colbuf_t** c, size_t* r) {
  if (b == NULL || out == NULL) return UV_EINVAL;
  if (col >= b->ncols || row >= b->nrows) return UVODBC_ERANGE;
  if (b->segs != NULL) {
    *c = &b->segs[row / b->seg_rows].bufs[col];
    *r = row % b->seg_rows;
  } else {
    *c = &b->bufs[col];
    *r = row;
  }
  return (*c)->ind[*r] == SQL_NULL_DATA;
}

int uvodbc_batch_is_null(const uvodbc_batch_t* batch, size_t col,
                         size_t row) {
  const uvodbc__colbuf_t* c;
  size_t r;
  return locate(batch, col, row, batch, &c, &r);
}

/* Declares `c` and `r`, the cell's place, or returns the check's error. */
#define ACCESSOR_PROLOGUE(b, col, row, out)                                   \
  const uvodbc__colbuf_t* c;                                                  \
  size_t r;                                                                   \
  do {                                                                        \
    int rc_ = locate(b, col, row, out, &c, &r);                               \
    if (rc_ < 0) return rc_;                                                  \
    if (rc_ == 1) return UVODBC_ENULL;                                        \
  } while (0)

static uvodbc_type_t type_of(const uvodbc_batch_t* b, size_t col) {
  return b->cols[col].type;
}

int uvodbc_batch_get_int64(const uvodbc_batch_t* batch, size_t col,
                           size_t row, int64_t* out) {
  ACCESSOR_PROLOGUE(batch, col, row, out);
  if (type_of(batch, col) != UVODBC_TYPE_INT64) return UVODBC_ETYPE;
  memcpy(out, cell_at(c, r), sizeof(*out));
  return 0;
}

int uvodbc_batch_get_double(const uvodbc_batch_t* batch, size_t col,
                            size_t row, double* out) {
  int64_t i;
  ACCESSOR_PROLOGUE(batch, col, row, out);
  switch (type_of(batch, col)) {
    case UVODBC_TYPE_DOUBLE:
      memcpy(out, cell_at(c, r), sizeof(*out));
      return 0;
    case UVODBC_TYPE_INT64:
      memcpy(&i, cell_at(c, r), sizeof(i));
      *out = (double)i;
      return 0;
    default:
      return UVODBC_ETYPE;
  }
}

int uvodbc_batch_get_bool(const uvodbc_batch_t* batch, size_t col,
                          size_t row, int* out) {
  ACCESSOR_PROLOGUE(batch, col, row, out);
  if (type_of(batch, col) != UVODBC_TYPE_BOOL) return UVODBC_ETYPE;
  *out = *(const unsigned char*)cell_at(c, r) != 0;
  return 0;
}

int uvodbc_batch_get_text(const uvodbc_batch_t* batch, size_t col,
                          size_t row, const char** out, size_t* len) {
  uvodbc_type_t t;
  ACCESSOR_PROLOGUE(batch, col, row, out);
  t = type_of(batch, col);
  if (t != UVODBC_TYPE_TEXT && t != UVODBC_TYPE_DECIMAL) return UVODBC_ETYPE;
  *out = cell_at(c, r);
  if (len != NULL) *len = (size_t)c->ind[r];
  return 0;
}

int uvodbc_batch_get_binary(const uvodbc_batch_t* batch, size_t col,
                            size_t row, const void** out, size_t* len) {
  uvodbc_type_t t;
  ACCESSOR_PROLOGUE(batch, col, row, out);
  t = type_of(batch, col);
  if (t != UVODBC_TYPE_BINARY && t != UVODBC_TYPE_TEXT) return UVODBC_ETYPE;
  *out = cell_at(c, r);
  if (len != NULL) *len = (size_t)c->ind[r];
  return 0;
}

/* A TIME read as text, "HH:MM:SS[.fraction]" (see choose_layout). */
static int parse_time(const char* s, uvodbc_timestamp_t* out) {
  unsigned h, m, sec, ns = 0, scale = 100000000;
  int n = 0;
  if (sscanf(s, "%2u:%2u:%2u%n", &h, &m, &sec, &n) != 3 || n != 8 ||
      h > 23 || m > 59 || sec > 60)
    return UVODBC_ETYPE; /* e.g. MariaDB's -838:59:59 */
  s += n;
  if (*s == '.')
    for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
      ns += (unsigned)(*s - '0') * scale;
  if (*s != '\0') return UVODBC_ETYPE;
  out->hour = (uint8_t)h;
  out->minute = (uint8_t)m;
  out->second = (uint8_t)sec;
  out->nanosecond = ns;
  return 0;
}

int uvodbc_batch_get_timestamp(const uvodbc_batch_t* batch, size_t col,
                               size_t row, uvodbc_timestamp_t* out) {
  const char* p;
  ACCESSOR_PROLOGUE(batch, col, row, out);
  p = cell_at(c, r);
  memset(out, 0, sizeof(*out));
  switch (type_of(batch, col)) {
    case UVODBC_TYPE_DATE: {
      SQL_DATE_STRUCT d;
      memcpy(&d, p, sizeof(d));
      out->year = (int16_t)d.year;
      out->month = (uint8_t)d.month;
      out->day = (uint8_t)d.day;
      return 0;
    }
    case UVODBC_TYPE_TIME: {
      SQL_TIME_STRUCT t;
      if (c->ctype == SQL_C_CHAR) return parse_time(p, out);
      memcpy(&t, p, sizeof(t));
      out->hour = (uint8_t)t.hour;
      out->minute = (uint8_t)t.minute;
      out->second = (uint8_t)t.second;
      return 0;
    }
    case UVODBC_TYPE_TIMESTAMP: {
      SQL_TIMESTAMP_STRUCT ts;
      memcpy(&ts, p, sizeof(ts));
      out->year = (int16_t)ts.year;
      out->month = (uint8_t)ts.month;
      out->day = (uint8_t)ts.day;
      out->hour = (uint8_t)ts.hour;
      out->minute = (uint8_t)ts.minute;
      out->second = (uint8_t)ts.second;
      out->nanosecond = (uint32_t)ts.fraction;
      return 0;
    }
    default:
      return UVODBC_ETYPE;
  }
}
