/* Batch accessors: a batch built from the fuzz input the way the fetch code
 * lays it out (block-bound fixed cells with the driver's lengths and NULs,
 * variable cells appended in chunks, a QUERY result appended from block
 * batches into segments of a fuzzed size), then every public uvodbc_batch_* accessor at fuzzed row and
 * column indices.  Invariants: an accessor answers in range or with an
 * error, text comes back NUL-terminated at its length, and every value
 * read is the value written. */
#define UVODBC_BUILDING 1
#include "uvodbc.h"

#include "fuzz.h"
#include "odbc.h"

#define MAX_COLS 6
#define MAX_ROWS 8
#define MAX_CELL 48
/* Fetches appended into a QUERY result: enough rows (192) for segments
 * that start at 64 rows and grow. */
#define MAX_BATCHES 24

/* The layouts choose_layout() and uvodbc__stmt_describe() make. */
typedef struct {
  uvodbc_type_t type;
  SQLSMALLINT ctype;
  SQLLEN width; /* 0: variable; -1: fuzzed fixed width */
} kind_t;

static const kind_t kinds[] = {
    {UVODBC_TYPE_INT64, SQL_C_SBIGINT, sizeof(int64_t)},
    {UVODBC_TYPE_DOUBLE, SQL_C_DOUBLE, sizeof(double)},
    {UVODBC_TYPE_BOOL, SQL_C_BIT, 1},
    {UVODBC_TYPE_DATE, SQL_C_TYPE_DATE, sizeof(SQL_DATE_STRUCT)},
    {UVODBC_TYPE_TIME, SQL_C_TYPE_TIME, sizeof(SQL_TIME_STRUCT)},
    {UVODBC_TYPE_TIME, SQL_C_CHAR, 40},
    {UVODBC_TYPE_TIMESTAMP, SQL_C_TYPE_TIMESTAMP, sizeof(SQL_TIMESTAMP_STRUCT)},
    {UVODBC_TYPE_DECIMAL, SQL_C_CHAR, -1},
    {UVODBC_TYPE_TEXT, SQL_C_CHAR, -1},
    {UVODBC_TYPE_BINARY, SQL_C_BINARY, -1},
    {UVODBC_TYPE_TEXT, SQL_C_CHAR, 0},
    {UVODBC_TYPE_DECIMAL, SQL_C_CHAR, 0},
    {UVODBC_TYPE_BINARY, SQL_C_BINARY, 0},
};

/* What the test wrote into each cell, to compare with what it reads. */
typedef struct {
  int null;
  size_t len;
  char bytes[MAX_CELL * 3];
} shadow_t;

static shadow_t shadow[MAX_COLS][MAX_ROWS * MAX_BATCHES];

