/* Which requests are pending, and which hold a result, by address.
 *
 * A request may be uninitialised memory before its first start (a stack
 * variable), so its own fields cannot say whether it is pending or holds a
 * result: only what uvodbc wrote can be trusted.  This table remembers it:
 * a request is in it from its start until its callback is about to run
 * (pending, with the op or pool request answering it), and from there while
 * it holds a result that uvodbc_req_cleanup() would free (with that
 * result's pointer, so a request whose memory went to other uses is not
 * taken for one that still holds it).
 *
 * Every request starts, completes and is cleaned up on its loop's thread
 * (uvodbc's threading contract), so the table is per thread and needs no
 * lock: open addressing with linear probing, in the thread's own storage
 * up to INLINE slots, on the heap beyond (freed when it empties, and at the
 * thread's exit). */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define INLINE 16 /* slots; a power of two */

typedef struct {
  const uvodbc_req_t* req; /* NULL: a free slot                        */
  const void* owner;       /* pending: its op or pool request; NULL:
                              it holds the result `held`               */
  const void* held;
} entry_t;

typedef struct {
  entry_t* slots; /* NULL until first use, then `inline_slots` or heap */
  size_t mask;    /* slots - 1                                          */
  size_t n;
  entry_t inline_slots[INLINE];
} table_t;

static _Thread_local table_t table;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;

static void free_at_exit(void* p) {
  table_t* t = p;
  if (t->slots != t->inline_slots) uvodbc__free(t->slots);
  t->slots = NULL;
}

static void make_key(void) {
  key_ok = pthread_key_create(&key, free_at_exit) == 0;
}

static table_t* get(void) {
  table_t* t = &table;
  if (t->slots == NULL) {
    t->slots = t->inline_slots;
    t->mask = INLINE - 1;
  }
  return t;
}

static size_t hash(const table_t* t, const uvodbc_req_t* req) {
  uint64_t h = (uint64_t)(uintptr_t)req * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t)(h >> 32) & t->mask;
}

/* The slot of `req`, or NULL. */
static entry_t* find(table_t* t, const uvodbc_req_t* req) {
  size_t i;
  if (t->n == 0) return NULL;
  for (i = hash(t, req);; i = (i + 1) & t->mask) {
    if (t->slots[i].req == req) return &t->slots[i];
    if (t->slots[i].req == NULL) return NULL;
  }
}

/* Backward-shift deletion: no tombstones, so a lookup stops at the first
 * free slot.  The entries after the hole, up to a free slot, move back
 * into it when that keeps them at or after their home slot. */
static void erase(table_t* t, entry_t* e) {
  size_t hole = (size_t)(e - t->slots), j = hole;
  for (;;) {
    size_t home;
    j = (j + 1) & t->mask;
    if (t->slots[j].req == NULL) break;
    home = hash(t, t->slots[j].req);
    if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
      t->slots[hole] = t->slots[j];
      hole = j;
    }
  }
  t->slots[hole].req = NULL;
  if (--t->n == 0 && t->slots != t->inline_slots) { /* back to inline */
    uvodbc__free(t->slots);
    t->slots = t->inline_slots;
    t->mask = INLINE - 1;
    memset(t->inline_slots, 0, sizeof(t->inline_slots));
  }
}

static entry_t* insert(table_t* t, const uvodbc_req_t* req) {
  size_t i;
  for (i = hash(t, req); t->slots[i].req != NULL; i = (i + 1) & t->mask) {
  }
  t->slots[i].req = req;
  t->n++;
  return &t->slots[i];
}

/* Room for one more entry at a load of at most 1/2.  0 or UV_ENOMEM. */
static int reserve(table_t* t) {
  size_t cap = t->mask + 1, i;
  entry_t* old = t->slots;
  entry_t* grown;
  if ((t->n + 1) * 2 <= cap) return 0;
  grown = uvodbc__calloc(cap * 2, sizeof(*grown));
  if (grown == NULL) return UV_ENOMEM;
  if (old == t->inline_slots) {
    pthread_once(&key_once, make_key);
    if (key_ok) pthread_setspecific(key, t); /* frees it at thread exit */
  }
  t->slots = grown;
  t->mask = cap * 2 - 1;
  t->n = 0;
  for (i = 0; i < cap; i++)
    if (old[i].req != NULL) *insert(t, old[i].req) = old[i];
  if (old != t->inline_slots)
    uvodbc__free(old);
  else
    memset(t->inline_slots, 0, sizeof(t->inline_slots));
  return 0;
}

