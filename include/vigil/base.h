/* Umbrella header of the base library (libc only): errors, names, arena, logging. */
#ifndef VIGIL_BASE_H
#define VIGIL_BASE_H
#include <vigil/err.h>
#include <vigil/name.h>
#include <vigil/arena.h>
#include <vigil/log.h>
#endif