/* Fills row `row` of column `col` of `b` as a driver or get_var would. */
static void fill(fuzz_in_t* in, uvodbc_batch_t* b, size_t col, size_t row,
                 shadow_t* sh) {
  uvodbc__colbuf_t* c = &b->bufs[col];
  int null = fuzz_byte(in) % 4 == 0;
  size_t len;
  const uint8_t* bytes;
  memset(sh, 0, sizeof(*sh));
  sh->null = null;
  if (c->width == 0) { /* row mode: chunks from SQLGetData */
    int chunks = fuzz_byte(in) % 4, k;
    FUZZ_CHECK(uvodbc__batch_var_begin(b, col, row) == 0);
    for (k = 0; k < chunks && !null; k++) {
      bytes = fuzz_take(in, fuzz_byte(in) % MAX_CELL, &len);
      if (c->ctype == SQL_C_CHAR && memchr(bytes, 0, len) != NULL)
        len = (size_t)((const uint8_t*)memchr(bytes, 0, len) - bytes);
      FUZZ_CHECK(uvodbc__batch_var_append(b, col, row, bytes, len) == 0);
      memcpy(sh->bytes + sh->len, bytes, len);
      sh->len += len;
    }
    if (null) c->ind[row] = SQL_NULL_DATA;
    FUZZ_CHECK(c->ind[row] == (null ? SQL_NULL_DATA : (SQLLEN)sh->len));
    return;
  }
  /* Block mode: the driver fills the cell and its indicator. */
  bytes = fuzz_take(in, (size_t)c->width, &len);
  memset(c->data + row * (size_t)c->width, 0, (size_t)c->width);
  memcpy(c->data + row * (size_t)c->width, bytes, len);
  if (null) {
    c->ind[row] = SQL_NULL_DATA;
  } else if (c->ctype == SQL_C_CHAR) { /* up to width - 1 bytes and a NUL */
    char* cell = c->data + row * (size_t)c->width;
    size_t n = fuzz_byte(in) % (size_t)c->width;
    cell[n] = '\0';
    n = strlen(cell);
    c->ind[row] = (SQLLEN)n;
    memcpy(sh->bytes, cell, n);
    sh->len = n;
  } else if (c->ctype == SQL_C_BINARY) {
    size_t n = fuzz_byte(in) % ((size_t)c->width + 1);
    c->ind[row] = (SQLLEN)n;
    memcpy(sh->bytes, c->data + row * (size_t)c->width, n);
    sh->len = n;
  } else {
    c->ind[row] = c->width;
    memcpy(sh->bytes, c->data + row * (size_t)c->width, (size_t)c->width);
    sh->len = (size_t)c->width;
  }
}

static size_t fuzz_index(fuzz_in_t* in, size_t n) {
  uint8_t b = fuzz_byte(in);
  if (b == 255) return SIZE_MAX;
  return b % (n + 2); /* in range, or just past it */
}