/* What uvodbc_req_cleanup() would free first, or NULL. */
static const void* held_result(const uvodbc_req_t* req) {
  switch (req->type) {
    case UVODBC_REQ_QUERY:
      return req->batch;
    case UVODBC_REQ_INFO:
      return req->info;
    case UVODBC_REQ_BULK:
      return req->row_status;
    case UVODBC_REQ_CALL:
      return req->results != NULL ? (const void*)req->results : req->outputs;
    default:
      return NULL;
  }
}

static const char* type_name(uvodbc_req_type_t type) {
  static const char* const names[] = {
      [UVODBC_REQ_UNKNOWN] = "?",         [UVODBC_REQ_CONNECT] = "connect",
      [UVODBC_REQ_EXEC] = "exec",         [UVODBC_REQ_QUERY] = "query",
      [UVODBC_REQ_FETCH] = "fetch",       [UVODBC_REQ_NEXT_RESULT] = "next_result",
      [UVODBC_REQ_TXN] = "txn",           [UVODBC_REQ_PREPARE] = "prepare",
      [UVODBC_REQ_INFO] = "info",         [UVODBC_REQ_BULK] = "bulk",
      [UVODBC_REQ_CALL] = "call",         [UVODBC_REQ_ACQUIRE] = "pool acquire",
      [UVODBC_REQ_READ] = "read"};
  if ((unsigned)type >= sizeof(names) / sizeof(names[0])) return "?";
  return names[type];
}

int uvodbc__req_start(uvodbc_req_t* req, const char* what) {
  table_t* t = get();
  entry_t* e = find(t, req);
  if (e != NULL && e->owner != NULL) {
    if (uvodbc__debug_on())
      uvodbc__debug_log("misuse: %s started on a request still pending (its "
                        "%s has not called back): refused with UV_EBUSY",
                        what, type_name(req->type));
    return UV_EBUSY;
  }
  if (e != NULL) { /* it held a result when it was last delivered */
    if (held_result(req) == e->held) {
      if (uvodbc__debug_on())
        uvodbc__debug_log("misuse: %s restarted a request that still held "
                          "its %s result: freed (call uvodbc_req_cleanup() "
                          "first)",
                          what, type_name(req->type));
      uvodbc_req_cleanup(req); /* erases e */
    } else {
      erase(t, e); /* cleaned up on another thread, or memory reused */
    }
  }
  return reserve(t);
}

void uvodbc__req_track(uvodbc_req_t* req, const void* owner) {
  table_t* t = get();
  entry_t* e = find(t, req);
  if (e == NULL) {
    if (t->n + 1 > t->mask) return; /* never: _start reserved room */
    e = insert(t, req);
  }
  e->owner = owner;
  e->held = NULL;
}

void uvodbc__req_untrack(uvodbc_req_t* req, const void* owner) {
  table_t* t = get();
  entry_t* e = find(t, req);
  const void* held;
  if (e == NULL || e->owner == NULL) return;
  if (owner != NULL && e->owner != owner) return;
  held = held_result(req);
  if (held == NULL) {
    erase(t, e);
  } else {
    e->owner = NULL;
    e->held = held;
  }
}

void uvodbc__req_forget(const uvodbc_req_t* req, const void* owner) {
  table_t* t = get();
  entry_t* e = find(t, req);
  if (e != NULL && e->owner == owner) erase(t, e);
}

int uvodbc__req_cleaning(const uvodbc_req_t* req) {
  table_t* t = get();
  entry_t* e = find(t, req);
  if (e == NULL) return 0;
  if (e->owner != NULL) return UV_EBUSY;
  erase(t, e);
  return 0;
}
