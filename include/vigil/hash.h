/* A keyed hash for tables whose keys others choose (base library, libc only). */
#ifndef VIGIL_HASH_H
#define VIGIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-1-3 (Aumasson, Bernstein) of data[0..len) under the 128-bit `key` (draw it from
 * getrandom() per table). Without the key nobody can pick addresses or names that share a slot.
 * Pure function; thread-safe. */
uint64_t vg_siphash13(const uint64_t key[2], const void *data, size_t len);

#endif