/* Calls every accessor at (col, row) and checks what comes back. */
static void read_cell(const uvodbc_batch_t* b, size_t col, size_t row,
                      const shadow_t* sh) {
  int in_range = b != NULL && col < b->ncols && row < b->nrows;
  uvodbc_type_t t = in_range ? b->cols[col].type : UVODBC_TYPE_NULL;
  int64_t i64;
  double f64;
  int boolean, null, rc;
  const char* text;
  const void* bin;
  size_t len;
  uvodbc_timestamp_t ts;

  null = uvodbc_batch_is_null(b, col, row);
  if (!in_range) {
    FUZZ_CHECK(null < 0);
  } else {
    FUZZ_CHECK(null == sh->null);
  }
  FUZZ_CHECK(uvodbc_batch_get_int64(b, col, row, NULL) < 0);
  rc = uvodbc_batch_get_int64(b, col, row, &i64);
  if (rc == 0) {
    FUZZ_CHECK(in_range && !sh->null && t == UVODBC_TYPE_INT64);
    FUZZ_CHECK(memcmp(&i64, sh->bytes, sizeof(i64)) == 0);
  }
  rc = uvodbc_batch_get_double(b, col, row, &f64);
  if (rc == 0) FUZZ_CHECK(in_range && !sh->null);
  rc = uvodbc_batch_get_bool(b, col, row, &boolean);
  if (rc == 0) FUZZ_CHECK(boolean == (sh->bytes[0] != 0));
  rc = uvodbc_batch_get_text(b, col, row, &text, &len);
  if (rc == 0) {
    FUZZ_CHECK(in_range && !sh->null);
    FUZZ_CHECK(t == UVODBC_TYPE_TEXT || t == UVODBC_TYPE_DECIMAL);
    FUZZ_CHECK(len == sh->len && memcmp(text, sh->bytes, len) == 0);
    FUZZ_CHECK(text[len] == '\0');
  }
  rc = uvodbc_batch_get_binary(b, col, row, &bin, &len);
  if (rc == 0) FUZZ_CHECK(len == sh->len && memcmp(bin, sh->bytes, len) == 0);
  rc = uvodbc_batch_get_timestamp(b, col, row, &ts);
  if (rc == 0)
    FUZZ_CHECK(t == UVODBC_TYPE_DATE || t == UVODBC_TYPE_TIME ||
               t == UVODBC_TYPE_TIMESTAMP);
  if (in_range && sh->null) FUZZ_CHECK(rc == UVODBC_ENULL);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_in_t in = {data, size};
  uvodbc_column_t cols[MAX_COLS];
  uvodbc__colbuf_t layout[MAX_COLS], compact[MAX_COLS];
  uvodbc_batch_t block, query;
  size_t ncols = 1 + fuzz_byte(&in) % MAX_COLS, i, r, k, rows, batches;
  size_t seg_rows, bytes = 0;
  int as_query = fuzz_byte(&in) & 1;

  memset(cols, 0, sizeof(cols));
  memset(layout, 0, sizeof(layout));
  for (i = 0; i < ncols; i++) {
    const kind_t* kd = &kinds[fuzz_byte(&in) % (sizeof(kinds) / sizeof(kinds[0]))];
    cols[i].name = "c";
    cols[i].type = kd->type;
    layout[i].ctype = kd->ctype;
    layout[i].width = kd->width >= 0 ? kd->width : 1 + fuzz_byte(&in) % MAX_CELL;
    compact[i] = layout[i];
    if (kd->type == UVODBC_TYPE_TEXT || kd->type == UVODBC_TYPE_DECIMAL ||
        kd->type == UVODBC_TYPE_BINARY)
      compact[i].width = 0; /* a QUERY result keeps them variable */
  }
  rows = fuzz_byte(&in) % (MAX_ROWS + 1);
  FUZZ_CHECK(uvodbc__batch_alloc(&block, cols, layout, ncols, rows) == 0);
  if (!as_query) {
    /* A cursor's batch: one fetch. */
    for (r = 0; r < rows; r++)
      for (i = 0; i < ncols; i++) fill(&in, &block, i, r, &shadow[i][r]);
    block.nrows = rows;
    for (k = 0; k < 16; k++) {
      size_t col = fuzz_index(&in, ncols), row = fuzz_index(&in, rows);
      read_cell(&block, col, row,
                col < ncols && row < rows ? &shadow[col][row] : NULL);
    }
    read_cell(NULL, 0, 0, NULL);
    uvodbc__batch_free(&block);
    return 0;
  }
  /* A QUERY result: fetches appended into compact storage, in segments
   * that fetches fill exactly or split. */
  seg_rows = fuzz_byte(&in);
  seg_rows = 1 + (seg_rows * 256u + fuzz_byte(&in)) % (MAX_ROWS * MAX_BATCHES);
  FUZZ_CHECK(uvodbc__result_init(&query, cols, compact, ncols, seg_rows) == 0);
  batches = 1 + fuzz_byte(&in) % MAX_BATCHES;
  for (k = 0; k < batches; k++) {
    size_t base = query.nrows;
    for (i = 0; i < ncols; i++) block.bufs[i].arena_len = 0; /* fetch_rows */
    for (r = 0; r < rows; r++)
      for (i = 0; i < ncols; i++) fill(&in, &block, i, r, &shadow[i][base + r]);
    block.nrows = rows;
    FUZZ_CHECK(uvodbc__result_append(&query, &block, &bytes) == 0);
    FUZZ_CHECK(query.nrows == base + rows);
  }
  FUZZ_CHECK(bytes <=
             (size_t)MAX_ROWS * MAX_BATCHES * MAX_COLS * MAX_CELL * 3);
  for (k = 0; k < 16; k++) {
    size_t col = fuzz_index(&in, ncols), row = fuzz_index(&in, query.nrows);
    read_cell(&query, col, row,
              col < ncols && row < query.nrows ? &shadow[col][row] : NULL);
  }
  FUZZ_CHECK(uvodbc_batch_nrows(&query) == query.nrows);
  FUZZ_CHECK(uvodbc_batch_ncols(&query) == ncols);
  FUZZ_CHECK(uvodbc_batch_column(&query, ncols) == NULL);
  FUZZ_CHECK(uvodbc_batch_column(&query, 0) != NULL);
  uvodbc__batch_free(&query);
  uvodbc__batch_free(&block);
  return 0;
}
