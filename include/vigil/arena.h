/* Per-request arena: many small allocations, freed in one call (vg_arena_reset or vg_arena_free). */
#ifndef VIGIL_ARENA_H
#define VIGIL_ARENA_H

#include <stddef.h>

struct vg_arena_chunk;

/* A byte budget shared by several arenas (one resolver's requests): every chunk is charged to it
 * when allocated and given back when freed, so the arenas together never hold more than `limit`
 * bytes (0 = no limit), whatever each one's own limit. Not thread-safe, like the arenas. */
struct vg_arena_pool {
	size_t used, limit;
};

/* Not thread-safe: one arena belongs to one request on one worker. */
struct vg_arena {
	struct vg_arena_chunk *head;
	size_t chunk_size; /* size of each new chunk; a larger request gets a chunk of its own */
	size_t used;       /* total bytes handed out since the last reset (for limits and stats) */
	size_t limit;      /* 0 = unlimited; else vg_arena_alloc fails once `used` would exceed it */
	struct vg_arena_pool *pool; /* NULL = none; set after vg_arena_init, before allocating */
};

/* Prepares an empty arena. chunk_size 0 picks the default (16 KiB). Allocates nothing yet. */
void vg_arena_init(struct vg_arena *a, size_t chunk_size, size_t limit);

/* Returns `n` bytes aligned to 16, valid until the next reset/free; NULL when out of memory or
 * over the limit. Never returns memory that must be freed by the caller. */
void *vg_arena_alloc(struct vg_arena *a, size_t n);

/* Like vg_arena_alloc, zero-filled. */
void *vg_arena_zalloc(struct vg_arena *a, size_t n);

/* Copies `n` bytes into the arena. */
void *vg_arena_memdup(struct vg_arena *a, const void *p, size_t n);

/* Drops everything allocated but keeps the first chunk for reuse. */
void vg_arena_reset(struct vg_arena *a);

/* Releases all memory; the arena may be initialised again. */
void vg_arena_free(struct vg_arena *a);

#endif
