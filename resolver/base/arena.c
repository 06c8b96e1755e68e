/* Per-request arena: bump allocation in chunks, released all at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/arena.h>

#define ARENA_DEFAULT_CHUNK 16384
#define ARENA_ALIGN 16

struct vg_arena_chunk {
	struct vg_arena_chunk *next;
	size_t size; /* usable bytes in data[] */
	size_t off;  /* next free offset */
	_Alignas(16) unsigned char data[];
};

void vg_arena_init(struct vg_arena *a, size_t chunk_size, size_t limit)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
	a->used = 0;
	a->limit = limit;
	a->pool = NULL;
}

static struct vg_arena_chunk *chunk_new(struct vg_arena *a, size_t size)
{
	struct vg_arena_pool *p = a->pool;
	size_t cost = sizeof(struct vg_arena_chunk) + size;
	if (p && p->limit && (cost > p->limit || p->used > p->limit - cost))
		return NULL;
	struct vg_arena_chunk *c = malloc(cost);
	if (!c)
		return NULL;
	if (p)
		p->used += cost;
	c->next = NULL;
	c->size = size;
	c->off = 0;
	return c;
}

void *vg_arena_alloc(struct vg_arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	size_t rounded = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (a->limit && (a->used + rounded > a->limit || a->used + rounded < a->used))
		return NULL;
	struct vg_arena_chunk *c = a->head;
	if (!c || c->size - c->off < rounded) {
		if (rounded > a->chunk_size / 4) {
			/* Big block: own chunk, linked behind the current one so the head keeps its space. */
			struct vg_arena_chunk *big = chunk_new(a, rounded);
			if (!big)
				return NULL;
			big->off = rounded;
			if (c) {
				big->next = c->next;
				c->next = big;
			} else {
				a->head = big;
			}
			a->used += rounded;
			return big->data;
		}
		c = chunk_new(a, a->chunk_size);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->off;
	c->off += rounded;
	a->used += rounded;
	return p;
}

void *vg_arena_zalloc(struct vg_arena *a, size_t n)
{
	void *p = vg_arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *vg_arena_memdup(struct vg_arena *a, const void *src, size_t n)
{
	void *p = vg_arena_alloc(a, n);
	if (p && n)
		memcpy(p, src, n);
	return p;
}

static void chunk_free(struct vg_arena *a, struct vg_arena_chunk *c)
{
	if (a->pool)
		a->pool->used -= sizeof(*c) + c->size;
	free(c);
}

void vg_arena_reset(struct vg_arena *a)
{
	/* Keep one standard-size chunk for reuse; free the rest. */
	struct vg_arena_chunk *keep = NULL, *c = a->head;
	while (c) {
		struct vg_arena_chunk *next = c->next;
		if (!keep && c->size == a->chunk_size) {
			keep = c;
			keep->off = 0;
			keep->next = NULL;
		} else {
			chunk_free(a, c);
		}
		c = next;
	}
	a->head = keep;
	a->used = 0;
}

void vg_arena_free(struct vg_arena *a)
{
	struct vg_arena_chunk *c = a->head;
	while (c) {
		struct vg_arena_chunk *next = c->next;
		chunk_free(a, c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
}
