/*
 * api/handlers.h - the route table and the handlers behind it.
 *
 * Owns: which method and path does what (docs/API.md), and the thin handlers that turn a request
 * into an op (api/parse), pick its shard from the ID's or account's bucket (shard/map), and
 * submit it; plus health and metrics. Handlers run on libmicrohttpd threads.
 */
#ifndef WD_API_HANDLERS_H
#define WD_API_HANDLERS_H

#include "api/router.h"

#include <stddef.h>

extern const struct wd_route wd_handlers_routes[];
extern const size_t wd_handlers_route_count;

#endif
